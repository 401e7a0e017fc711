/**
 * The peers room's metrics, on the node's registry. A registry that already
 * holds a metric (a second peer book on the same registry) shares it.
 */
import type { Counter} from 'prom-client';
import { type Registry } from 'prom-client'
import { counter } from '../observability/metrics.ts'

export interface PeerBookMetrics {
  observations: Counter<'outcome'>
  bans: Counter<'kind'>
  refused: Counter<'stage'>
}

export interface PeerGuardMetrics {
  reconnects: Counter<'outcome'>
  hangUps: Counter
}

export function createPeerBookMetrics (registry: Registry | undefined): PeerBookMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    observations: counter(registry, 'agora_peer_observations_total', 'Outcomes recorded against peers (success, failure, timeout, invalid)', ['outcome']),
    bans: counter(registry, 'agora_peer_bans_total', 'Peers banned, automatically for a low reputation or by the operator', ['kind']),
    refused: counter(registry, 'agora_peer_gater_refused_total', 'Dials and connections refused because the peer is banned', ['stage'])
  }
}

export function createPeerGuardMetrics (registry: Registry | undefined): PeerGuardMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    reconnects: counter(registry, 'agora_peer_guard_reconnects_total', 'Reconnect attempts to trusted peers', ['outcome']),
    hangUps: counter(registry, 'agora_peer_guard_hang_ups_total', 'Connections closed because the peer is banned', [])
  }
}
