/** Shared pieces of the offers unit tests: identities, signed offers and withdrawals, snapshots. */
import { encodeEnvelope, generateIdentity, signEnvelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { OFFER_CURRENCY } from '../../../src/offers/constants.ts'
import type { Offer } from '../../../src/offers/index.ts'
import type { OfferEntry } from '../../../src/offers/table.ts'
import type { CapabilitySnapshot } from '../../../src/providers/registry.ts'

export const NOW = 1_800_000_000_000
export const TTL = 60_000

const decoder = new TextDecoder()

export async function identities (n: number): Promise<NodeIdentity[]> {
  return await Promise.all(Array.from({ length: n }, async () => await generateIdentity()))
}

export function offerFor (node: string, overrides: Partial<Offer> = {}): Offer {
  return {
    id: `offer-${node.slice(-10)}`,
    node,
    models: [{ name: 'llama3.2:3b', provider: 'ollama', kind: 'chat', contextLength: 8192 }],
    taskTypes: ['chat'],
    tags: ['cpu'],
    capacity: { slotsTotal: 4, slotsIdle: 2 },
    prices: { perTask: '1.000000', per1kPromptTokens: '0.500000', per1kCompletionTokens: '2.000000', currency: OFFER_CURRENCY },
    zone: 'eu',
    trustMode: 'public',
    policyHash: '',
    expiresAt: NOW + TTL,
    lamport: 1,
    ...overrides
  }
}

/** The JSON text of a signed envelope (what gossip carries and sync pages hold). */
export function signedOfferRaw (signer: NodeIdentity, payload: object, ts = NOW): string {
  return decoder.decode(encodeEnvelope(signEnvelope(signer, { kind: 'OFFER', payload }, ts)))
}

export function signedWithdrawRaw (signer: NodeIdentity, payload: { offerId: string, lamport: number }, ts = NOW): string {
  return decoder.decode(encodeEnvelope(signEnvelope(signer, { kind: 'WITHDRAW', payload }, ts)))
}

/** A table entry for an offer (the table does not look inside `raw`). */
export function offerEntry (offer: Offer, raw = '{}'): OfferEntry {
  return { origin: offer.node, offerId: offer.id, lamport: offer.lamport, kind: 'OFFER', expiresAt: offer.expiresAt, raw, offer }
}

export function withdrawEntry (node: string, offerId: string, lamport: number, expiresAt = NOW + TTL): OfferEntry {
  return { origin: node, offerId, lamport, kind: 'WITHDRAW', expiresAt, raw: '{}', offer: undefined }
}

export function snapshot (overrides: Partial<CapabilitySnapshot> = {}): CapabilitySnapshot {
  return {
    models: [{ name: 'llama3.2:3b', provider: 'ollama', kind: 'chat', contextLength: 8192 }],
    taskTypes: ['chat', 'embed'],
    tags: ['gpu'],
    capacity: { slotsTotal: 4, slotsIdle: 3 },
    ...overrides
  }
}
