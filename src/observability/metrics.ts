/**
 * The node's Prometheus registry. Each subsystem declares its metrics in one
 * typed file (`<room>/metrics.ts`) against this registry; libp2p's own
 * metrics join it through @libp2p/prometheus-metrics. Names end in
 * `_total` / `_seconds` / `_bytes`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export type { Registry }

export interface MetricsInit {
  /** Collect process metrics (CPU, memory, event loop lag). */
  defaultMetrics?: boolean
}

export function createRegistry (init: MetricsInit = {}): Registry {
  const registry = new Registry()
  if (init.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'agora_' })
    // prom-client names three gauges *_total (sums of the per-type gauges beside them): a gauge never ends in _total
    for (const total of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`agora_nodejs_active_${total}_total`)
  }
  return registry
}

/**
 * Get-or-create helpers for the typed metrics files: a registry can outlive
 * one component (a restart in the same process, two services sharing a
 * metric), and prom-client refuses to register a name twice.
 */
export function counter<L extends string> (registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Counter) return existing as Counter<L>
  return new Counter({ name, help, labelNames, registers: [registry] })
}

export function histogram<L extends string> (registry: Registry, name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Histogram) return existing as Histogram<L>
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] })
}

export function gauge<L extends string> (registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Gauge) return existing as Gauge<L>
  return new Gauge({ name, help, labelNames, registers: [registry] })
}
