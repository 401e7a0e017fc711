/**
 * Builds this node's offer from the capability registry and the config.
 * The offer never claims more than the registry holds: capacity is the
 * registry's (idle clamped to total, whole non-negative numbers), and a
 * model, task type or tag the schema cannot carry is left out, not invented.
 */
import { AgoraError } from '../errors.ts'
import { OFFER_LIMITS as L } from './constants.ts'
import { wirePrices, type Prices } from './prices.ts'
import { offerSchema, offeredModelSchema, type Offer, type OfferedModel } from './schema.ts'
import type { CapabilitySnapshot } from '../providers/registry.ts'

export interface LocalOfferInit {
  id: string
  node: string
  /** node.name; left out when empty. */
  name?: string | undefined
  /** What the node asks, in micro-credits (signed as six-decimal strings). */
  prices: Prices
  zone: string
  trustMode: Offer['trustMode']
  policyHash?: string
  lamport: number
  expiresAt: number
}

/** True when the snapshot has something to serve: a model or a task type, and at least one slot. */
export function hasSomethingToOffer (snapshot: CapabilitySnapshot): boolean {
  return (snapshot.models.length > 0 || snapshot.taskTypes.length > 0) && wholeSlots(snapshot.capacity.slotsTotal) > 0
}

/** The offer for this snapshot; E810 when there is nothing to offer. */
export function buildLocalOffer (snapshot: CapabilitySnapshot, init: LocalOfferInit): Offer {
  if (!hasSomethingToOffer(snapshot)) {
    throw new AgoraError('E810', 'this node has nothing to offer', { why: 'no registered provider serves a model or task type with at least one slot' })
  }
  const slotsTotal = wholeSlots(snapshot.capacity.slotsTotal)
  const offer = {
    id: init.id,
    node: init.node,
    ...(init.name === undefined || init.name === '' ? {} : { name: init.name.slice(0, L.nodeNameLength) }),
    models: snapshot.models.map(toOffered).filter((m): m is OfferedModel => m !== undefined).slice(0, L.models),
    taskTypes: labels(snapshot.taskTypes, L.taskTypes),
    tags: labels(snapshot.tags, L.tags),
    capacity: { slotsTotal, slotsIdle: Math.min(slotsTotal, wholeSlots(snapshot.capacity.slotsIdle)) },
    prices: wirePrices(init.prices),
    zone: init.zone.slice(0, L.labelLength),
    trustMode: init.trustMode,
    policyHash: init.policyHash ?? '',
    expiresAt: init.expiresAt,
    lamport: init.lamport
  }
  const parsed = offerSchema.safeParse(offer)
  if (!parsed.success) {
    throw new AgoraError('E599', 'the local offer does not match the offer schema', { why: parsed.error.issues[0]?.message ?? 'invalid' })
  }
  return parsed.data
}

function wholeSlots (n: number): number {
  return Number.isFinite(n) ? Math.min(L.slots, Math.max(0, Math.floor(n))) : 0
}

function toOffered (model: CapabilitySnapshot['models'][number]): OfferedModel | undefined {
  const features = model.features === undefined || model.features.length === 0 ? undefined : [...new Set(model.features)].sort()
  const candidate = { name: model.name, provider: model.provider, kind: model.kind, contextLength: Math.max(0, Math.floor(model.contextLength)), ...(features === undefined ? {} : { features }) }
  const parsed = offeredModelSchema.safeParse(candidate)
  return parsed.success ? parsed.data : undefined
}

function labels (values: readonly string[], max: number): string[] {
  return [...new Set(values)].filter(v => v.length > 0 && v.length <= L.labelLength).sort().slice(0, max)
}
