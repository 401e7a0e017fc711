/**
 * In-process libp2p nodes for tests: real TCP on 127.0.0.1 with port 0,
 * mDNS, relay, AutoNAT and DCUtR off, the DHT keeping loopback addresses,
 * and loopback-friendly connection limits. Always stop what you make
 * (`await nodes.stop()` in a `finally` or `after`).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createRegistry, type Registry } from '../../src/observability/metrics.ts'
import { silentLogger, type AgoraLogger } from '../../src/observability/logger.ts'
import { defaultConfig } from '../../src/config/schema.ts'
import { createAgoraLibp2p, type AgoraLibp2p, type Libp2pDatastore, type NetworkConfig } from '../../src/p2p/index.ts'
import type { IdentifyResult, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { stopAll, waitFor as waitUntil } from './wait.ts'

export interface NetworkOverrides extends Partial<Omit<NetworkConfig, 'dht' | 'connections' | 'gossip' | 'peers'>> {
  dht?: Partial<NetworkConfig['dht']>
  connections?: Partial<NetworkConfig['connections']>
  gossip?: Partial<NetworkConfig['gossip']>
  peers?: Partial<NetworkConfig['peers']>
}

/** The network config tests start from: loopback only, nothing that touches real interfaces. */
export function testNetworkConfig (overrides: NetworkOverrides = {}): NetworkConfig {
  const base = defaultConfig().network
  return {
    ...base,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    announce: [],
    bootstrap: [],
    mdns: false,
    psk: '',
    relay: false,
    autonat: false,
    dcutr: false,
    ...overrides,
    dht: { ...base.dht, addressFilter: 'all', clientMode: false, ...overrides.dht },
    connections: { ...base.connections, inboundThresholdPerHost: 1000, maxIncomingPending: 128, dialTimeoutMs: 5000, ...overrides.connections },
    gossip: { ...base.gossip, ...overrides.gossip },
    peers: { ...base.peers, ...overrides.peers }
  }
}

export interface TestNodeOptions {
  network?: NetworkOverrides
  /** Reuse a key (a restarted node); a fresh Ed25519 key otherwise. */
  privateKey?: PrivateKey
  /** true: a fresh registry; a Registry: that one; false/omitted: no metrics. */
  metrics?: boolean | Registry
  datastore?: Libp2pDatastore
  logger?: AgoraLogger
}

export interface TestNode {
  libp2p: AgoraLibp2p
  privateKey: PrivateKey
  network: NetworkConfig
  logger: AgoraLogger
  registry: Registry | undefined
  peerId: string
  /** The first listen address, with /p2p/<peerId>. */
  address: Multiaddr
  stop(): Promise<void>
}

export async function createTestNode (options: TestNodeOptions = {}): Promise<TestNode> {
  const privateKey = options.privateKey ?? await generateKeyPair('Ed25519')
  const network = testNetworkConfig(options.network)
  const logger = options.logger ?? silentLogger()
  const registry = options.metrics === true ? createRegistry({ defaultMetrics: false }) : options.metrics === false ? undefined : options.metrics
  const libp2p = await createAgoraLibp2p({ privateKey, logger, metrics: registry, ...(options.datastore === undefined ? {} : { datastore: options.datastore }) }, network)
  const address = libp2p.getMultiaddrs()[0]
  if (address === undefined) {
    await libp2p.stop()
    throw new Error('test node has no listen address')
  }
  return {
    libp2p,
    privateKey,
    network,
    logger,
    registry,
    peerId: libp2p.peerId.toString(),
    address,
    stop: async () => { await libp2p.stop() }
  }
}

export interface TestNodes {
  nodes: TestNode[]
  stop(): Promise<void>
}

/** N nodes started in parallel; if one fails the others are stopped. */
export async function createTestNodes (count: number, options: TestNodeOptions = {}): Promise<TestNodes> {
  const results = await Promise.allSettled(Array.from({ length: count }, async () => await createTestNode(options)))
  const nodes = results.flatMap(result => result.status === 'fulfilled' ? [result.value] : [])
  const stop = async (): Promise<void> => { await stopAll(nodes, node => `libp2p node ${node.peerId.slice(-6)}`, async node => { await node.stop() }) }
  const failed = results.find(result => result.status === 'rejected')
  if (failed !== undefined) {
    await stop().catch(() => {}) // the failure to create is the one to report
    throw failed.reason
  }
  return { nodes, stop }
}

export interface WaitForOptions {
  timeoutMs?: number
  intervalMs?: number
  /** What we wait for, for the failure message. */
  what?: string
}

/** Poll `condition` until it is true; throws after `timeoutMs` (default 5 s). The condition-first form of wait.ts's waitFor. */
export async function waitFor (condition: () => boolean | Promise<boolean>, options: WaitForOptions = {}): Promise<void> {
  await waitUntil(options.what ?? 'a condition', condition, { timeoutMs: options.timeoutMs ?? 5000, intervalMs: options.intervalMs ?? 20 })
}

/** Dial `to` from `from` and wait until each side has identified the other (no-op when already connected). */
export async function connectNodes (from: TestNode, to: TestNode, options: { timeoutMs?: number } = {}): Promise<void> {
  if (from.libp2p.getConnections(to.libp2p.peerId).length > 0) return
  const timeoutMs = options.timeoutMs ?? 5000
  const identified = Promise.all([identifiedBy(from, to.peerId, timeoutMs), identifiedBy(to, from.peerId, timeoutMs)])
  identified.catch(() => {})
  await from.libp2p.dial(to.address, { signal: AbortSignal.timeout(timeoutMs) })
  await identified
}

/** Resolve when `node` has identified `remote` (peer:identify), or reject after `timeoutMs`. */
export async function identifiedBy (node: { peerId: string, libp2p: Pick<TestNode['libp2p'], 'addEventListener' | 'removeEventListener'> }, remote: string, timeoutMs = 5000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      node.libp2p.removeEventListener('peer:identify', onIdentify)
      reject(new Error(`${node.peerId} did not identify ${remote} within ${timeoutMs} ms`))
    }, timeoutMs)
    const onIdentify = (event: CustomEvent<IdentifyResult>): void => {
      if (event.detail.peerId.toString() !== remote) return
      clearTimeout(timer)
      node.libp2p.removeEventListener('peer:identify', onIdentify)
      resolve()
    }
    node.libp2p.addEventListener('peer:identify', onIdentify)
  })
}
