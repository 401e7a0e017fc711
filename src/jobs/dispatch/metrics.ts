/** Coordinator-side dispatch metrics (agora_jobs_dispatch_*), on the node's registry. */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { counter, gauge, histogram } from '../../observability/metrics.ts'

export interface DispatchMetrics {
  /** Attempts by where they ran (local, remote) and outcome (ok or the error code). */
  attempts: Counter<'where' | 'outcome'>
  /** Whole attempts, from the offer to the verified result. */
  duration: Histogram<'where'>
  /** Bytes of results fetched by reference. */
  fetchedBytes: Counter
  /** Bytes of the fetch budget reserved now. */
  fetchReservedBytes: Gauge
  /** Fetches waiting for room in the budget now. */
  fetchWaiting: Gauge
}

export function createDispatchMetrics (registry: Registry | undefined): DispatchMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    attempts: counter(registry, 'agora_jobs_dispatch_attempts_total', 'Subtask attempts dispatched by this coordinator, by where they ran and outcome (ok or error code)', ['where', 'outcome']),
    duration: histogram(registry, 'agora_jobs_dispatch_duration_seconds', 'Subtask attempts from offer to verified result, by where they ran', ['where'],
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600]),
    fetchedBytes: counter(registry, 'agora_jobs_dispatch_fetched_bytes_total', 'Bytes of large results fetched from workers by reference', []),
    fetchReservedBytes: gauge(registry, 'agora_jobs_dispatch_fetch_reserved_bytes', 'Bytes of results being fetched by reference now (announced sizes; bounded by jobs.resultFetchBudgetBytes)', []),
    fetchWaiting: gauge(registry, 'agora_jobs_dispatch_fetch_waiting', 'Fetches of results by reference waiting for room in jobs.resultFetchBudgetBytes', [])
  }
}
