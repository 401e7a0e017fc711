/**
 * The offer service: this node's offer (announcer.ts), the table of
 * everyone's offers fed by gossip on /agora/offers/1 and by anti-entropy on
 * /agora/sync/1, and DHT provider records for the capabilities it serves.
 *
 * Gossip: the whole ingest (validate, then apply to the table) runs in
 * gossipsub's topic validator, so only new, valid offers are forwarded; the
 * topic subscription's handler has nothing left to do. Sync: each envelope
 * of a page takes the same ingest. A round that pulled news nudges our
 * other peers to pull from us, so news that came by sync (a healed
 * partition) spreads hop by hop without waiting for the periodic round.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { OFFERS_TOPIC } from '../p2p/index.ts'
import { Announcer } from './announcer.ts'
import { OFFER_DEFAULTS } from './constants.ts'
import { CapabilityRecords, type CapabilityQuery, type FindProvidersOptions } from './dht.ts'
import { LocalOfferState } from './local-offer.ts'
import { createOfferMetrics, type OfferMetrics } from './metrics.ts'
import { OffersRepository, toEntry } from './repository.ts'
import { configPrices, offerPrice, type Prices } from './prices.ts'
import type { Offer, OfferFilter } from './schema.ts'
import { SYNC_PROTOCOL_ID } from './sync/constants.ts'
import { syncProtocol, type SyncRequest } from './sync/protocol.ts'
import { runSyncRound, servePage, type SyncResult } from './sync/round.ts'
import { SyncScheduler } from './sync/scheduler.ts'
import { OfferTable, type ApplyOutcome, type OfferEntry } from './table.ts'
import { OfferValidator, type IncomingOffer, type Verdict } from './validator.ts'
import type { ModelSummary, OfferServiceComponents, OfferServiceInit, OfferStats, WithdrawResult } from './types.ts'
import type { Logger } from '../observability/logger.ts'
import type { GossipValidationInput, GossipVerdict } from '../p2p/index.ts'
import type { HandlerContext } from '../protocols/index.ts'

export class OfferService {
  private readonly c: OfferServiceComponents
  private readonly init: OfferServiceInit
  private readonly self: string
  private readonly log: Logger
  private readonly metrics: OfferMetrics | undefined
  private readonly now: () => number
  private readonly repository: OffersRepository
  private readonly table: OfferTable
  private readonly validator: OfferValidator
  private readonly state: LocalOfferState
  private readonly announcer: Announcer
  private readonly scheduler: SyncScheduler
  private readonly records: CapabilityRecords | undefined
  private readonly successAt = new Map<string, number>()
  private readonly undo: Array<() => void> = []
  private timers: NodeJS.Timeout[] = []
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
    const maxSkewMs = init.maxSkewMs ?? OFFER_DEFAULTS.maxSkewMs
    this.repository = new OffersRepository(components.store.db, {
      flushIntervalMs: init.flushIntervalMs ?? OFFER_DEFAULTS.flushIntervalMs,
      onError: err => { this.log.warn({ err: messageOf(err) }, 'persisting offers failed') }
    })
    this.table = new OfferTable({ maxEntries: init.maxOffers, self: this.self, sink: this.repository })
    this.validator = new OfferValidator({ table: this.table }, { ...init, maxSkewMs, now: this.now })
    this.state = new LocalOfferState({ identity: components.identity, kv: components.store.kv }, {
      ttlMs: init.ttlMs, maxSkewMs, prices: configPrices(init.prices), zone: init.zone, trustMode: init.trustMode, name: init.nodeName
    })
    this.records = init.provideOnDht === false ? undefined : new CapabilityRecords({ contentRouting: components.libp2p.contentRouting, log: this.log })
    this.announcer = new Announcer({
      state: this.state,
      registry: components.registry,
      gossip: components.gossip,
      records: this.records,
      apply: (entry, now) => {
        const evicted: OfferEntry[] = []
        this.applied(entry, this.table.apply(entry, now, evicted), evicted, 'local')
      },
      local: () => this.local(),
      log: this.log
    }, {
      reannounceMs: init.reannounceMs,
      debounceMs: init.changeDebounceMs ?? OFFER_DEFAULTS.changeDebounceMs,
      // at most half the rate peers accept from one origin: timer jitter never trips their limit
      // (a rate-limited offer counts against its sender)
      gapMs: Math.ceil(2 * 60_000 / Math.max(1, init.perOriginPerMinute)),
      now: this.now
    })
    this.scheduler = new SyncScheduler({ libp2p: components.libp2p, run: async (peer, signal) => await this.syncWith(peer, { signal }), log: this.log }, {
      protocol: SYNC_PROTOCOL_ID,
      intervalMs: init.syncIntervalMs,
      minGapMs: init.syncMinGapMs ?? OFFER_DEFAULTS.syncMinGapMs,
      concurrency: init.syncConcurrency ?? OFFER_DEFAULTS.syncConcurrency,
      queueSize: OFFER_DEFAULTS.syncQueueSize
    })
  }

  /** Load the table, serve /agora/sync/1, validate gossip, start anti-entropy, announce our offer. */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.loadTable()
    this.undo.push(this.c.gossip.validate(OFFERS_TOPIC, this.onGossip))
    this.undo.push(this.c.gossip.subscribe(OFFERS_TOPIC, () => {}))
    await this.c.reqresp.handle(syncProtocol, this.onSyncRequest)
    this.c.registry.on('changed', this.onRegistryChanged)
    this.undo.push(() => { this.c.registry.off('changed', this.onRegistryChanged) })
    this.scheduler.start()
    this.timers = [
      setInterval(() => { this.prune() }, this.init.pruneIntervalMs ?? OFFER_DEFAULTS.pruneIntervalMs),
      setInterval(() => { this.refreshRecords = true }, OFFER_DEFAULTS.provideRefreshMs)
    ]
    for (const timer of this.timers) timer.unref()
    await this.announcer.start()
  }

  /** Withdraw our offer (best effort, bounded wait), stop syncing, unregister, persist. Before gossip, reqresp and libp2p stop. */
  async stop (): Promise<void> {
    if (!this.started) return
    for (const timer of this.timers) clearInterval(timer)
    await this.scheduler.stop()
    await this.announcer.stop(this.init.withdrawOnStopMs ?? OFFER_DEFAULTS.withdrawOnStopMs)
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
    return await this.announcer.announce()
  }

  /** Advertise another trust mode (access control changed at run time): re-announced at once. */
  setTrustMode (trustMode: Offer['trustMode']): void {
    this.state.setTrustMode(trustMode)
    this.announcer.schedule()
  }

  /** Ask other prices (config changed at run time): re-announced at once. */
  setPrices (prices: Prices): void {
    this.state.setPrices(prices)
    this.announcer.schedule()
  }

  /** Publish a WITHDRAW tombstone; nothing is announced again until `announce()` or a restart. */
  async withdraw (): Promise<WithdrawResult> {
    this.assertRunning()
    const withdrawn = await this.announcer.withdraw()
    return { withdrawn, offerId: withdrawn ? this.state.offerId : null }
  }

  /** One anti-entropy round with a peer; never throws (see the outcome). */
  async syncWith (peerId: string, options: { signal?: AbortSignal } = {}): Promise<SyncResult> {
    this.assertRunning()
    const signals = [this.shutdown.signal, AbortSignal.timeout(OFFER_DEFAULTS.syncRoundTimeoutMs)]
    if (options.signal !== undefined) signals.push(options.signal)
    const result = await runSyncRound({
      reqresp: this.c.reqresp,
      table: this.table,
      ingest: (data, peer, round) => this.ingest({ data, via: 'sync', peer, round }),
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
      if (this.refreshRecords) {
        this.refreshRecords = false
        this.announcer.provideRecords(true)
      }
      this.announcer.peersReachable()
      if (result.pulled > 0) {
        this.success(peerId)
        this.nudgeOthers(peerId)
      }
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
        // defined: the offer lists the model
        const price = offerPrice(offer, model.name) ?? 0
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

  stats (): OfferStats {
    const { offers, tombstones } = this.table.counts()
    return { offers, tombstones, lamport: this.state.lamport, offerId: this.state.offerId, capabilityKeys: this.records?.keys() ?? [] }
  }

  private readonly onGossip = (message: GossipValidationInput): GossipVerdict => {
    const verdict = this.ingest({ data: message.data, via: 'gossip', peer: message.propagationSource, author: message.from })
    if (verdict.status === 'ok') return 'accept'
    if (verdict.status === 'rejected' && verdict.blame === message.propagationSource) return 'reject'
    return 'ignore'
  }

  private readonly onSyncRequest = async (request: SyncRequest, context: HandlerContext): Promise<ReturnType<typeof servePage>> => {
    if (this.c.peerFeedback.isBanned(context.peerId)) throw new AgoraError('E808', 'anti-entropy refused', { why: 'the peer is banned' })
    if (request.nudge === true) this.scheduler.nudge(context.peerId)
    return servePage(this.table, request, { pageSize: this.init.syncPageSize, now: this.now() })
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
      if (verdict.entry.origin === this.self && this.state.observe(verdict.entry.lamport)) this.announcer.missedBySomeone()
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

  /** Tell our other peers we have news (they pull from us, and so on, hop by hop). */
  private nudgeOthers (source: string): void {
    const peers = this.c.libp2p.getPeers().map(String).filter(p => p !== source).slice(0, OFFER_DEFAULTS.nudgePeers)
    for (const peer of peers) {
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(OFFER_DEFAULTS.nudgeTimeoutMs)])
      this.c.reqresp.request(peer, syncProtocol, { have: [], nudge: true }, { signal })
        .catch(err => { this.log.debug({ peer, err: messageOf(err) }, 'nudge failed') })
    }
  }

  private readonly onRegistryChanged = (): void => {
    if (!this.announcer.withdrawn) this.announcer.schedule()
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
      if (entry.origin === this.self) this.state.observe(entry.lamport)
    }
  }

  private assertRunning (): void {
    if (!this.started) throw new AgoraError('E504', 'the offer service is not running')
  }
}
