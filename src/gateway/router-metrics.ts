/** The router's own metrics (the request counters and histograms live in metering/metrics.ts). */
import type { Counter} from 'prom-client';
import { type Registry } from 'prom-client'
import { counter } from '../observability/metrics.ts'

export interface RouterMetrics {
  /** Candidates given up before their first token, by error code. */
  failovers: Counter<'code'>
  /** Circuit-breaker transitions (opened, reopened, closed). */
  breaker: Counter<'transition'>
}

export function createRouterMetrics (registry: Registry | undefined): RouterMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    failovers: counter(registry, 'agora_gateway_failovers_total', 'Candidates given up before their first token (the next one was tried), by error code', ['code']),
    breaker: counter(registry, 'agora_gateway_breaker_transitions_total', 'Circuit-breaker transitions of local providers and (peer, model) pairs', ['transition'])
  }
}
