/**
 * The offer table: one entry per origin node — its latest OFFER, or the
 * WITHDRAW tombstone that replaced it. Rules:
 *  - a higher Lamport replaces what is held; an equal one is a duplicate;
 *    a lower one is stale (a replay or an old copy) and is refused;
 *  - a WITHDRAW with a Lamport ≥ the offer's tombstones it, and the
 *    tombstone is kept until the offer would have expired, so a late copy
 *    of the old OFFER cannot bring it back;
 *  - an entry past its expiry counts as absent and is pruned;
 *  - at most `maxEntries`: beyond it the entry that expires first goes
 *    (tombstones before offers, never this node's own).
 * In-memory indexes by model, task type, zone and offer id serve `list`.
 * Pure: no I/O, no clock of its own; a sink hears every change to persist it.
 */
import { createHash } from 'node:crypto'
import { offerPrice } from './prices.ts'
import type { Offer, OfferFilter } from './schema.ts'

export type EntryKind = 'OFFER' | 'WITHDRAW'

export interface OfferEntry {
  origin: string
  offerId: string
  lamport: number
  kind: EntryKind
  /** OFFER: the offer's expiry; WITHDRAW: until no offer it replaced could still be alive. */
  expiresAt: number
  /** The signed envelope exactly as received (JSON): what sync serves and the store keeps. */
  raw: string
  /** The offer; undefined for a tombstone. */
  offer: Offer | undefined
}

/** What applying an entry did. */
export type ApplyOutcome = 'added' | 'updated' | 'withdrawn' | 'tombstoned' | 'duplicate' | 'stale'

export interface TableSink {
  put(entry: OfferEntry): void
  delete(origin: string): void
}

export interface OfferTableInit {
  maxEntries: number
  /** This node's peer id: its entry is never evicted. */
  self?: string
  sink?: TableSink
}

/** The anti-entropy id of an origin: 64 bits of sha256, base64url (11 characters). */
export function shortId (origin: string): string {
  return createHash('sha256').update(origin).digest().subarray(0, 8).toString('base64url')
}

/** What anti-entropy compares: 2 × Lamport, + 1 for a tombstone (a WITHDRAW beats the OFFER of its Lamport). */
export function versionOf (entry: Pick<OfferEntry, 'lamport' | 'kind'>): number {
  return entry.lamport * 2 + (entry.kind === 'WITHDRAW' ? 1 : 0)
}

/** 16 bytes standing for one (short id, version) pair in the table hash. */
function pairHash (short: string, version: number): Buffer {
  return createHash('sha256').update(`${short}:${version}`).digest().subarray(0, 16)
}

export class OfferTable {
  private readonly entries = new Map<string, OfferEntry>()
  private readonly shorts = new Map<string, string>()
  private readonly byShort = new Map<string, string>()
  private readonly byModel = new Map<string, Set<string>>()
  private readonly byTask = new Map<string, Set<string>>()
  private readonly byZone = new Map<string, Set<string>>()
  private readonly byOfferId = new Map<string, Set<string>>()
  private sorted: string[] | undefined
  private offerCount = 0
  /** XOR of pairHash over every entry held: equal tables, equal hashes. */
  private readonly xor = Buffer.alloc(16)
  private readonly maxEntries: number
  private readonly self: string | undefined
  private readonly sink: TableSink | undefined

  constructor (init: OfferTableInit) {
    this.maxEntries = Math.max(1, init.maxEntries)
    this.self = init.self
    this.sink = init.sink
  }

  get size (): number {
    return this.entries.size
  }

  /** Entries held by kind (expired ones not yet pruned included). */
  counts (): { offers: number, tombstones: number } {
    return { offers: this.offerCount, tombstones: this.entries.size - this.offerCount }
  }

  /** The entry held for an origin (expired or not). */
  entry (origin: string): OfferEntry | undefined {
    return this.entries.get(origin)
  }

  /** The Lamport held for an origin, 0 when none (or expired). */
  lamportOf (origin: string, now: number): number {
    return this.live(origin, now)?.lamport ?? 0
  }

  /** Whether an entry of this kind and Lamport would replace what is held (the rules above, without applying). */
  compare (origin: string, kind: EntryKind, lamport: number, now: number): 'newer' | 'duplicate' | 'stale' {
    const held = this.live(origin, now)
    if (held === undefined || lamport > held.lamport) return 'newer'
    if (lamport < held.lamport) return 'stale'
    // equal: a WITHDRAW tombstones the OFFER of the same Lamport; anything else is the same message again
    return kind === 'WITHDRAW' && held.kind === 'OFFER' ? 'newer' : 'duplicate'
  }

