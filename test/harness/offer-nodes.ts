/**
 * In-process offer nodes for integration tests and benchmarks: real libp2p
 * on 127.0.0.1 (the test network config) with a connection gater the test
 * controls, Gossip, ReqResp, the info protocol, a CapabilityRegistry with a
 * fake source, a store (in memory unless a data dir is given) and an
 * OfferService with short timers. `OfferSwarm` connects them, cuts them
 * into groups (hang up + deny dials) and heals them. Always `stop()` it.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { AgoraEvents } from '../../src/events.ts'
import { generateIdentity, type NodeIdentity } from '../../src/identity/index.ts'
import { silentLogger, type AgoraLogger } from '../../src/observability/logger.ts'
import { createRegistry, type Registry } from '../../src/observability/metrics.ts'
import { OfferService, type OfferServiceInit, type PeerFeedback } from '../../src/offers/index.ts'
import { Gossip, libp2pOptions, OFFERS_TOPIC, startAgoraLibp2p, type AgoraLibp2p, type AgoraServices } from '../../src/p2p/index.ts'
import { InfoService, ReqResp } from '../../src/protocols/index.ts'
import { CapabilityRegistry, type Capacity, type CapabilitySource, type ModelCapability } from '../../src/providers/registry.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import { defaultConfig } from '../../src/config/schema.ts'
import { testNetworkConfig, type NetworkOverrides } from './libp2p-nodes.ts'
import { tempDir } from './temp.ts'
import { stopAll, waitFor } from './wait.ts'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { identifiedBy } from './libp2p-nodes.ts'

/** A capability source whose models, task types and capacity a test changes (then calls `changed()`). */
export class TestSource implements CapabilitySource {
  readonly id = 'test'
  modelList: ModelCapability[]
  tasks: string[]
  slots: Capacity
  private registry: CapabilityRegistry | undefined
  constructor (init: { models?: string[], tasks?: string[], slots?: Capacity } = {}) {
    this.modelList = (init.models ?? ['test-chat']).map(name => ({ name, provider: 'test', kind: 'chat', contextLength: 4096 }))
    this.tasks = init.tasks ?? ['classify']
    this.slots = init.slots ?? { slotsTotal: 4, slotsIdle: 4 }
  }

  attach (registry: CapabilityRegistry): void { this.registry = registry; registry.register(this) }
  models (): ModelCapability[] { return this.modelList }
  taskTypes (): string[] { return this.tasks }
  capacity (): Capacity { return this.slots }
  /** Change capacity and tell the registry. */
  setSlots (slots: Capacity): void { this.slots = slots; this.registry?.changed() }
}

/** Peer feedback that counts outcomes per peer (a stand-in for the peer book). */
export class CountingFeedback implements PeerFeedback {
  readonly invalid = new Map<string, number>()
  readonly success = new Map<string, number>()
  /** Ban a peer after this many invalid messages (Infinity: never). */
  banAfter = Infinity
  record (peerId: string, outcome: 'invalid' | 'success'): void {
    const map = outcome === 'invalid' ? this.invalid : this.success
    map.set(peerId, (map.get(peerId) ?? 0) + 1)
  }

  isBanned (peerId: string): boolean { return (this.invalid.get(peerId) ?? 0) >= this.banAfter }
}

/** Denies dials and connections to and from the blocked peers. */
export class TestGater {
  readonly blocked = new Set<string>()
  readonly gater: ConnectionGater = {
    denyDialPeer: (peer: PeerId) => this.blocked.has(peer.toString()),
    denyInboundEncryptedConnection: (peer: PeerId) => this.blocked.has(peer.toString()),
    denyOutboundEncryptedConnection: (peer: PeerId) => this.blocked.has(peer.toString())
  }
}

export interface OfferNodeOptions {
  offers?: Partial<OfferServiceInit>
  source?: TestSource
  /** Keep the store on disk here (restart tests); in memory otherwise. */
  dataDir?: string
  identity?: NodeIdentity
  network?: NetworkOverrides
  logger?: AgoraLogger
  /** Do not start the offer service (a raw gossip node, e.g. a flooder). */
  noOffers?: boolean
}

