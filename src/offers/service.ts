/**
 * The offer service: this node's offer (built from the capability registry,
 * re-announced before it expires and when the registry changes, withdrawn
 * on stop), the table of everyone's offers fed by gossip on /agora/offers/1
 * and by anti-entropy on /agora/sync/1, and DHT provider records for the
 * capabilities it serves.
 *
 * Gossip: the whole ingest (validate, then apply to the table) runs in
 * gossipsub's topic validator, so only new, valid offers are forwarded;
 * the topic subscription's handler has nothing left to do.
 *
 * `withdraw()` keeps the offer withdrawn until `announce()` is called or
 * the node restarts (the pause is not persisted: a restarted node offers
 * what its providers serve).
 */
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { OFFERS_TOPIC } from '../p2p/index.ts'
import { hasSomethingToOffer } from './builder.ts'
import { OFFER_DEFAULTS } from './constants.ts'
import { CapabilityRecords, type CapabilityQuery, type FindProvidersOptions } from './dht.ts'
import { LocalOfferState } from './local-offer.ts'
import { createOfferMetrics, type OfferMetrics } from './metrics.ts'
import { OffersRepository, toEntry } from './repository.ts'
import { offerPrice, type Offer, type OfferFilter } from './schema.ts'
import { SYNC_PROTOCOL_ID } from './sync/constants.ts'
import { syncProtocol } from './sync/protocol.ts'
import { runSyncRound, servePage, type SyncResult } from './sync/round.ts'
import { SyncScheduler } from './sync/scheduler.ts'
import { OfferTable, type ApplyOutcome, type OfferEntry } from './table.ts'
import { OfferValidator, type IncomingOffer, type Verdict } from './validator.ts'
import type { AgoraConfig } from '../config/schema.ts'
import type { AgoraEvents } from '../events.ts'
import type { NodeIdentity } from '../identity/index.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { Gossip, GossipValidationInput, GossipVerdict } from '../p2p/index.ts'
import type { ReqResp } from '../protocols/index.ts'
import type { CapabilityRegistry } from '../providers/registry.ts'
import type { Store } from '../store/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** How the offers room reports peers' behaviour (the peer book implements it). */
export interface PeerFeedback {
  record(peerId: string, outcome: 'invalid' | 'success'): void
  isBanned(peerId: string): boolean
}

export interface OfferServiceComponents {
  identity: NodeIdentity
  store: Pick<Store, 'db' | 'kv'>
  gossip: Pick<Gossip, 'publish' | 'subscribe' | 'validate'>
  reqresp: Pick<ReqResp, 'handle' | 'unhandle' | 'request'>
  libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getPeers' | 'contentRouting'>
  registry: Pick<CapabilityRegistry, 'snapshot' | 'on' | 'off'>
  peerFeedback: PeerFeedback
  events: Pick<AgoraEvents, 'emit'>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export type OfferServiceInit = AgoraConfig['offers'] & {
  /** node.zone */
  zone: string
  /** access.trustMode */
  trustMode: Offer['trustMode']
  /** node.name (left out of the offer when empty). */
  nodeName?: string
  /** envelope.maxSkewMs: tolerated clock skew on timestamps and expiries. */
  maxSkewMs?: number
  /** Provide capability keys on the DHT (default true). */
  provideOnDht?: boolean
  changeDebounceMs?: number
  pruneIntervalMs?: number
  syncMinGapMs?: number
  syncConcurrency?: number
  withdrawOnStopMs?: number
  flushIntervalMs?: number
  now?: () => number
}

export interface WithdrawResult {
  /** False when there was no live offer to withdraw. */
  withdrawn: boolean
  offerId: string | null
}

export interface ModelSummary {
  name: string
  kind: 'chat' | 'embedding'
  /** Nodes whose valid offer lists the model. */
  nodes: number
  /** Lowest price among them (see `offerPrice`). */
  bestPrice: number
  servedBy: string[]
}

export class OfferService {
  private readonly c: OfferServiceComponents
  private readonly init: OfferServiceInit
  private readonly self: string
  private readonly log: Logger
  private readonly metrics: OfferMetrics | undefined
  private readonly now: () => number
  private readonly maxSkewMs: number
  private readonly repository: OffersRepository
  private readonly table: OfferTable
  private readonly validator: OfferValidator
  private readonly localState: LocalOfferState
  private readonly scheduler: SyncScheduler
  private readonly records: CapabilityRecords | undefined
  private readonly announceGapMs: number
  private readonly successAt = new Map<string, number>()
  private readonly undo: Array<() => void> = []
  private timers: NodeJS.Timeout[] = []
  private pending: NodeJS.Timeout | undefined
  private lastAnnounceAt = -Infinity
  private paused = false
  /** Provide the capability keys again after the next good sync round (the DHT then has peers). */
  private refreshRecords = true
  private started = false
  private shutdown = new AbortController()

