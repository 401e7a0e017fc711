/**
 * Builds every component of a node once, in dependency order, and lists the
 * services in the order they start (they stop in reverse). Nothing listens
 * here; `node.ts` runs the lifecycle.
 *
 *   identity → logger/metrics → store → envelopes → peer book (gater, gossip scores)
 *   → libp2p (not listening) → reqresp, gossip → capability registry + wink provider
 *   → peer manager, peer guard, info → offer service → provider manager
 *   → access control → market: ledger, escrow, payments, contracts, /agora/market/1
 *   → gateway: metering, /agora/infer/1 server and client, router (both paid through the market); API keys
 *   → verify: attestations and decisions over gossip, the quorum from the verifiers' offers
 *   → jobs: worker (resources, capability source, /agora/task/1), router, dispatcher, blobs, coordinator
 *   → packages: Helia on the same libp2p, catalogue, search, installer, block server, DHT provider of roots
 */
import { join } from 'node:path'
import type { AgoraComponents } from './components.ts'
import type { AgoraConfig } from './config/index.ts'
import { AgoraEvents } from './events.ts'
import { loadOrCreateIdentity, EnvelopeVerifier } from './identity/index.ts'
import { createLogger, type LoggerInit } from './observability/logger.ts'
import { secretRedactor } from './observability/redact.ts'
import { loadOrCreateToken } from './daemon/api-files.ts'
import { createRegistry } from './observability/metrics.ts'
import { registerNodeMetrics } from './observability/node-metrics.ts'
import { VERSION } from './version.ts'
import { createAgoraLibp2p, startAgoraLibp2p, Gossip, PeerManager } from './p2p/index.ts'
import { ReqResp, InfoService } from './protocols/index.ts'
import { openStore, type Store } from './store/index.ts'
import { PeerBook, PeerGuard } from './peers/index.ts'
import { OfferService } from './offers/index.ts'
import { CapabilityRegistry, EchoProvider, ProviderManager, createWinkProvider, winkCacheDir } from './providers/index.ts'
import { AccessControl, InferenceGateway, InferenceServer, LocalInference, Metering, RemoteInference } from './gateway/index.ts'
import { ApiKeys } from './api/index.ts'
import { assembleJobs } from './jobs/index.ts'
import { MarketService } from './market/index.ts'
import { VerifyService } from './verify/index.ts'
import { PackageService } from './packages/service.ts'
import { DATA_DIR_FILES } from './daemon/data-dir.ts'
import type { JobsSettings } from './daemon/runtime-config.ts'

export interface AssembleInit {
  dataDir: string
  config: AgoraConfig
  /** Log destination and level; the level defaults to config.log.level. */
  logger?: LoggerInit
  /** Collect process metrics (off in multi-node tests: one process, many nodes). */
  processMetrics?: boolean
}

/** Something the node starts and stops; `node.ts` runs them in list order and stops them in reverse. */
export interface Service {
  name: string
  start(): Promise<void> | void
  stop(): Promise<void> | void
}

export interface Assembly {
  components: AgoraComponents
  /** In start order. */
  services: Service[]
  peerManager: PeerManager
  info: InfoService
  startedAt: number
  /** The jobs worker's run-time settings (slots, price per subtask). */
  jobsSettings: JobsSettings
}

