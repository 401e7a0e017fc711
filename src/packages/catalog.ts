/**
 * The package catalogue: every PACKAGE envelope this node accepts, from its
 * own publisher (`accept(envelope, 'local')`), from gossip on
 * /agora/packages/1 and from anti-entropy on /agora/packages/sync/1 — all
 * through one path: a copy already held is dropped before any work; then
 * openPackage (envelope, signature, CID, schema, publisher = signer), the
 * per-publisher rate limit (gossip only: a late joiner's sync may bring a
 * prolific publisher's whole history at once), ownership (ownership.ts),
 * store, and record the publisher as a provider (a publisher holds its
 * blocks; a forwarder need not).
 *
 * Gossip runs the whole ingest in gossipsub's topic validator, so only new,
 * valid manifests are forwarded. A forged or malformed envelope is blamed
 * on the peer that handed it over (peer book + gossipsub 'reject'); an
 * ownership or immutability refusal is not — honest nodes may see claims in
 * another order (see ownership.ts) — it is dropped and counted.
 */
import { CID } from 'multiformats/cid'
import { AgoraError, messageOf, type ErrorCode } from '../errors.ts'
import { encodeEnvelope, type Envelope } from '../identity/index.ts'
import { KeyedRateLimiter, PACKAGES_TOPIC } from '../p2p/index.ts'
import { SyncScheduler } from '../offers/sync/scheduler.ts'
import { createCatalogMetrics, type CatalogMetrics } from './catalog-metrics.ts'
import { decideOwnership } from './ownership.ts'
import { openPackage } from './package-envelope.ts'
import type { PackageRepository, StoredPackage } from './repository.ts'
import { PACKAGE_SYNC_DEFAULTS, PACKAGE_SYNC_PROTOCOL_ID } from './sync/constants.ts'
import { CatalogDigest } from './sync/digest.ts'
import { packageSyncProtocol, type PackageSyncRequest, type PackageSyncResponse } from './sync/protocol.ts'
import { runPackageSync, serveSync, type IngestOutcome, type PackageSyncResult } from './sync/round.ts'
import type { AgoraConfig } from '../config/schema.ts'
import type { AgoraEvents } from '../events.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { Gossip, GossipValidationInput, GossipVerdict } from '../p2p/index.ts'
import type { ReqResp } from '../protocols/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** How the catalogue reports peers' behaviour (the peer book implements it). */
export interface CatalogPeerFeedback {
  record(peerId: string, outcome: 'invalid' | 'success'): void
  isBanned(peerId: string): boolean
}

export interface PackageCatalogComponents {
  repository: PackageRepository
  gossip: Pick<Gossip, 'publish' | 'subscribe' | 'validate'>
  reqresp: Pick<ReqResp, 'handle' | 'unhandle' | 'request'>
  libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getPeers'>
  peerFeedback: CatalogPeerFeedback
  events: Pick<AgoraEvents, 'emit'>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export type PackageCatalogInit = Pick<AgoraConfig['packages'], 'maxManifestBytes' | 'announcePerPublisherPerMinute'> & Partial<Pick<AgoraConfig['packages'], 'catalogMaxBytes' | 'catalogBytesPerPeerPerHour'>> & {
  /** A sync round with a random connected peer this often (default 60 s). */
  syncIntervalMs?: number
  /** Not again with the same peer within this (default 10 s). */
  syncMinGapMs?: number
  now?: () => number
}

export type CatalogSource = 'local' | 'gossip' | 'sync'

/** The metric label of each refusal. */
export const REFUSE_REASONS: Partial<Record<ErrorCode, string>> = {
  E1400: 'malformed',
  E1401: 'kind',
  E1402: 'signature',
  E1403: 'oversized',
  E1404: 'payload',
  E1405: 'tampered',
  E1406: 'schema',
  E1407: 'publisher',
  E1410: 'name-claimed',
  E1411: 'version-taken',
  E1412: 'rate-limited',
  E1414: 'banned',
  E1415: 'history-missing',
  E1416: 'peer-budget',
  E1417: 'catalog-full'
}

/** Refusals that only a broken or hostile sender produces: counted against the peer that handed them over. */
const BLAMED: ReadonlySet<ErrorCode> = new Set(['E1400', 'E1401', 'E1402', 'E1403', 'E1404', 'E1405', 'E1406', 'E1407'])

/** Defaults of the catalogue's bounds (config.packages.catalogMaxBytes, catalogBytesPerPeerPerHour). */
const CATALOG_LIMIT_DEFAULTS = { maxBytes: 1024 ** 3, bytesPerPeerPerHour: 64 * 1024 ** 2 }

type Ingested = { status: 'new' | 'duplicate', pkg: StoredPackage } | { status: 'refused', error: AgoraError }

export class PackageCatalog {
  private readonly c: PackageCatalogComponents
  private readonly init: PackageCatalogInit
  private readonly log: Logger
  private readonly metrics: CatalogMetrics | undefined
  private readonly now: () => number
  private readonly limiter: KeyedRateLimiter
  /** Bytes of new manifests each peer may hand us (packages.catalogBytesPerPeerPerHour). */
  private readonly peerBytes: KeyedRateLimiter
  /** Bytes of manifests held, against packages.catalogMaxBytes. */
  private heldBytes: number
  private readonly digest = new CatalogDigest()
  private readonly scheduler: SyncScheduler
  private readonly undo: Array<() => void> = []
  private started = false
  private shutdown = new AbortController()