  constructor (components: OfferServiceComponents, init: OfferServiceInit) {
    this.c = components
    this.init = init
    this.self = components.identity.peerIdString
    this.log = components.logger.forComponent('agora:offers')
    this.metrics = createOfferMetrics(components.metrics)
    this.now = init.now ?? Date.now
    this.maxSkewMs = init.maxSkewMs ?? OFFER_DEFAULTS.maxSkewMs
    this.repository = new OffersRepository(components.store.db, {
      flushIntervalMs: init.flushIntervalMs ?? OFFER_DEFAULTS.flushIntervalMs,
      onError: err => { this.log.warn({ err: messageOf(err) }, 'persisting offers failed') }
    })
    this.table = new OfferTable({ maxEntries: init.maxOffers, self: this.self, sink: this.repository })
    this.validator = new OfferValidator({ table: this.table }, { ...init, maxSkewMs: this.maxSkewMs, now: this.now })
    this.localState = new LocalOfferState({ identity: components.identity, kv: components.store.kv }, {
      ttlMs: init.ttlMs, maxSkewMs: this.maxSkewMs, prices: init.prices, zone: init.zone, trustMode: init.trustMode, name: init.nodeName
    })
    this.scheduler = new SyncScheduler({ libp2p: components.libp2p, run: async (peer, signal) => await this.syncWith(peer, { signal }), log: this.log }, {
      protocol: SYNC_PROTOCOL_ID,
      intervalMs: init.syncIntervalMs,
      minGapMs: init.syncMinGapMs ?? OFFER_DEFAULTS.syncMinGapMs,
      concurrency: init.syncConcurrency ?? OFFER_DEFAULTS.syncConcurrency,
      queueSize: OFFER_DEFAULTS.syncQueueSize
    })
    this.records = init.provideOnDht === false ? undefined : new CapabilityRecords({ contentRouting: components.libp2p.contentRouting, log: this.log })
    // never announce faster than peers accept from one origin
    this.announceGapMs = Math.max(init.changeDebounceMs ?? OFFER_DEFAULTS.changeDebounceMs, Math.ceil(60_000 / Math.max(1, init.perOriginPerMinute)))
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.loadTable()
    this.undo.push(this.c.gossip.validate(OFFERS_TOPIC, this.onGossip))
    this.undo.push(this.c.gossip.subscribe(OFFERS_TOPIC, () => {}))
    await this.c.reqresp.handle(syncProtocol, async (request, context) => {
      if (this.c.peerFeedback.isBanned(context.peerId)) throw new AgoraError('E808', 'anti-entropy refused', { why: 'the peer is banned' })
      return servePage(this.table, request, { pageSize: this.init.syncPageSize, now: this.now() })
    })
    this.c.registry.on('changed', this.onRegistryChanged)
    this.undo.push(() => { this.c.registry.off('changed', this.onRegistryChanged) })
    this.scheduler.start()
    this.timers = [
      setInterval(() => { if (!this.paused) void this.announceQuietly('re-announce') }, this.init.reannounceMs),
      setInterval(() => { this.prune() }, this.init.pruneIntervalMs ?? OFFER_DEFAULTS.pruneIntervalMs),
      setInterval(() => { this.refreshRecords = true }, OFFER_DEFAULTS.provideRefreshMs)
    ]
    for (const timer of this.timers) timer.unref()
    await this.announceQuietly('start')
  }

