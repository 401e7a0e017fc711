/**
 * The node's Prometheus registry. Each subsystem declares its metrics in one
 * typed file (`<room>/metrics.ts`) against this registry; libp2p's own
 * metrics join it through @libp2p/prometheus-metrics. Names end in
 * `_total` / `_seconds` / `_bytes`.
 */
import { Registry, collectDefaultMetrics } from 'prom-client'

export type { Registry }

export interface MetricsInit {
  /** Collect process metrics (CPU, memory, event loop lag). */
  defaultMetrics?: boolean
}

export function createRegistry (init: MetricsInit = {}): Registry {
  const registry = new Registry()
  if (init.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'agora_process_' })
  return registry
}