  constructor (components: PackageCatalogComponents, init: PackageCatalogInit) {
    this.c = components
    this.init = init
    this.log = components.logger.forComponent('agora:packages')
    this.metrics = createCatalogMetrics(components.metrics)
    this.now = init.now ?? Date.now
    const perMinute = Math.max(1, init.announcePerPublisherPerMinute)
    // a publisher may release a handful at once (a release of several packages): ten seconds' worth, at least five
    this.limiter = new KeyedRateLimiter({ perSecond: perMinute / 60, burst: Math.max(5, Math.ceil(perMinute / 6)), now: this.now, maxKeys: 20_000 })
    // a late joiner may pull a whole catalogue from one peer at once: the hour's budget is the burst
    const perHour = init.catalogBytesPerPeerPerHour ?? CATALOG_LIMIT_DEFAULTS.bytesPerPeerPerHour
    this.peerBytes = new KeyedRateLimiter({ perSecond: perHour / 3600, burst: perHour, now: this.now, maxKeys: 10_000 })
    this.heldBytes = components.repository.manifestBytes()
    this.scheduler = new SyncScheduler({ libp2p: components.libp2p, run: async (peer, signal) => await this.syncWith(peer, { signal }), log: this.log }, {
      protocol: PACKAGE_SYNC_PROTOCOL_ID,
      intervalMs: init.syncIntervalMs ?? PACKAGE_SYNC_DEFAULTS.intervalMs,
      minGapMs: init.syncMinGapMs ?? PACKAGE_SYNC_DEFAULTS.minGapMs,
      concurrency: PACKAGE_SYNC_DEFAULTS.concurrency,
      queueSize: PACKAGE_SYNC_DEFAULTS.queueSize
    })
    for (const cid of components.repository.allCids()) this.digest.add(cid)
  }

  /** Validate gossip on /agora/packages/1, serve /agora/packages/sync/1, start anti-entropy. */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.undo.push(this.c.gossip.validate(PACKAGES_TOPIC, this.onGossip))
    this.undo.push(this.c.gossip.subscribe(PACKAGES_TOPIC, () => {}))
    await this.c.reqresp.handle(packageSyncProtocol, this.onSyncRequest, { admit: this.admit })
    this.scheduler.start()
  }

  /** Stop anti-entropy and unregister; before gossip, reqresp and libp2p stop. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.scheduler.stop()
    this.shutdown.abort()
    for (const fn of this.undo.splice(0)) fn()
    await this.c.reqresp.unhandle(PACKAGE_SYNC_PROTOCOL_ID)
  }

  /**
   * Take a PACKAGE envelope into the catalogue: `from` is 'local' (this
   * node's publisher, a CAR import) or the peer that handed it over. The
   * stored package, new or held already; an AgoraError (E14xx) when refused.
   */
  async accept (envelope: unknown, from: string | 'local'): Promise<StoredPackage> {
    const result = await this.ingest(envelope, from === 'local' ? 'local' : 'sync', from)
    if (result.status === 'refused') throw result.error
    return result.pkg
  }

