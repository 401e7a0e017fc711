/**
 * The gateway's request metrics, on the node's registry (recorded with each
 * metering row). A registry that already holds a metric shares it.
 */
import type { Counter, Histogram} from 'prom-client';
import { type Registry } from 'prom-client'
import { counter, histogram } from '../../observability/metrics.ts'

export interface GatewayRequestMetrics {
  /** Requests by outcome (ok, error, cancelled) and route (local, remote, none). */
  requests: Counter<'outcome' | 'route'>
  /** Tokens by direction (prompt, completion). */
  tokens: Counter<'direction'>
  /** Time to the first token (chat) or to the result (embeddings), by route. */
  firstToken: Histogram<'route'>
  /** Whole request, by route. */
  duration: Histogram<'route'>
  /** Candidates tried per request. */
  attempts: Histogram
}

export function createGatewayRequestMetrics (registry: Registry | undefined): GatewayRequestMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    requests: counter(registry, 'agora_gateway_requests_total', 'Inference requests routed by the gateway, by outcome and route', ['outcome', 'route']),
    tokens: counter(registry, 'agora_gateway_tokens_total', 'Tokens of gateway requests, by direction (prompt, completion)', ['direction']),
    firstToken: histogram(registry, 'agora_gateway_first_token_seconds', 'Time to the first token (chat) or the result (embeddings), by route', ['route'],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]),
    duration: histogram(registry, 'agora_gateway_request_seconds', 'Whole gateway request, by route', ['route'],
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600]),
    attempts: histogram(registry, 'agora_gateway_attempts', 'Candidates tried per gateway request', [], [0, 1, 2, 3, 4, 5, 10])
  }
}
