/**
 * /agora/infer/1 metrics, on the node's registry. A registry that already
 * holds a metric (two nodes on one registry in tests) shares it.
 */
import type { Counter} from 'prom-client';
import { Histogram, type Registry } from 'prom-client'
import { counter } from '../../observability/metrics.ts'

export interface InferServerMetrics {
  /** Requests served to peers, by op and outcome (`ok`, `cancelled` or the error code). */
  served: Counter<'op' | 'outcome'>
}

export interface InferClientMetrics {
  /** Requests made to peers, by op and outcome (`ok`, `abandoned` or the error code: E910–E913 are the named timeouts). */
  requests: Counter<'op' | 'outcome'>
  /** From the call to the first frame (dial included). */
  firstFrame: Histogram
}

export function createInferServerMetrics (registry: Registry | undefined): InferServerMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    served: counter(registry, 'agora_infer_served_total', 'Inference requests served to peers over /agora/infer/1, by op and outcome', ['op', 'outcome'])
  }
}

export function createInferClientMetrics (registry: Registry | undefined): InferClientMetrics | undefined {
  if (registry === undefined) return undefined
  const name = 'agora_infer_remote_first_frame_seconds'
  const existing = registry.getSingleMetric(name)
  return {
    requests: counter(registry, 'agora_infer_remote_requests_total', 'Inference requests sent to peers over /agora/infer/1, by op and outcome', ['op', 'outcome']),
    firstFrame: existing instanceof Histogram
      ? existing as Histogram
      : new Histogram({ name, help: 'Time from a remote inference call to its first answer frame (dial included)', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry] })
  }
}
