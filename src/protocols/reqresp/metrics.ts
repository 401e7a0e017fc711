/**
 * Request/response metrics. A registry that already holds a metric (two
 * engines on one registry) shares it rather than failing.
 */
import type { Counter, Histogram} from 'prom-client';
import { type Registry } from 'prom-client'
import { counter, histogram } from '../../observability/metrics.ts'

export type BadFrameReason = 'oversized' | 'budget' | 'ahead' | 'decode' | 'schema' | 'status' | 'empty'
export type Direction = 'inbound' | 'outbound'

export interface ReqRespMetrics {
  /** Frames dropped: too big, not decodable, failing the schema, unknown status. */
  badFrames: Counter<'protocol' | 'reason'>
  /** Requests by outcome: `ok` or the error code. */
  requests: Counter<'protocol' | 'direction' | 'outcome'>
  /** Inbound requests refused by the per-peer rate limit. */
  rateLimited: Counter<'protocol'>
  duration: Histogram<'protocol' | 'direction'>
  /** Streams outbound requests went on: `new`, `reused` (from the pool), `stale` (pooled but found closed: asked again on a new one). */
  streams: Counter<'protocol' | 'source'>
}

export function createReqRespMetrics (registry: Registry | undefined): ReqRespMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    badFrames: counter(registry, 'agora_reqresp_bad_frames_total', 'Frames dropped because they were oversized, over the unread-bytes budget, undecodable or invalid', ['protocol', 'reason']),
    requests: counter(registry, 'agora_reqresp_requests_total', 'Requests served (inbound) and made (outbound), by outcome', ['protocol', 'direction', 'outcome']),
    rateLimited: counter(registry, 'agora_reqresp_rate_limited_total', 'Inbound requests refused by the per-peer rate limit (E206)', ['protocol']),
    duration: histogram(registry, 'agora_reqresp_request_duration_seconds', 'Time from opening the stream to the last frame', ['protocol', 'direction'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
    streams: counter(registry, 'agora_reqresp_outbound_streams_total', 'Streams outbound requests went on: new, reused from the pool, or stale (pooled but closed, asked again on a new one)', ['protocol', 'source'])
  }
}
