/**
 * Market nodes for integration tests and benchmarks: an offer node (real
 * libp2p on 127.0.0.1, ReqResp, the info protocol, an OfferService, a store
 * in memory) with a PeerBook, an EnvelopeVerifier on the store's replay
 * guard, and a MarketService on top (its auction on the node's gossip).
 * Always `stop()` what you make.
 */
import type { AgoraEventMap, AgoraEventName, AgoraEvents } from '../../src/events.ts'
import { EnvelopeVerifier } from '../../src/identity/index.ts'
import { MarketService, type MarketServiceInit } from '../../src/market/index.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { PeerBook } from '../../src/peers/index.ts'
import { identifiedBy } from './libp2p-nodes.ts'
import { createOfferNode, type OfferNode, type TestSource } from './offer-nodes.ts'
import { stopAll, waitFor } from './wait.ts'
import type { AgoraConfig } from '../../src/config/schema.ts'

export interface MarketNodeOptions {
  market?: MarketServiceInit
  /** What the node's offer asks (credits, as config writes them). */
  prices?: Partial<AgoraConfig['offers']['prices']>
  source?: TestSource
  /** Keep the store on disk here (the ledger's commits then really reach the disk); in memory otherwise. */
  dataDir?: string
}

export interface MarketTestNode {
  node: OfferNode
  peerId: string
  market: MarketService
  peerBook: PeerBook
  events: AgoraEvents
  /** Events seen, in order. */
  seen: Array<[AgoraEventName, unknown]>
  stop(): Promise<void>
}

const WATCHED: AgoraEventName[] = [
  'contract:proposed', 'contract:accepted', 'contract:rejected', 'contract:settled', 'contract:refunded',
  'contract:expired', 'contract:cancelled', 'payment:sent', 'payment:received', 'payment:refused',
  'need:created', 'need:proposal', 'need:decided', 'need:failed', 'need:proposed', 'need:awarded'
]

export async function createMarketNode (options: MarketNodeOptions = {}): Promise<MarketTestNode> {
  const prices = { perTask: '0', per1kPromptTokens: '0', per1kCompletionTokens: '0', ...options.prices }
  const node = await createOfferNode({
    offers: { prices },
    ...(options.source === undefined ? {} : { source: options.source }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir })
  })
  const logger = silentLogger()
  const peerBook = new PeerBook({ peers: node.store.peers, events: node.events, logger })
  const envelopes = new EnvelopeVerifier({ replay: node.store.replay }, { selfPeerId: node.peerId })
  const market = new MarketService({
    db: node.store.db, identity: node.identity, reqresp: node.reqresp, envelopes, peerBook, offers: node.offers, gossip: node.gossip, events: node.events, logger, metrics: node.metrics
  }, options.market)
  const seen: Array<[AgoraEventName, unknown]> = []
  for (const name of WATCHED) node.events.on(name, (payload: AgoraEventMap[typeof name]) => { seen.push([name, payload]) })
  try {
    await market.start()
  } catch (err) {
    await node.stop()
    throw err
  }
  let stopped = false
  return {
    node, peerId: node.peerId, market, peerBook, events: node.events, seen,
    stop: async () => {
      if (stopped) return
      stopped = true
      await market.stop()
      await node.stop()
    }
  }
}

/** Events of one name a node saw. */
export function seenOf<K extends AgoraEventName> (node: MarketTestNode, name: K): Array<AgoraEventMap[K]> {
  return node.seen.filter(([n]) => n === name).map(([, payload]) => payload as AgoraEventMap[K])
}

/** Connect the buyer to a seller and wait until the buyer holds the seller's offer; its id. */
export async function meet (buyer: MarketTestNode, seller: MarketTestNode, timeoutMs = 15_000): Promise<string> {
  const identified = Promise.all([identifiedBy(buyer.node, seller.peerId, 5000), identifiedBy(seller.node, buyer.peerId, 5000)])
  identified.catch(() => {})
  await buyer.node.libp2p.dial(seller.node.address, { signal: AbortSignal.timeout(5000) })
  await identified
  const offerId = await waitFor('the seller\'s own offer', () => seller.node.offers.local()?.id)
  await waitFor('the buyer to hold the seller\'s offer', () => buyer.node.offers.get(offerId), { timeoutMs })
  return offerId
}

/** Several market nodes at once; when one fails to start, the others are stopped and its error thrown. */
export async function createMarketNodes (...options: MarketNodeOptions[]): Promise<MarketTestNode[]> {
  const made = await Promise.allSettled(options.map(async o => await createMarketNode(o)))
  const ok = made.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  const failed = made.find(r => r.status === 'rejected')
  if (failed !== undefined) {
    await stopMarketNodes(ok)
    throw failed.reason
  }
  return ok
}

/** Stop every node, each within the harness's bound (one that hangs fails the call). */
export async function stopMarketNodes (list: MarketTestNode[]): Promise<void> {
  await stopAll(list, n => `market node ${n.peerId.slice(-6)}`, async n => { await n.stop() })
}
