/** Coordinator-side dispatch metrics (agora_jobs_dispatch_*), on the node's registry. */
import { Gauge, type Counter, type Histogram, type Registry } from 'prom-client'
import { counter, histogram } from '../../observability/metrics.ts'
import type { ResultFetchBudget } from './fetch-budget.ts'

export interface DispatchMetrics {
  /** Attempts by where they ran (local, remote) and outcome (ok or the error code). */
  attempts: Counter<'where' | 'outcome'>
  /** Whole attempts, from the offer to the verified result. */
  duration: Histogram<'where'>
  /** Bytes of results fetched by reference. */
  fetchedBytes: Counter
}

/** The metrics, and gauges of `budget` read at each scrape. */
export function createDispatchMetrics (registry: Registry | undefined, budget: Pick<ResultFetchBudget, 'reserved' | 'waiting'>): DispatchMetrics | undefined {
  if (registry === undefined) return undefined
  if (registry.getSingleMetric('agora_jobs_dispatch_fetch_reserved_bytes') === undefined) {
    new Gauge({ name: 'agora_jobs_dispatch_fetch_reserved_bytes', help: 'Bytes of results being fetched by reference now (announced sizes; bounded by jobs.resultFetchBudgetBytes)', registers: [registry], collect () { this.set(budget.reserved) } })
    new Gauge({ name: 'agora_jobs_dispatch_fetch_waiting', help: 'Fetches of results by reference waiting for room in jobs.resultFetchBudgetBytes', registers: [registry], collect () { this.set(budget.waiting) } })
  }
  return {
    attempts: counter(registry, 'agora_jobs_dispatch_attempts_total', 'Subtask attempts dispatched by this coordinator, by where they ran and outcome (ok or error code)', ['where', 'outcome']),
    duration: histogram(registry, 'agora_jobs_dispatch_duration_seconds', 'Subtask attempts from offer to verified result, by where they ran', ['where'],
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600]),
    fetchedBytes: counter(registry, 'agora_jobs_dispatch_fetched_bytes_total', 'Bytes of large results fetched from workers by reference', [])
  }
}