export async function assemble (init: AssembleInit): Promise<Assembly> {
  const { dataDir, config } = init
  let store: Store | undefined
  try {
    const identity = await loadOrCreateIdentity(dataDir)
    // log.safe: the API token has no shape of its own, so it is named by value
    const redact = config.log.safe ? secretRedactor([loadOrCreateToken(dataDir)]) : undefined
    const logger = createLogger({ level: config.log.level, format: config.log.format, color: config.log.color, redact, ...init.logger, node: identity.peerIdString.slice(-6) })
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
      knownPeers: () => peerBook.count(),
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
    // the echo chat engine (off unless providers.echo.enabled) registers nothing while off
    const echo = new EchoProvider(config.providers.echo)
    const builtin = echo.enabled ? [wink, echo] : [wink]
    const providers = new ProviderManager({ registry: capabilities, store, logger, metrics, events, builtin }, {
      discovery: config.providers.discovery,
      discoveryIntervalMs: config.providers.discoveryIntervalMs,
      modelsTtlMs: config.providers.modelsTtlMs
    })
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
    // the gateway: one access rule for every protocol that spends our compute, metering of every request
    const access = new AccessControl({ peerBook, logger, metrics }, { ...config.access, selfPeerId: identity.peerIdString })
    // the market pays for what jobs and the gateway buy, and books what they sell: built before both
    const market = new MarketService({ db: store.db, identity, reqresp, envelopes, peerBook, offers, gossip, access, events, logger, metrics }, config.market)
    const metering = new Metering({ db: store.db, metrics, logger, events })
    const localInference = new LocalInference({ local: providers, metering, prices: () => offers.local()?.prices })
    const inferenceServer = new InferenceServer({ reqresp, access, local: localInference, market, logger, metrics })
    const remote = new RemoteInference({ reqresp, libp2p, logger, metrics }, config.gateway.timeouts)
    const gateway = new InferenceGateway({ selfPeerId: identity.peerIdString, local: providers, remote, offers, peerBook, metering, market, logger, metrics }, {
      ...config.gateway,
      holdTokens: config.market.gatewayHoldTokens
    })
    const keys = new ApiKeys({ db: store.db })
    const verify = new VerifyService({ db: store.db, identity, gossip, reqresp, envelopes, offers, peerBook, capabilities, events, logger, metrics, market }, config.verify)
    const jobs = assembleJobs({ dataDir, config, identity, logger, metrics, events, store, reqresp, capabilities, wink, gateway, offers, peerBook, access, market, verify })
    // packages.enabled false: nothing of the room is built (no Helia), and its API answers E1436
    const packages = new PackageService({ libp2p, db: store.db.sqlite, identity, gossip, reqresp, peerBook, events, logger, metrics }, {
      ...config.packages,
      dataDir,
      dht: config.network.dht.enabled
    })
    const components: AgoraComponents = {
      dataDir, config, logger, metrics, events, store, identity, envelopes, libp2p, gossip, reqresp,
      capabilities, wink, providers, peerBook, offers, access, metering, gateway, keys, market, verify, jobs: jobs.api, packages
    }
    const services: Service[] = [
      // first up, last down: metering batches its rows and writes what is pending just before the store closes
      { name: 'metering', start: () => {}, stop: () => { metering.stop() } },
      { name: 'libp2p', start: async () => { await startAgoraLibp2p(libp2p) }, stop: async () => { await libp2p.stop() } },
      { name: 'providers', start: () => { providers.start() }, stop: async () => { await providers.stop(); await wink.stop(); await echo.stop() } },
      { name: 'gossip', start: () => { gossip.start() }, stop: () => { gossip.stop() } },
      { name: 'reqresp', start: async () => { await reqresp.start() }, stop: async () => { await reqresp.stop() } },
      { name: 'info', start: async () => { await info.start() }, stop: async () => { await info.stop() } },
      { name: 'peer manager', start: async () => { await peerManager.start() }, stop: async () => { await peerManager.stop() } },
      { name: 'peer guard', start: async () => { await peerGuard.start() }, stop: async () => { await peerGuard.stop() } },
      // Helia starts on the running libp2p and stops before it; gossip and reqresp outlive the room
      { name: 'packages', start: async () => { await packages.start() }, stop: async () => { await packages.stop() } },
      // the books are open before anything that buys or sells starts, and written last
      { name: 'market', start: async () => { await market.start() }, stop: async () => { await market.stop() } },
      { name: 'inference server', start: async () => { await inferenceServer.start() }, stop: async () => { await inferenceServer.stop() } },
      // the jobs worker registers its task types and slots before the first offer goes out;
      // the coordinator resumes unfinished jobs once offers flow
      jobs.worker,
      // its verify tag is registered before the first offer goes out
      { name: 'verify', start: async () => { await verify.start() }, stop: async () => { await verify.stop() } },
      { name: 'offers', start: async () => { await offers.start() }, stop: async () => { await offers.stop() } },
      jobs.coordinator
    ]
    return { components, services, peerManager, info, startedAt, jobsSettings: jobs.settings }
  } catch (err) {
    store?.close()
    throw err
  }
}
