/** The router's own metrics (the request counters and histograms live in metering/metrics.ts). */
import { Counter, type Registry } from 'prom-client'

export interface RouterMetrics {
  /** Candidates given up before their first token, by error code. */
  failovers: Counter<'code'>
  /** Circuit-breaker transitions (opened, reopened, closed). */
  breaker: Counter<'transition'>
}

function counter<L extends string> (registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name)
  if (existing instanceof Counter) return existing as Counter<L>
  return new Counter({ name, help, labelNames, registers: [registry] })
}

export function createRouterMetrics (registry: Registry | undefined): RouterMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    failovers: counter(registry, 'agora_gateway_failovers_total', 'Candidates given up before their first token (the next one was tried), by error code', ['code']),
    breaker: counter(registry, 'agora_gateway_breaker_transitions_total', 'Circuit-breaker transitions of local providers and (peer, model) pairs', ['transition'])
  }
}
