/**
 * The node: builds every component once and fixes the start/stop order.
 *
 *   create: data dir → lock → identity → logger/metrics → store → envelopes
 *           → libp2p (not listening) → reqresp, gossip, peer manager, info → API (not listening)
 *   start:  libp2p listens → gossip, protocols → peer manager → API listens → api.json → ready
 *   stop:   not ready → api.json removed → API closed → peer manager → protocols
 *           → libp2p → store closed → lock released
 *
 * Nothing else decides order; rooms only expose start()/stop().
 */
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { AgoraComponents } from './components.ts'
import type { AgoraConfig } from './config/index.ts'
import { AgoraError, messageOf } from './errors.ts'
import { AgoraEvents } from './events.ts'
import { loadOrCreateIdentity, EnvelopeVerifier } from './identity/index.ts'
import { createLogger, type AgoraLogger, type LoggerInit } from './observability/logger.ts'
import { createRegistry } from './observability/metrics.ts'
import { registerNodeMetrics } from './observability/node-metrics.ts'
import { VERSION } from './version.ts'
import { createAgoraLibp2p, startAgoraLibp2p, Gossip, PeerManager } from './p2p/index.ts'
import { ReqResp, InfoService } from './protocols/index.ts'
import { openStore, type Store } from './store/index.ts'
import { PeerBook, PeerGuard } from './peers/index.ts'
import { OfferService } from './offers/index.ts'
import { CapabilityRegistry, createWinkProvider, winkCacheDir } from './providers/index.ts'
import { buildApiServer } from './api/index.ts'
import { DATA_DIR_FILES, prepareDataDir } from './daemon/data-dir.ts'
import { lockDataDir, type DataDirLock } from './daemon/lock.ts'
import { loadOrCreateToken, writeApiInfo, removeApiInfo } from './daemon/api-files.ts'
import { NodeControl } from './daemon/control.ts'

export type NodeState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

export interface AgoraNodeInit {
  dataDir: string
  config: AgoraConfig
  /** Log destination and level; the level defaults to config.log.level. */
  logger?: LoggerInit
  /** Collect process metrics (off in multi-node tests: one process, many nodes). */
  processMetrics?: boolean
}

/** How often expired replay-guard entries are dropped. */
const REPLAY_PRUNE_INTERVAL_MS = 60_000

export class AgoraNode {
  readonly components: AgoraComponents
  readonly peerManager: PeerManager
  readonly peerGuard: PeerGuard
  readonly info: InfoService
  private api: FastifyInstance | undefined
  private readonly startedAt: number
  private readonly lock: DataDirLock
  private readonly log: ReturnType<AgoraLogger['forComponent']>
  private state: NodeState = 'created'
  private apiUrlValue = ''
  private pruneTimer: NodeJS.Timeout | undefined
  private stopping: Promise<void> | undefined
  private readonly stoppedSignal = Promise.withResolvers<void>()

  private constructor (parts: { components: AgoraComponents, peerManager: PeerManager, peerGuard: PeerGuard, info: InfoService, lock: DataDirLock, startedAt: number }) {
    this.components = parts.components
    this.peerManager = parts.peerManager
    this.peerGuard = parts.peerGuard
    this.info = parts.info
    this.startedAt = parts.startedAt
    this.lock = parts.lock
    this.log = parts.components.logger.forComponent('agora:node')
  }

  /** Build every component; nothing listens until start(). */
  static async create (init: AgoraNodeInit): Promise<AgoraNode> {
    const { dataDir, config } = init
    prepareDataDir(dataDir)
    const lock = lockDataDir(dataDir)
    let store: Store | undefined
    try {
      const identity = await loadOrCreateIdentity(dataDir)
      const logger = createLogger({ level: config.log.level, ...init.logger, node: identity.peerIdString.slice(-6) })
      const metrics = createRegistry({ defaultMetrics: init.processMetrics ?? true })
      const events = new AgoraEvents()
      store = openStore(join(dataDir, DATA_DIR_FILES.store))
      const envelopes = new EnvelopeVerifier({ replay: store.replay }, { selfPeerId: identity.peerIdString, ...config.envelope })
      // the peer book exists before libp2p: its gater refuses banned peers and its scores feed gossipsub
      const peerBook = new PeerBook({ peers: store.peers, events, logger, metrics }, config.reputation)
      const libp2p = await createAgoraLibp2p({
        privateKey: identity.privateKey,
        logger,
        metrics,
        connectionGater: peerBook.connectionGater(),
        appSpecificScore: peerBook.appSpecificScore
      }, config.network, { dataDir, start: false })
      const startedAt = Date.now()
      registerNodeMetrics(metrics, {
        peerId: identity.peerIdString,
        version: VERSION,
        startedAt,
        connectedPeers: () => libp2p.getPeers().length,
        knownPeers: () => store?.peers.count() ?? 0,
        envelopeStats: () => envelopes.stats()
      })
      const reqresp = new ReqResp({ libp2p, logger, metrics }, {
        maxStreamsPerProtocol: config.network.connections.maxStreamsPerProtocol,
        timeouts: { dialMs: config.network.connections.dialTimeoutMs }
      })
      const gossip = new Gossip({ libp2p, logger, metrics }, { publishPerSecond: config.network.gossip.publishPerSecond })
      // providers register what this node serves; the engine loads on first use, never here
      const capabilities = new CapabilityRegistry()
      const wink = createWinkProvider({ logger, metrics }, { ...config.providers.wink, cacheDir: winkCacheDir(dataDir, config.providers.wink.cacheDir) })
      capabilities.register(wink)
      const peerManager = new PeerManager({ libp2p, peers: store.peers, events, logger, metrics, pingObserver: peerBook }, { ...config.network.peers, dialTimeoutMs: config.network.connections.dialTimeoutMs })
      const peerGuard = new PeerGuard({ libp2p, peerBook, events, logger, metrics }, {
        trustedReconnectMinMs: config.reputation.trustedReconnectMinMs,
        trustedReconnectMaxMs: config.reputation.trustedReconnectMaxMs,
        dialTimeoutMs: config.network.connections.dialTimeoutMs
      })
      const info = new InfoService({ reqresp, libp2p })
      const offers = new OfferService({ identity, store, gossip, reqresp, libp2p, registry: capabilities, peerFeedback: peerBook, events, logger, metrics }, {
        ...config.offers,
        zone: config.node.zone,
        trustMode: config.access.trustMode,
        nodeName: config.node.name,
        maxSkewMs: config.envelope.maxSkewMs,
        provideOnDht: config.network.dht.enabled
      })
      const components: AgoraComponents = { dataDir, config, logger, metrics, events, store, identity, envelopes, libp2p, gossip, reqresp, capabilities, wink, peerBook, offers }
      const node = new AgoraNode({ components, peerManager, peerGuard, info, lock, startedAt })
      await node.buildApi()
      return node
    } catch (err) {
      store?.close()
      lock.release()
      throw err
    }
  }

