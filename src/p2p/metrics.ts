/**
 * The p2p room's metrics, on the node's registry. A registry that already
 * holds a metric (a second Gossip on the same registry) shares it.
 */
import type { Counter} from 'prom-client';
import { Gauge, type Registry } from 'prom-client'
import { counter } from '../observability/metrics.ts'

export interface GossipMetrics {
  published: Counter<'topic'>
  rateLimited: Counter<'topic'>
  received: Counter<'topic'>
}

export interface PeerMetrics {
  connected: Gauge
  dials: Counter<'outcome'>
}

function gauge (registry: Registry, name: string, help: string): Gauge {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Gauge) return existing as Gauge
  return new Gauge({ name, help, registers: [registry] })
}

export function createGossipMetrics (registry: Registry | undefined): GossipMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    published: counter(registry, 'agora_gossip_published_total', 'Gossip messages this node published', ['topic']),
    rateLimited: counter(registry, 'agora_gossip_rate_limited_total', 'Publishes refused by the app-side rate limit (E206)', ['topic']),
    received: counter(registry, 'agora_gossip_received_total', 'Gossip messages received and passed to handlers', ['topic'])
  }
}

export function createPeerMetrics (registry: Registry | undefined): PeerMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    connected: gauge(registry, 'agora_peers_connected', 'Peers with at least one open connection'),
    dials: counter(registry, 'agora_peer_manager_dials_total', 'Dials made by the peer manager to reach its target', ['outcome'])
  }
}
