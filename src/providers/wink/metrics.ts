/**
 * The embedded engine's metrics, on the node's registry. A registry that
 * already holds a metric (a second engine on the same registry) shares it.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface WinkMetrics {
  calls: Counter<'op' | 'outcome'>
  callSeconds: Histogram<'op'>
  queued: Gauge
  loadSeconds: Gauge<'part'>
}

function existing<T> (registry: Registry, name: string, type: abstract new (...args: never[]) => T): T | undefined {
  const metric = registry.getSingleMetric(name)
  return metric instanceof type ? metric : undefined
}

export function createWinkMetrics (registry: Registry | undefined): WinkMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    calls: existing(registry, 'agora_wink_calls_total', Counter) as Counter<'op' | 'outcome'> | undefined ??
      new Counter({ name: 'agora_wink_calls_total', help: 'Calls to the embedded NLP engine, by operation and outcome (ok, error, cancelled, refused)', labelNames: ['op', 'outcome'], registers: [registry] }),
    callSeconds: existing(registry, 'agora_wink_call_seconds', Histogram) as Histogram<'op'> | undefined ??
      new Histogram({ name: 'agora_wink_call_seconds', help: 'Time from call to answer of the embedded NLP engine (queue wait included)', labelNames: ['op'], buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10], registers: [registry] }),
    queued: existing(registry, 'agora_wink_queued_calls', Gauge) as Gauge | undefined ??
      new Gauge({ name: 'agora_wink_queued_calls', help: 'Calls waiting for the embedded NLP engine', registers: [registry] }),
    loadSeconds: existing(registry, 'agora_wink_load_seconds', Gauge) as Gauge<'part'> | undefined ??
      new Gauge({ name: 'agora_wink_load_seconds', help: 'How long the last load of the NLP model (nlp) or the word vectors (vectors) took', labelNames: ['part'], registers: [registry] })
  }
}