  /** Gossip a PACKAGE envelope: the peers it reached (0 with none subscribed yet: anti-entropy carries it later). */
  async announce (envelope: Envelope): Promise<number> {
    try {
      return (await this.c.gossip.publish(PACKAGES_TOPIC, encodeEnvelope(envelope))).recipients
    } catch (err) {
      if (err instanceof AgoraError && (err.code === 'E210' || err.code === 'E206')) {
        this.log.debug({ err: err.format() }, 'package not gossiped now; anti-entropy will carry it')
        return 0
      }
      throw err
    }
  }

  /** One anti-entropy round with a peer; never throws (see the outcome). */
  async syncWith (peer: string, options: { signal?: AbortSignal } = {}): Promise<PackageSyncResult> {
    const signals = [this.shutdown.signal, AbortSignal.timeout(PACKAGE_SYNC_DEFAULTS.roundTimeoutMs)]
    if (options.signal !== undefined) signals.push(options.signal)
    const result = await runPackageSync({
      reqresp: this.c.reqresp,
      digest: this.digest,
      has: cid => this.digest.has(cid),
      ingest: async (text, cid, from) => await this.ingestText(text, cid, from),
      peer,
      maxPull: PACKAGE_SYNC_DEFAULTS.maxPullPerRound,
      signal: AbortSignal.any(signals)
    })
    this.metrics?.syncRounds.inc({ outcome: result.outcome })
    this.metrics?.syncPulled.inc(result.pulled)
    if (result.outcome === 'malformed' || result.outcome === 'invalid') this.c.peerFeedback.record(peer, 'invalid')
    else if (result.outcome === 'ok' && result.pulled > 0) this.c.peerFeedback.record(peer, 'success')
    if (result.error !== undefined) this.log.debug({ peer, outcome: result.outcome, err: result.error.format() }, 'package sync round ended early')
    return result
  }

  /** Manifests the catalogue holds. */
  get size (): number {
    return this.digest.count
  }

  private async ingest (envelope: unknown, source: CatalogSource, peer: string): Promise<Ingested> {
    try {
      if (peer !== 'local' && this.c.peerFeedback.isBanned(peer)) {
        throw new AgoraError('E1414', 'package from a banned peer', { why: `${peer} is banned`, details: { peer } })
      }
      const held = this.heldCopy(envelope)
      if (held !== undefined) {
        this.metrics?.duplicates.inc({ source })
        return { status: 'duplicate', pkg: held }
      }
      const opened = await openPackage(envelope, { maxManifestBytes: this.init.maxManifestBytes })
      const cid = opened.cid.toString()
      const { manifest } = opened
      // nothing awaits from here to the write: the ownership check and the store are one step
      const again = this.c.repository.get(cid)
      if (again !== undefined) {
        this.metrics?.duplicates.inc({ source })
        return { status: 'duplicate', pkg: again }
      }
      if (peer !== 'local') this.checkBounds(peer, opened.bytes.byteLength)
      if (source === 'gossip' && !this.limiter.take(manifest.publisher)) {
        throw new AgoraError('E1412', 'too many packages from one publisher', { why: `${manifest.publisher} is over packages.announcePerPublisherPerMinute`, details: { publisher: manifest.publisher } })
      }
      const previous = manifest.previous === undefined ? undefined : this.c.repository.get(manifest.previous)
      const decision = decideOwnership({
        owners: this.c.repository.owners(manifest.name),
        heldCid: this.c.repository.cidOf(manifest.name, manifest.version),
        previousHeld: previous?.manifest.name === manifest.name
      }, manifest, cid, opened.envelope.from)
      if (decision.status === 'duplicate') return { status: 'duplicate', pkg: this.c.repository.get(cid) as StoredPackage }
      const now = this.now()
      this.c.repository.put({ cid, manifest, envelope: opened.envelope, bytes: opened.bytes }, now, decision.changed ? decision.owners : undefined)
      this.c.repository.addProvider(cid, opened.envelope.from, now)
      this.digest.add(cid)
      this.heldBytes += opened.bytes.byteLength
      const pkg: StoredPackage = { cid, manifest, envelope: opened.envelope, bytes: opened.bytes, receivedAt: now }
      this.metrics?.accepted.inc({ source })
      this.c.events.emit('package:announced', { cid, name: manifest.name, version: manifest.version, kind: manifest.kind, publisher: manifest.publisher, from: peer })
      return { status: 'new', pkg }
    } catch (err) {
      const error = err instanceof AgoraError ? err : new AgoraError('E599', 'package refused', { why: messageOf(err), cause: err })
      this.metrics?.refused.inc({ reason: REFUSE_REASONS[error.code] ?? 'error', source })
      if (peer !== 'local') {
        if (BLAMED.has(error.code)) this.c.peerFeedback.record(peer, 'invalid')
        else if (error.code === 'E1412') this.c.peerFeedback.record(String(error.details?.publisher), 'invalid')
        this.log.debug({ peer, source, err: error.format() }, 'package refused')
      }
      return { status: 'refused', error }
    }
  }

