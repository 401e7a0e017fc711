/**
 * `status --detailed`: what the network layer is doing inside — the DHT's
 * mode and routing table, the gossip topics and their meshes, connections
 * against their limit — and the node's main counters since it started.
 */
import type { Registry } from 'prom-client'
import type { AgoraLibp2p } from '../p2p/index.ts'
import type { StatusDetail } from '../client/schemas.ts'

/** The counters shown, summed over their labels: traffic in and out of each room. */
const COUNTERS = [
  'agora_gossip_published_total',
  'agora_gossip_received_total',
  'agora_gossip_rate_limited_total',
  'agora_offers_accepted_total',
  'agora_offers_rejected_total',
  'agora_reqresp_requests_total',
  'agora_reqresp_outbound_streams_total',
  'agora_reqresp_rate_limited_total',
  'agora_peer_manager_dials_total',
  'agora_peer_gater_refused_total',
  'agora_gateway_requests_total',
  'agora_infer_served_total',
  'agora_jobs_submitted_total',
  'agora_jobs_worker_completed_total',
  'agora_market_payments_total'
]

/** The parts of kad-dht and gossipsub read here that their published interfaces leave out. */
interface DhtInside { getMode: () => 'client' | 'server', routingTable?: { size: number } }
interface GossipInside { getTopics: () => string[], getSubscribers: (topic: string) => unknown[], getMeshPeers?: (topic: string) => string[] }

export async function statusDetail (libp2p: AgoraLibp2p, metrics: Registry, maxConnections: number): Promise<StatusDetail> {
  const dht = libp2p.services.dht as unknown as DhtInside | undefined
  const gossip = libp2p.services.pubsub as unknown as GossipInside
  const connections = libp2p.getConnections()
  return {
    dht: dht === undefined
      ? { enabled: false, mode: null, routingTableSize: 0 }
      : { enabled: true, mode: dht.getMode(), routingTableSize: dht.routingTable?.size ?? 0 },
    topics: gossip.getTopics().map(topic => ({ topic, subscribers: gossip.getSubscribers(topic).length, meshPeers: gossip.getMeshPeers?.(topic).length ?? 0 })),
    connections: {
      open: connections.length,
      inbound: connections.filter(c => c.direction === 'inbound').length,
      outbound: connections.filter(c => c.direction === 'outbound').length,
      max: maxConnections,
      streams: connections.reduce((sum, c) => sum + c.streams.length, 0)
    },
    counters: await counters(metrics)
  }
}

async function counters (metrics: Registry): Promise<Record<string, number>> {
  const wanted = new Set(COUNTERS)
  const out: Record<string, number> = {}
  for (const metric of await metrics.getMetricsAsJSON()) {
    if (!wanted.has(metric.name)) continue
    out[metric.name] = metric.values.reduce((sum, v) => sum + v.value, 0)
  }
  return out
}