  /** Apply a checked entry (see the module comment for the rules); evicted entries are returned through `evicted`. */
  apply (candidate: OfferEntry, now: number, evicted: OfferEntry[] = []): ApplyOutcome {
    const order = this.compare(candidate.origin, candidate.kind, candidate.lamport, now)
    if (order !== 'newer') return order
    const held = this.live(candidate.origin, now)
    let stored = candidate
    if (candidate.kind === 'WITHDRAW' && held?.kind === 'OFFER' && held.expiresAt > candidate.expiresAt) {
      stored = { ...candidate, expiresAt: held.expiresAt }
    }
    if (held === undefined && !this.entries.has(candidate.origin)) this.makeRoom(now, evicted)
    this.set(stored)
    if (stored.kind === 'WITHDRAW') return held?.kind === 'OFFER' ? 'withdrawn' : 'tombstoned'
    return held?.kind === 'OFFER' ? 'updated' : 'added'
  }

  /** Drop every entry past its expiry; returns them. */
  prune (now: number): OfferEntry[] {
    const removed: OfferEntry[] = []
    for (const entry of this.entries.values()) {
      if (entry.expiresAt <= now) removed.push(entry)
    }
    for (const entry of removed) this.remove(entry.origin)
    return removed
  }

  /** Put back an entry read from the store, without rules or sink (start-up). */
  load (entry: OfferEntry, now: number): void {
    if (entry.expiresAt <= now || this.entries.has(entry.origin)) return
    if (this.entries.size >= this.maxEntries) return
    this.index(entry)
  }

  /** Valid offers (not withdrawn, not expired) matching the filter, ordered by node id. */
  list (filter: OfferFilter = {}, now: number): Offer[] {
    const candidates = this.candidates(filter)
    const out: Offer[] = []
    for (const origin of candidates) {
      const offer = this.entries.get(origin)?.offer
      if (offer === undefined || offer.expiresAt <= now) continue
      if (filter.model !== undefined && !offer.models.some(m => m.name === filter.model)) continue
      if (filter.taskType !== undefined && !offer.taskTypes.includes(filter.taskType)) continue
      if (filter.zone !== undefined && offer.zone !== filter.zone) continue
      if (filter.maxPrice !== undefined) {
        const price = offerPrice(offer, filter.model)
        if (price === undefined || price > filter.maxPrice) continue
      }
      out.push(offer)
    }
    return out.sort((a, b) => a.node < b.node ? -1 : a.node > b.node ? 1 : 0)
  }

  /** A valid offer by offer id or by node id. */
  get (id: string, now: number): Offer | undefined {
    const byNode = this.entries.get(id)?.offer
    if (byNode !== undefined && byNode.expiresAt > now) return byNode
    for (const origin of this.byOfferId.get(id) ?? []) {
      const offer = this.entries.get(origin)?.offer
      if (offer !== undefined && offer.expiresAt > now) return offer
    }
    return undefined
  }

  /** Every live entry (offers and tombstones) as [short id, version], sorted by short id. */
  digest (now: number): Array<[string, number]> {
    const out: Array<[string, number]> = []
    for (const short of this.sortedShorts()) {
      const entry = this.entries.get(this.byShort.get(short) ?? '')
      if (entry !== undefined && entry.expiresAt > now) out.push([short, versionOf(entry)])
    }
    return out
  }

  /** Hash of every entry held (expired ones until pruned), 16 bytes base64url; kept up to date on each change. */
  hash (): string {
    return this.xor.toString('base64url')
  }

  /**
   * Entries after `cursor` (in short-id order) the requester lacks or holds
   * older, up to `maxCount` entries and `maxBytes` of raw envelopes. `next`
   * is the cursor of the following page, undefined when the scan is done.
   */
  page (have: ReadonlyMap<string, number>, cursor: string | undefined, limits: { maxCount: number, maxBytes: number }, now: number): { envelopes: string[], next: string | undefined } {
    const shorts = this.sortedShorts()
    let i = cursor === undefined ? 0 : upperBound(shorts, cursor)
    const envelopes: string[] = []
    let bytes = 0
    for (; i < shorts.length; i++) {
      const short = shorts[i] as string
      const entry = this.entries.get(this.byShort.get(short) ?? '')
      if (entry === undefined || entry.expiresAt <= now || (have.get(short) ?? -1) >= versionOf(entry)) continue
      const size = Buffer.byteLength(entry.raw) + 8
      if (envelopes.length >= limits.maxCount || (envelopes.length > 0 && bytes + size > limits.maxBytes)) {
        return { envelopes, next: shorts[i - 1] }
      }
      if (size > limits.maxBytes) continue
      envelopes.push(entry.raw)
      bytes += size
    }
    return { envelopes, next: undefined }
  }