  /**
   * A peer can never bloat the catalogue: each peer hands us at most so many
   * bytes of new manifests an hour (a flood from throw-away keys is paced by
   * the peers relaying it, not by its publishers), and past the total cap
   * nothing more is taken from peers. Not blamed: an honest relay of a busy
   * network hits the budget too; what is dropped comes again by sync.
   */
  private checkBounds (peer: string, bytes: number): void {
    const max = this.init.catalogMaxBytes ?? CATALOG_LIMIT_DEFAULTS.maxBytes
    if (this.heldBytes + bytes > max) {
      throw new AgoraError('E1417', 'package not taken: the catalogue is full', { why: `it holds ${this.heldBytes} bytes of manifests, the cap is ${max} (packages.catalogMaxBytes)`, details: { peer } })
    }
    if (!this.peerBytes.take(peer, bytes)) {
      throw new AgoraError('E1416', 'package not taken: too many new manifests from one peer', { why: `${peer} is over packages.catalogBytesPerPeerPerHour`, details: { peer } })
    }
  }

  /** The stored package when the envelope's payload names a CID held already (no signature check needed to drop a copy). */
  private heldCopy (envelope: unknown): StoredPackage | undefined {
    const cid = (envelope as { payload?: { cid?: unknown } } | null)?.payload?.cid
    if (typeof cid !== 'string') return undefined
    try {
      const canonical = CID.parse(cid).toString()
      return this.digest.has(canonical) ? this.c.repository.get(canonical) : undefined
    } catch {
      return undefined
    }
  }

  private async ingestText (text: string, _cid: string, peer: string): Promise<IngestOutcome> {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      value = text
    }
    const result = await this.ingest(value, 'sync', peer)
    if (result.status === 'refused') return BLAMED.has(result.error.code) ? 'blamed' : 'refused'
    return result.status
  }

  private readonly onGossip = async (message: GossipValidationInput): Promise<GossipVerdict> => {
    // base64url of the largest manifest plus the envelope around it
    if (message.data.byteLength > Math.ceil(this.init.maxManifestBytes * 4 / 3) + 4096) {
      this.metrics?.refused.inc({ reason: 'oversized', source: 'gossip' })
      this.c.peerFeedback.record(message.propagationSource, 'invalid')
      return 'reject'
    }
    let value: unknown
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message.data))
    } catch {
      value = undefined
    }
    const result = await this.ingest(value, 'gossip', message.propagationSource)
    if (result.status === 'new') return 'accept'
    if (result.status === 'refused' && BLAMED.has(result.error.code)) return 'reject'
    return 'ignore'
  }

  private readonly admit = (peer: string): AgoraError | undefined =>
    this.c.peerFeedback.isBanned(peer) ? new AgoraError('E1414', 'package sync refused', { why: 'the peer is banned' }) : undefined

  private readonly onSyncRequest = async (request: PackageSyncRequest): Promise<PackageSyncResponse> =>
    serveSync(this.digest, cid => this.c.repository.envelopeText(cid), request)
}
