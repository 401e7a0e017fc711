/**
 * In-process package-search nodes for integration tests and the search
 * benchmark: real libp2p on 127.0.0.1, Gossip, ReqResp, a store (in
 * memory) with the packages tables, the real peer book, the catalogue
 * (gossip + anti-entropy, started unless `catalog: false`), the search
 * index and PackageSearch serving /agora/search/1. Always `stop()` them.
 */
import { AgoraEvents } from '../../src/events.ts'
import { generateIdentity, type NodeIdentity } from '../../src/identity/index.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { createRegistry, type Registry } from '../../src/observability/metrics.ts'
import { PackageCatalog } from '../../src/packages/catalog.ts'
import type { Manifest } from '../../src/packages/manifest.ts'
import { signPackage } from '../../src/packages/package-envelope.ts'
import { PackageRepository } from '../../src/packages/repository.ts'
import { SearchIndex } from '../../src/packages/search-index.ts'
import { PackageSearch, type PackageSearchInit } from '../../src/packages/search.ts'
import { Gossip } from '../../src/p2p/index.ts'
import { PeerBook } from '../../src/peers/index.ts'
import { ReqResp } from '../../src/protocols/index.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import { createTestNode, type TestNode } from './libp2p-nodes.ts'
import { manifestFor } from './search-catalog.ts'
import { stopAll } from './wait.ts'

export interface SearchNode {
  identity: NodeIdentity
  peerId: string
  node: TestNode
  store: Store
  repository: PackageRepository
  peerBook: PeerBook
  gossip: Gossip
  reqresp: ReqResp
  catalog: PackageCatalog
  index: SearchIndex
  search: PackageSearch
  metrics: Registry
  /** Sign a manifest as this node, take it into its own catalogue and gossip it; its CID. */
  publish(over?: Partial<Manifest>): Promise<string>
  stop(): Promise<void>
}

export interface SearchNodeOptions extends Partial<PackageSearchInit> {
  /** Start the catalogue (gossip and anti-entropy); false: it only stores what search brings. */
  catalog?: boolean
}

export async function createSearchNode (options: SearchNodeOptions = {}): Promise<SearchNode> {
  const identity = await generateIdentity()
  const logger = silentLogger()
  const metrics = createRegistry({ defaultMetrics: false })
  const node = await createTestNode({ privateKey: identity.privateKey, network: { dht: { enabled: false } } })
  const store = openStore(':memory:')
  const repository = new PackageRepository(store.db.sqlite)
  const events = new AgoraEvents()
  const peerBook = new PeerBook({ peers: store.peers, events, logger })
  const gossip = new Gossip({ libp2p: node.libp2p, logger }, { publishPerSecond: 1000 })
  const reqresp = new ReqResp({ libp2p: node.libp2p, logger }, { timeouts: { dialMs: 5000 } })
  const catalog = new PackageCatalog({ repository, gossip, reqresp, libp2p: node.libp2p, peerFeedback: peerBook, events, logger }, { maxManifestBytes: 256 * 1024, announcePerPublisherPerMinute: 600 })
  const index = new SearchIndex({ db: store.db.sqlite, reputation: peer => peerBook.reputation(peer) }, { self: identity.peerIdString })
  const search = new PackageSearch({ index, catalog, repository, reqresp, libp2p: node.libp2p, gossip, peerFeedback: peerBook, logger, metrics }, {
    fanout: options.fanout ?? 8,
    timeoutMs: options.timeoutMs ?? 3000,
    perPeerPerMinute: options.perPeerPerMinute ?? 600
  })
  gossip.start()
  await reqresp.start()
  await search.start()
  if (options.catalog !== false) await catalog.start()
  let stopped = false
  return {
    identity, peerId: identity.peerIdString, node, store, repository, peerBook, gossip, reqresp, catalog, index, search, metrics,
    publish: async (over = {}) => {
      const { envelope } = await signPackage(identity, manifestFor(identity.peerIdString, over))
      const stored = await catalog.accept(envelope, 'local')
      await catalog.announce(envelope)
      return stored.cid
    },
    stop: async () => {
      if (stopped) return
      stopped = true
      await search.stop()
      await catalog.stop()
      gossip.stop()
      await reqresp.stop()
      await node.stop()
      store.close()
    }
  }
}

export async function createSearchNodes (count: number, options: SearchNodeOptions | ((i: number) => SearchNodeOptions) = {}): Promise<{ nodes: SearchNode[], stop(): Promise<void> }> {
  const made = await Promise.allSettled(Array.from({ length: count }, async (_, i) => await createSearchNode(typeof options === 'function' ? options(i) : options)))
  const nodes = made.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  const stop = async (): Promise<void> => { await stopAll(nodes, n => `search node ${n.peerId.slice(-6)}`, async n => { await n.stop() }) }
  const failed = made.find(r => r.status === 'rejected')
  if (failed !== undefined) {
    await stop().catch(() => {})
    throw failed.reason
  }
  return { nodes, stop }
}