  /** Withdraw our offer (best effort, bounded wait), stop syncing, unregister, persist. */
  async stop (): Promise<void> {
    if (!this.started) return
    for (const timer of this.timers) clearInterval(timer)
    clearTimeout(this.pending)
    await this.scheduler.stop()
    if (!this.paused && this.local() !== undefined) {
      const bound = new Promise<void>(resolve => { setTimeout(resolve, this.init.withdrawOnStopMs ?? OFFER_DEFAULTS.withdrawOnStopMs).unref() })
      await Promise.race([this.publishWithdrawal().catch(err => { this.log.debug({ err: messageOf(err) }, 'withdrawal on stop failed') }), bound])
    }
    this.started = false
    this.shutdown.abort()
    for (const fn of this.undo.splice(0)) fn()
    await this.c.reqresp.unhandle(SYNC_PROTOCOL_ID)
    this.records?.stop()
    try { this.repository.close() } catch (err) { this.log.warn({ err: messageOf(err) }, 'persisting offers at stop failed') }
  }

  /** Valid offers (not withdrawn, not expired), ours included, ordered by node id. */
  list (filter: OfferFilter = {}): Offer[] {
    return this.table.list(filter, this.now())
  }

  /** A valid offer by offer id (or by node id). */
  get (id: string): Offer | undefined {
    return this.table.get(id, this.now())
  }

  /** Our own offer while it is valid. */
  local (): Offer | undefined {
    return this.table.get(this.self, this.now())
  }

  /** Build, sign and publish our offer now (and resume re-announcing after a withdraw). E810 when there is nothing to offer. */
  async announce (): Promise<Offer> {
    this.assertRunning()
    this.paused = false
    return await this.publishOffer()
  }

  /** Publish a WITHDRAW tombstone and stop re-announcing until `announce()` or a restart. */
  async withdraw (): Promise<WithdrawResult> {
    this.assertRunning()
    this.paused = true
    clearTimeout(this.pending)
    if (this.local() === undefined) return { withdrawn: false, offerId: null }
    await this.publishWithdrawal()
    return { withdrawn: true, offerId: this.localState.offerId }
  }

  /** One anti-entropy round with a peer; never throws (see the outcome). */
  async syncWith (peerId: string, options: { signal?: AbortSignal } = {}): Promise<SyncResult> {
    this.assertRunning()
    const signals = [this.shutdown.signal, AbortSignal.timeout(OFFER_DEFAULTS.syncRoundTimeoutMs)]
    if (options.signal !== undefined) signals.push(options.signal)
    const result = await runSyncRound({
      reqresp: this.c.reqresp,
      table: this.table,
      ingest: (data, peer) => this.ingest({ data, via: 'sync', peer }),
      peer: peerId,
      pageSize: this.init.syncPageSize,
      maxPages: Math.ceil(this.init.maxOffers / this.init.syncPageSize) + 2,
      now: this.now,
      signal: AbortSignal.any(signals)
    })
    this.metrics?.syncRounds.inc({ outcome: result.outcome })
    this.metrics?.syncPulled.inc(result.pulled)
    if (result.outcome === 'malformed') {
      this.metrics?.rejected.inc({ reason: 'malformed-page' })
      this.c.peerFeedback.record(peerId, 'invalid')
    } else if (result.outcome === 'ok') {
      if (result.pulled > 0) this.success(peerId)
      if (this.refreshRecords) this.provideRecords(true)
    }
    if (result.error !== undefined) this.log.debug({ peer: peerId, outcome: result.outcome, err: result.error.format() }, 'anti-entropy round ended early')
    return result
  }

  /** Peers that advertise the model and/or task type on the DHT. */
  async findProviders (query: CapabilityQuery, options: FindProvidersOptions = {}): Promise<string[]> {
    return await (this.records?.findProviders(query, options) ?? Promise.resolve([]))
  }