export interface OfferNode {
  identity: NodeIdentity
  peerId: string
  libp2p: AgoraLibp2p
  address: Multiaddr
  gossip: Gossip
  reqresp: ReqResp
  info: InfoService
  offers: OfferService
  registry: CapabilityRegistry
  source: TestSource
  store: Store
  feedback: CountingFeedback
  events: AgoraEvents
  metrics: Registry
  gater: TestGater
  /** Graceful: the offer service withdraws, then everything stops. */
  stop(): Promise<void>
}

/** Offers config for tests: short timers, generous per-origin limit. */
export function testOffersInit (overrides: Partial<OfferServiceInit> = {}): OfferServiceInit {
  return {
    ...defaultConfig().offers,
    ttlMs: 30_000,
    reannounceMs: 60_000,
    syncIntervalMs: 5_000,
    perOriginPerMinute: 600,
    zone: 'test',
    trustMode: 'public',
    changeDebounceMs: 20,
    pruneIntervalMs: 100,
    flushIntervalMs: 20,
    syncMinGapMs: 200,
    ...overrides
  }
}

export async function createOfferNode (options: OfferNodeOptions = {}): Promise<OfferNode> {
  const identity = options.identity ?? await generateIdentity()
  const logger = options.logger ?? silentLogger()
  const metrics = createRegistry({ defaultMetrics: false })
  const gater = new TestGater()
  const network = testNetworkConfig(options.network)
  const libp2p = await createLibp2p<AgoraServices>({
    ...libp2pOptions({ privateKey: identity.privateKey, logger, metrics: undefined }, network),
    connectionGater: gater.gater,
    start: false
  })
  // every peer here is 127.0.0.1: past 10 of them (the DHT connects more) gossipsub's IP-colocation
  // penalty (P6) would push them under the publish and graylist thresholds; a real node sees real IPs
  // (the GossipSub interface does not expose the score; the class has it)
  const scored = libp2p.services.pubsub as unknown as { score?: { params?: { IPColocationFactorWhitelist: Set<string> } } }
  if (scored.score?.params !== undefined) scored.score.params.IPColocationFactorWhitelist = new Set(['127.0.0.1'])
  await startAgoraLibp2p(libp2p)
  const store = openStore(options.dataDir === undefined ? ':memory:' : join(options.dataDir, 'agora.db'))
  const events = new AgoraEvents()
  const feedback = new CountingFeedback()
  const registry = new CapabilityRegistry()
  const source = options.source ?? new TestSource()
  source.attach(registry)
  const gossip = new Gossip({ libp2p, logger, metrics }, { publishPerSecond: 1000 })
  const reqresp = new ReqResp({ libp2p, logger, metrics }, { timeouts: { dialMs: 5000 } })
  const info = new InfoService({ reqresp, libp2p })
  const offers = new OfferService({ identity, store, gossip, reqresp, libp2p, registry, peerFeedback: feedback, events, logger, metrics }, testOffersInit(options.offers))
  gossip.start()
  await info.start()
  await reqresp.start()
  if (options.noOffers !== true) await offers.start()
  const address = libp2p.getMultiaddrs()[0]
  if (address === undefined) throw new Error('offer node has no listen address')
  let stopped = false
  return {
    identity, peerId: identity.peerIdString, libp2p, address, gossip, reqresp, info, offers, registry, source, store, feedback, events, metrics, gater,
    stop: async () => {
      if (stopped) return
      stopped = true
      await offers.stop()
      gossip.stop()
      await info.stop()
      await reqresp.stop()
      await libp2p.stop()
      store.close()
    }
  }
}

export class OfferSwarm {
  readonly nodes: OfferNode[] = []
  private readonly dirs: string[] = []
  private cut: Array<[OfferNode, OfferNode]> = []

