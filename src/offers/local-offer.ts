/**
 * This node's side of offers: its stable offer id and its Lamport counter,
 * both kept in the kv table (`offers.local`), and the signed OFFER and
 * WITHDRAW envelopes made from them. The counter is written before an
 * envelope is signed, so a restarted (even SIGKILLed) node never reuses a
 * Lamport; it re-announces the same offer id with a higher one.
 */
import { newCliSafeId } from '../ids.ts'
import { encodeEnvelope, signEnvelope, type NodeIdentity } from '../identity/index.ts'
import { buildLocalOffer, type LocalOfferInit } from './builder.ts'
import { LOCAL_OFFER_KV_KEY } from './constants.ts'
import { offerIdSchema, type Offer, type Withdrawal } from './schema.ts'
import type { KvRepository } from '../store/index.ts'
import type { CapabilitySnapshot } from '../providers/registry.ts'
import type { OfferEntry } from './table.ts'

export interface LocalOfferComponents {
  identity: NodeIdentity
  kv: Pick<KvRepository, 'get' | 'set'>
}

export type LocalOfferStateInit = Omit<LocalOfferInit, 'id' | 'node' | 'lamport' | 'expiresAt'> & {
  ttlMs: number
  /** How long a WITHDRAW tombstone is kept: ttl + clock skew. */
  maxSkewMs: number
}

interface Persisted {
  offerId: string
  lamport: number
}

const decoder = new TextDecoder()

export class LocalOfferState {
  readonly offerId: string
  private lamportValue: number
  private readonly identity: LocalOfferComponents['identity']
  private readonly kv: LocalOfferComponents['kv']
  private init: LocalOfferStateInit

  constructor (components: LocalOfferComponents, init: LocalOfferStateInit) {
    this.identity = components.identity
    this.kv = components.kv
    this.init = init
    const stored = this.kv.get<Partial<Persisted>>(LOCAL_OFFER_KV_KEY)
    const id = offerIdSchema.safeParse(stored?.offerId)
    const lamport = stored?.lamport
    // an id stored before ids stopped starting with '-' is replaced: the command line would read it as an option
    this.offerId = id.success && !id.data.startsWith('-') ? id.data : newCliSafeId()
    this.lamportValue = typeof lamport === 'number' && Number.isSafeInteger(lamport) && lamport > 0 ? lamport : 0
    if (this.offerId !== stored?.offerId) this.persist()
  }
  /** The trust mode advertised from the next announcement on (access control changed at run time). */
  setTrustMode (trustMode: LocalOfferStateInit['trustMode']): void {
    this.init = { ...this.init, trustMode }
  }

  /** The prices advertised from the next announcement on (config changed at run time). */
  setPrices (prices: LocalOfferStateInit['prices']): void {
    this.init = { ...this.init, prices }
  }


  /** The last Lamport used (0 before the first). */
  get lamport (): number {
    return this.lamportValue
  }

  /** Seen one of our own envelopes with this Lamport elsewhere (an older data dir): never go below it. True when raised. */
  observe (lamport: number): boolean {
    if (lamport <= this.lamportValue) return false
    this.lamportValue = lamport
    this.persist()
    return true
  }

  /** A signed OFFER for this snapshot with the next Lamport; E810 when there is nothing to offer. */
  offer (snapshot: CapabilitySnapshot, now: number): OfferEntry & { offer: Offer } {
    const lamport = this.lamportValue + 1
    const offer = buildLocalOffer(snapshot, { ...this.init, id: this.offerId, node: this.identity.peerIdString, lamport, expiresAt: now + this.init.ttlMs })
    this.next(lamport)
    const raw = decoder.decode(encodeEnvelope(signEnvelope(this.identity, { kind: 'OFFER', payload: offer }, now)))
    return { origin: offer.node, offerId: this.offerId, lamport, kind: 'OFFER', expiresAt: offer.expiresAt, raw, offer }
  }

  /** A signed WITHDRAW with the next Lamport. */
  withdrawal (now: number): OfferEntry {
    const lamport = this.lamportValue + 1
    this.next(lamport)
    const payload: Withdrawal = { offerId: this.offerId, lamport }
    const raw = decoder.decode(encodeEnvelope(signEnvelope(this.identity, { kind: 'WITHDRAW', payload }, now)))
    return {
      origin: this.identity.peerIdString,
      offerId: this.offerId,
      lamport,
      kind: 'WITHDRAW',
      expiresAt: now + this.init.ttlMs + this.init.maxSkewMs,
      raw,
      offer: undefined
    }
  }

  private next (lamport: number): void {
    this.lamportValue = lamport
    // written before anything is signed or sent
    this.persist()
  }

  private persist (): void {
    this.kv.set(LOCAL_OFFER_KV_KEY, { offerId: this.offerId, lamport: this.lamportValue } satisfies Persisted)
  }
}
