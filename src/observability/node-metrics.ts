/**
 * Node-level metrics: what this node is, how long it has run, how many
 * peers it has, and what the envelope verifier accepted and refused.
 * Values are read at scrape time, so nothing needs updating on a hot path.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

export interface NodeMetricsSources {
  peerId: string
  version: string
  startedAt: number
  connectedPeers: () => number
  knownPeers: () => number
  envelopeStats: () => { accepted: number, rejected: Partial<Record<string, number>> }
}

export function registerNodeMetrics (registry: Registry, sources: NodeMetricsSources): void {
  const info = new Gauge({ name: 'agora_node_info', help: 'Constant 1, labelled with the node\'s peer id and version', labelNames: ['peer_id', 'version'], registers: [registry] })
  info.set({ peer_id: sources.peerId, version: sources.version }, 1)
  new Gauge({ name: 'agora_node_uptime_seconds', help: 'Seconds since the node was created', registers: [registry], collect () { this.set((Date.now() - sources.startedAt) / 1000) } })
  new Gauge({ name: 'agora_peers_connected', help: 'Peers with at least one open connection', registers: [registry], collect () { this.set(sources.connectedPeers()) } })
  new Gauge({ name: 'agora_peers_known', help: 'Peers in the persisted peer book', registers: [registry], collect () { this.set(sources.knownPeers()) } })
  new Counter({
    name: 'agora_envelopes_total',
    help: 'Signed envelopes verified, by outcome (accepted, or the rejection code)',
    labelNames: ['outcome'],
    registers: [registry],
    // the verifier keeps the counts; a scrape copies them (they only grow)
    collect () {
      const stats = sources.envelopeStats()
      this.reset()
      this.inc({ outcome: 'accepted' }, stats.accepted)
      for (const [code, count] of Object.entries(stats.rejected)) this.inc({ outcome: code }, count ?? 0)
    }
  })
}
