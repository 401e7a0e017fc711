/**
 * Request/response metrics. A registry that already holds a metric (two
 * engines on one registry) shares it rather than failing.
 */
import { Counter, Histogram, type Registry } from 'prom-client'

export type BadFrameReason = 'oversized' | 'decode' | 'schema' | 'status' | 'empty'
export type Direction = 'inbound' | 'outbound'

export interface ReqRespMetrics {
  /** Frames dropped: too big, not decodable, failing the schema, unknown status. */
  badFrames: Counter<'protocol' | 'reason'>
  /** Requests by outcome: `ok` or the error code. */
  requests: Counter<'protocol' | 'direction' | 'outcome'>
  /** Inbound requests refused by the per-peer rate limit. */
  rateLimited: Counter<'protocol'>
  duration: Histogram<'protocol' | 'direction'>
}

function counter<L extends string> (registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Counter) return existing as Counter<L>
  return new Counter({ name, help, labelNames, registers: [registry] })
}

function histogram<L extends string> (registry: Registry, name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Histogram) return existing as Histogram<L>
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] })
}

export function createReqRespMetrics (registry: Registry | undefined): ReqRespMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    badFrames: counter(registry, 'agora_reqresp_bad_frames_total', 'Frames dropped because they were oversized, undecodable or invalid', ['protocol', 'reason']),
    requests: counter(registry, 'agora_reqresp_requests_total', 'Requests served (inbound) and made (outbound), by outcome', ['protocol', 'direction', 'outcome']),
    rateLimited: counter(registry, 'agora_reqresp_rate_limited_total', 'Inbound requests refused by the per-peer rate limit (E206)', ['protocol']),
    duration: histogram(registry, 'agora_reqresp_request_duration_seconds', 'Time from opening the stream to the last frame', ['protocol', 'direction'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])
  }
}
