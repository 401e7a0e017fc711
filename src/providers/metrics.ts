/**
 * The providers' metrics, on the node's registry: calls per provider and
 * outcome (counted by the HTTP adapters), and the health and model count of
 * every registered provider (read from the manager when scraped). A registry
 * that already holds a metric (a second manager on the same registry, in
 * tests) shares it.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { HealthStatus } from './inference.ts'

export interface ProviderMetrics {
  requests: Counter<'provider' | 'op' | 'outcome'>
}

/** What the gauges read at scrape time. */
export interface ProviderGaugeSource {
  gaugeRows(): Array<{ provider: string, status: HealthStatus, models: number }>
}

const HEALTH_VALUE: Record<HealthStatus, number> = { healthy: 2, degraded: 1, unhealthy: 0 }

function existing<T> (registry: Registry, name: string, type: abstract new (...args: never[]) => T): T | undefined {
  const metric = registry.getSingleMetric(name)
  return metric instanceof type ? metric : undefined
}

export function createProviderMetrics (registry: Registry | undefined, source?: ProviderGaugeSource): ProviderMetrics | undefined {
  if (registry === undefined) return undefined
  if (source !== undefined && existing(registry, 'agora_provider_health', Gauge) === undefined) {
    new Gauge({
      name: 'agora_provider_health',
      help: 'Health of each inference provider: 2 healthy, 1 degraded, 0 unhealthy',
      labelNames: ['provider'],
      registers: [registry],
      collect () {
        this.reset()
        for (const row of source.gaugeRows()) this.set({ provider: row.provider }, HEALTH_VALUE[row.status])
      }
    })
    new Gauge({
      name: 'agora_provider_models',
      help: 'Models each inference provider lists (cached list)',
      labelNames: ['provider'],
      registers: [registry],
      collect () {
        this.reset()
        for (const row of source.gaugeRows()) this.set({ provider: row.provider }, row.models)
      }
    })
  }
  return {
    requests: existing(registry, 'agora_provider_requests_total', Counter) as Counter<'provider' | 'op' | 'outcome'> | undefined ??
      new Counter({ name: 'agora_provider_requests_total', help: 'Chat and embeddings calls to inference providers, by provider, operation (chat, embeddings) and outcome (ok, error, cancelled)', labelNames: ['provider', 'op', 'outcome'], registers: [registry] })
  }
}