  /** The HTTP server, answering for this node through a narrow control plane. */
  private async buildApi (): Promise<void> {
    const { identity, libp2p, dataDir, config, events, metrics, logger } = this.components
    const control = new NodeControl({ identity, libp2p, peerManager: this.peerManager, peerBook: this.components.peerBook, offers: this.components.offers }, {
      dataDir,
      name: config.node.name,
      startedAt: this.startedAt,
      apiUrl: () => this.apiUrlValue,
      ready: () => this.state === 'running',
      requestStop: reason => { void this.stop(reason) }
    })
    this.api = await buildApiServer({ control, events, metrics, logger }, { token: loadOrCreateToken(dataDir), host: config.api.host })
  }

  get apiUrl (): string { return this.apiUrlValue }
  get status (): NodeState { return this.state }
  get peerId (): string { return this.components.identity.peerIdString }

  async start (): Promise<void> {
    if (this.state !== 'created') throw new AgoraError('E504', `cannot start a node that is ${this.state}`)
    this.state = 'starting'
    const { libp2p, config, dataDir, events, envelopes } = this.components
    try {
      await startAgoraLibp2p(libp2p)
      this.components.gossip.start()
      await this.info.start()
      await this.components.reqresp.start()
      await this.peerManager.start()
      await this.peerGuard.start()
      await this.components.offers.start()
      this.apiUrlValue = await this.listenApi(config.api.host, config.api.port)
      writeApiInfo(dataDir, { url: this.apiUrlValue, pid: process.pid, peerId: this.peerId, startedAt: Date.now() })
      this.pruneTimer = setInterval(() => { envelopes.pruneExpired() }, REPLAY_PRUNE_INTERVAL_MS).unref()
    } catch (err) {
      await this.stop('start-up failed')
      throw err
    }
    this.state = 'running'
    const addresses = libp2p.getMultiaddrs().map(ma => ma.toString())
    this.log.info({ api: this.apiUrlValue, addresses }, 'node started')
    events.emit('node:started', { peerId: this.peerId, addresses })
  }

  /** Stop everything in reverse order; safe to call more than once. */
  async stop (reason = 'stopped'): Promise<void> {
    this.stopping ??= this.doStop(reason)
    await this.stopping
  }

  private async doStop (reason: string): Promise<void> {
    const { libp2p, store, dataDir, events, logger } = this.components
    this.state = 'stopping'
    this.log.info({ reason }, 'node stopping')
    events.emit('node:stopping', { reason })
    clearInterval(this.pruneTimer)
    removeApiInfo(dataDir)
    const steps: Array<[string, () => Promise<void> | void]> = [
      ['api', async () => { await this.api?.close() }],
      ['offers', async () => { await this.components.offers.stop() }],
      ['peer guard', async () => { await this.peerGuard.stop() }],
      ['peer manager', async () => { await this.peerManager.stop() }],
      ['protocols', async () => { this.components.gossip.stop(); await this.info.stop(); await this.components.reqresp.stop() }],
      ['libp2p', async () => { await libp2p.stop() }],
      ['providers', async () => { await this.components.wink.stop() }],
      ['store', () => { store.close() }],
      ['lock', () => { this.lock.release() }]
    ]
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (err) {
        this.log.warn({ err: messageOf(err) }, `stopping ${name} failed`)
      }
    }
    this.state = 'stopped'
    this.log.info('node stopped')
    logger.root.flush()
    this.stoppedSignal.resolve()
  }

  /** Resolves once the node has stopped, whoever stopped it (signal, API, error). */
  whenStopped (): Promise<void> {
    return this.stoppedSignal.promise
  }

  private async listenApi (host: string, port: number): Promise<string> {
    const api = this.api
    if (api === undefined) throw new AgoraError('E504', 'the API was not built')
    try {
      await api.listen({ host, port })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new AgoraError('E201', `the API port ${host}:${port} is not available`, { why: messageOf(err), hint: 'use `--api-port 0` for any free port, or stop what holds it' })
      }
      throw err
    }
    const address = api.server.address()
    const bound = address !== null && typeof address === 'object' ? address.port : port
    const shownHost = host.includes(':') ? `[${host}]` : host
    return `http://${shownHost}:${bound}`
  }
}