  /** Create (and start) `count` nodes in parallel. */
  async add (count: number, options: OfferNodeOptions | ((i: number) => OfferNodeOptions) = {}): Promise<OfferNode[]> {
    const base = this.nodes.length
    const made = await Promise.allSettled(Array.from({ length: count }, async (_, i) => await createOfferNode(typeof options === 'function' ? options(base + i) : options)))
    const nodes = made.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
    this.nodes.push(...nodes)
    const failed = made.find(r => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    return nodes
  }

  /** A temp data dir removed at stop. */
  dataDir (): string {
    const dir = tempDir('agora-offers-')
    this.dirs.push(dir)
    return dir
  }

  /** Dial b from a and wait until both identified each other. */
  async connect (a: OfferNode, b: OfferNode, timeoutMs = 5000): Promise<void> {
    if (a.libp2p.getConnections(b.libp2p.peerId).length > 0) return
    const identified = Promise.all([identifiedBy(a, b.peerId, timeoutMs), identifiedBy(b, a.peerId, timeoutMs)])
    identified.catch(() => {})
    await a.libp2p.dial(b.address, { signal: AbortSignal.timeout(timeoutMs) })
    await identified
  }

  /** Each node dials the `degree` nodes before it (a ring with chords), in parallel. */
  async mesh (nodes: OfferNode[] = this.nodes, degree = 3): Promise<void> {
    const pairs = new Map<string, [OfferNode, OfferNode]>()
    for (let i = 0; i < nodes.length; i++) {
      for (let d = 1; d <= Math.min(degree, nodes.length - 1); d++) {
        const j = (i + d) % nodes.length
        pairs.set(`${Math.min(i, j)}-${Math.max(i, j)}`, [nodes[i] as OfferNode, nodes[j] as OfferNode])
      }
    }
    await Promise.all([...pairs.values()].map(async ([a, b]) => { await this.connect(a, b) }))
  }

  /** Wait until every node sees at least `min` subscribers of the offers topic. */
  async topicReady (nodes: OfferNode[] = this.nodes, min = 1, timeoutMs = 10_000): Promise<void> {
    await waitFor('every node to see offers-topic peers', () => nodes.every(n => n.gossip.topicPeers(OFFERS_TOPIC).length >= min), { timeoutMs })
  }

  /** Hang up every connection between the groups and deny dials both ways. */
  async partition (left: OfferNode[], right: OfferNode[]): Promise<void> {
    for (const a of left) for (const b of right) { a.gater.blocked.add(b.peerId); b.gater.blocked.add(a.peerId) }
    const hangUps: Array<Promise<void>> = []
    for (const a of left) {
      for (const b of right) {
        if (a.libp2p.getConnections(b.libp2p.peerId).length === 0) continue
        this.cut.push([a, b])
        hangUps.push(a.libp2p.hangUp(b.libp2p.peerId), b.libp2p.hangUp(a.libp2p.peerId))
      }
    }
    await Promise.allSettled(hangUps)
    await waitFor('the groups to be apart', () => left.every(a => right.every(b => a.libp2p.getConnections(b.libp2p.peerId).length === 0)))
  }

  cutLinks (): number { return this.cut.length }

  /**
   * Allow dials again and restore the cut links — every one, or at most
   * `maxLinksPerNode` per node (the others stay down, as after a real heal
   * before peer managers top up). Nodes that had no link across stay so.
   */
  async heal (left: OfferNode[], right: OfferNode[], options: { maxLinksPerNode?: number } = {}): Promise<void> {
    for (const a of left) for (const b of right) { a.gater.blocked.delete(b.peerId); b.gater.blocked.delete(a.peerId) }
    const max = options.maxLinksPerNode ?? Infinity
    const degree = new Map<OfferNode, number>()
    const links: Array<[OfferNode, OfferNode]> = []
    for (const [a, b] of this.cut) {
      if ((degree.get(a) ?? 0) >= max || (degree.get(b) ?? 0) >= max) continue
      degree.set(a, (degree.get(a) ?? 0) + 1)
      degree.set(b, (degree.get(b) ?? 0) + 1)
      links.push([a, b])
    }
    this.cut = []
    await Promise.all(links.map(async ([a, b]) => { await this.connect(a, b) }))
  }

  /** Stop every node (each within 20 s) and remove the temp dirs; a node that would not stop fails the call. */
  async stop (): Promise<void> {
    try {
      await stopAll(this.nodes, n => `offer node ${n.peerId.slice(-6)}`, async n => { await n.stop() })
    } finally {
      for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** What a node holds, comparable across nodes: "node@lamport" of every valid offer, sorted. */
export function tableOf (node: OfferNode): string[] {
  return node.offers.list().map(o => `${o.node}@${o.lamport}`).sort()
}