  private live (origin: string, now: number): OfferEntry | undefined {
    const held = this.entries.get(origin)
    return held === undefined || held.expiresAt <= now ? undefined : held
  }

  private set (entry: OfferEntry): void {
    if (this.entries.has(entry.origin)) this.unindex(entry.origin)
    this.index(entry)
    this.sink?.put(entry)
  }

  private remove (origin: string): void {
    if (!this.entries.has(origin)) return
    this.unindex(origin)
    const short = this.shorts.get(origin)
    if (short !== undefined) this.byShort.delete(short)
    const held = this.entries.get(origin)
    if (short !== undefined && held !== undefined) this.toggle(short, held)
    this.shorts.delete(origin)
    this.entries.delete(origin)
    this.sorted = undefined
    this.sink?.delete(origin)
  }

  private makeRoom (now: number, evicted: OfferEntry[]): void {
    if (this.entries.size < this.maxEntries) return
    for (const entry of this.prune(now)) evicted.push(entry)
    while (this.entries.size >= this.maxEntries) {
      let victim: OfferEntry | undefined
      for (const entry of this.entries.values()) {
        if (entry.origin === this.self) continue
        if (victim === undefined || rank(entry) < rank(victim)) victim = entry
      }
      if (victim === undefined) return
      this.remove(victim.origin)
      evicted.push(victim)
    }
  }

  private index (entry: OfferEntry): void {
    const previous = this.entries.get(entry.origin)
    this.entries.set(entry.origin, entry)
    let short = this.shorts.get(entry.origin)
    if (short === undefined) {
      short = shortId(entry.origin)
      this.shorts.set(entry.origin, short)
      this.byShort.set(short, entry.origin)
      this.sorted = undefined
    }
    if (previous !== undefined) this.toggle(short, previous)
    this.toggle(short, entry)
    const offer = entry.offer
    if (offer === undefined) return
    this.offerCount++
    for (const model of offer.models) add(this.byModel, model.name, entry.origin)
    for (const task of offer.taskTypes) add(this.byTask, task, entry.origin)
    add(this.byZone, offer.zone, entry.origin)
    add(this.byOfferId, offer.id, entry.origin)
  }

  private toggle (short: string, entry: OfferEntry): void {
    const h = pairHash(short, versionOf(entry))
    for (let i = 0; i < 16; i++) this.xor[i] = (this.xor[i] as number) ^ (h[i] as number)
  }

  private unindex (origin: string): void {
    const offer = this.entries.get(origin)?.offer
    if (offer === undefined) return
    this.offerCount--
    for (const model of offer.models) drop(this.byModel, model.name, origin)
    for (const task of offer.taskTypes) drop(this.byTask, task, origin)
    drop(this.byZone, offer.zone, origin)
    drop(this.byOfferId, offer.id, origin)
  }

  private candidates (filter: OfferFilter): Iterable<string> {
    const sets: Array<Set<string>> = []
    if (filter.model !== undefined) sets.push(this.byModel.get(filter.model) ?? new Set())
    if (filter.taskType !== undefined) sets.push(this.byTask.get(filter.taskType) ?? new Set())
    if (filter.zone !== undefined) sets.push(this.byZone.get(filter.zone) ?? new Set())
    if (sets.length === 0) return this.entries.keys()
    return sets.reduce((a, b) => a.size <= b.size ? a : b)
  }

  private sortedShorts (): string[] {
    this.sorted ??= [...this.byShort.keys()].sort()
    return this.sorted
  }
}

/** Eviction order: tombstones first, then the soonest to expire. */
function rank (entry: OfferEntry): number {
  return entry.kind === 'WITHDRAW' ? entry.expiresAt - Number.MAX_SAFE_INTEGER / 2 : entry.expiresAt
}

function add (index: Map<string, Set<string>>, key: string, origin: string): void {
  let set = index.get(key)
  if (set === undefined) {
    set = new Set()
    index.set(key, set)
  }
  set.add(origin)
}

function drop (index: Map<string, Set<string>>, key: string, origin: string): void {
  const set = index.get(key)
  if (set === undefined) return
  set.delete(origin)
  if (set.size === 0) index.delete(key)
}

/** First index whose value is greater than `value` in a sorted array. */
function upperBound (sorted: readonly string[], value: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as string) <= value) lo = mid + 1
    else hi = mid
  }
  return lo
}