  /** Every model on the network: how many nodes serve it and the best price. */
  models (): ModelSummary[] {
    const byName = new Map<string, ModelSummary>()
    for (const offer of this.list()) {
      for (const model of offer.models) {
        const price = offerPrice(offer, model.name) ?? Infinity
        const summary = byName.get(model.name)
        if (summary === undefined) {
          byName.set(model.name, { name: model.name, kind: model.kind, nodes: 1, bestPrice: price, servedBy: [offer.node] })
        } else {
          summary.nodes++
          summary.bestPrice = Math.min(summary.bestPrice, price)
          summary.servedBy.push(offer.node)
        }
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Entries held (offers and tombstones) and our Lamport, for status views and tests. */
  stats (): { offers: number, tombstones: number, lamport: number, offerId: string, capabilityKeys: string[] } {
    const { offers, tombstones } = this.table.counts()
    return { offers, tombstones, lamport: this.localState.lamport, offerId: this.localState.offerId, capabilityKeys: this.records?.keys() ?? [] }
  }

  private readonly onGossip = (message: GossipValidationInput): GossipVerdict => {
    const verdict = this.ingest({ data: message.data, via: 'gossip', peer: message.propagationSource, author: message.from })
    if (verdict.status === 'ok') return 'accept'
    if (verdict.status === 'rejected' && verdict.blame === message.propagationSource) return 'reject'
    return 'ignore'
  }

  /** Validate one envelope from a peer and apply it; the same path for gossip and sync. */
  private ingest (input: IncomingOffer): Verdict {
    const verdict = this.validator.check(input, this.isBanned)
    if (verdict.status === 'duplicate') {
      this.metrics?.duplicates.inc({ source: input.via })
    } else if (verdict.status === 'rejected') {
      this.metrics?.rejected.inc({ reason: verdict.reason })
      if (verdict.blame !== undefined) this.c.peerFeedback.record(verdict.blame, 'invalid')
      this.log.debug({ peer: input.peer, via: input.via, err: verdict.error.format() }, 'offer rejected')
    } else {
      const now = this.now()
      const evicted: OfferEntry[] = []
      const outcome = this.table.apply(verdict.entry, now, evicted)
      this.applied(verdict.entry, outcome, evicted, input.via)
      if (input.via === 'gossip') this.success(input.peer)
      // one of ours from an older life (a lost data dir): go above it and speak again
      if (verdict.entry.origin === this.self && this.localState.observe(verdict.entry.lamport)) this.scheduleAnnounce()
    }
    return verdict
  }

  private applied (entry: OfferEntry, outcome: ApplyOutcome, evicted: OfferEntry[], source: string): void {
    const event = { offerId: entry.offerId, node: entry.origin, lamport: entry.lamport }
    if (outcome === 'added' || outcome === 'updated' || outcome === 'withdrawn' || outcome === 'tombstoned') this.metrics?.accepted.inc({ source })
    if (outcome === 'added') this.c.events.emit('offer:added', event)
    else if (outcome === 'updated') this.c.events.emit('offer:updated', event)
    else if (outcome === 'withdrawn') this.c.events.emit('offer:withdrawn', event)
    this.gone(evicted)
  }

  private gone (entries: OfferEntry[]): void {
    for (const entry of entries) {
      if (entry.kind !== 'OFFER') continue
      this.metrics?.expired.inc()
      this.c.events.emit('offer:expired', { offerId: entry.offerId, node: entry.origin, lamport: entry.lamport })
    }
  }

  private prune (): void {
    this.gone(this.table.prune(this.now()))
    const { offers, tombstones } = this.table.counts()
    this.metrics?.entries.set({ kind: 'OFFER' }, offers)
    this.metrics?.entries.set({ kind: 'WITHDRAW' }, tombstones)
    if (this.successAt.size > 10_000) this.successAt.clear()
  }

  private async publishOffer (): Promise<Offer> {
    const now = this.now()
    const snapshot = this.c.registry.snapshot()
    if (!hasSomethingToOffer(snapshot)) {
      // capacity gone: take back what we advertised
      if (this.local() !== undefined) await this.publishWithdrawal()
      throw new AgoraError('E810', 'this node has nothing to offer', { why: 'no registered provider serves a model or task type with at least one slot' })
    }
    const entry = this.localState.offer(snapshot, now)
    this.lastAnnounceAt = now
    this.applyLocal(entry, now)
    this.provideRecords(false)
    await this.publish(entry)
    return entry.offer
  }

  /** DHT records for what our live offer serves (none when withdrawn). */
  private provideRecords (force: boolean): void {
    if (this.records === undefined) return
    if (force) this.refreshRecords = false
    const offer = this.local()
    this.records.update({ models: offer?.models.map(m => m.name) ?? [], taskTypes: offer?.taskTypes ?? [] }, force)
  }

  private async publishWithdrawal (): Promise<void> {
    const now = this.now()
    const entry = this.localState.withdrawal(now)
    this.applyLocal(entry, now)
    this.records?.update({ models: [], taskTypes: [] })
    await this.publish(entry)
  }

  private applyLocal (entry: OfferEntry, now: number): void {
    const evicted: OfferEntry[] = []
    this.applied(entry, this.table.apply(entry, now, evicted), evicted, 'local')
  }

  /** Gossip it; nobody listening yet is fine: anti-entropy carries it. */
  private async publish (entry: OfferEntry): Promise<void> {
    try {
      await this.c.gossip.publish(OFFERS_TOPIC, new TextEncoder().encode(entry.raw))
    } catch (err) {
      if (isAgoraError(err, 'E210') || isAgoraError(err, 'E206')) this.log.debug({ err: messageOf(err), kind: entry.kind }, 'offer not gossiped now; anti-entropy will carry it')
      else this.log.warn({ err: messageOf(err), kind: entry.kind }, 'gossiping the offer failed')
    }
  }

  private async announceQuietly (reason: string): Promise<void> {
    if (!this.started) return
    try {
      if (this.paused) {
        // our old offer came back from a peer while we are withdrawn: tombstone it again
        if (this.local() !== undefined) await this.publishWithdrawal()
        return
      }
      await this.publishOffer()
    } catch (err) {
      if (isAgoraError(err, 'E810')) this.log.debug({ reason }, 'nothing to offer')
      else this.log.warn({ err: messageOf(err), reason }, 'announcing the offer failed')
    }
  }

  /** Announce soon, at most once per announceGapMs. */
  private scheduleAnnounce (): void {
    if (!this.started || this.pending !== undefined) return
    const delay = Math.max(this.init.changeDebounceMs ?? OFFER_DEFAULTS.changeDebounceMs, this.lastAnnounceAt + this.announceGapMs - this.now())
    this.pending = setTimeout(() => {
      this.pending = undefined
      void this.announceQuietly('change')
    }, Math.max(0, delay))
    this.pending.unref()
  }

  private readonly onRegistryChanged = (): void => {
    if (!this.paused) this.scheduleAnnounce()
  }

  private readonly isBanned = (peer: string): boolean => this.c.peerFeedback.isBanned(peer)

  /** Count a good interaction at most once a minute per peer (the peer book writes to disk). */
  private success (peer: string): void {
    const now = this.now()
    if (now - (this.successAt.get(peer) ?? -Infinity) < 60_000) return
    this.successAt.set(peer, now)
    this.c.peerFeedback.record(peer, 'success')
  }

  private loadTable (): void {
    const now = this.now()
    for (const row of this.repository.loadAll(now, this.init.maxOffers)) {
      const entry = toEntry(row)
      if (entry === undefined) continue
      this.table.load(entry, now)
      if (entry.origin === this.self) this.localState.observe(entry.lamport)
    }
  }

  private assertRunning (): void {
    if (!this.started) throw new AgoraError('E504', 'the offer service is not running')
  }
}
