/** Worker-side jobs metrics (agora_jobs_worker_*), on the node's registry. */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { counter, gauge, histogram } from '../../observability/metrics.ts'
import { DURATION_BUCKETS } from './constants.ts'

export interface WorkerMetrics {
  /** Offers accepted (a new run, an attach to a running one, or a cached result), by how. */
  accepted: Counter<'how'>
  /** Offers refused, by reason (slots, cpu, memory, type, access, price, deadline, stopping). */
  refused: Counter<'reason'>
  /** Subtasks run to a result. */
  completed: Counter
  /** Subtasks that failed (bad input included), by error code. */
  failed: Counter<'code'>
  /** Subtasks running now. */
  running: Gauge
  /** How long executors ran, by task type. */
  duration: Histogram<'type'>
  /** Result bytes sent by reference and fetched. */
  fetchedBytes: Counter
}

export function createWorkerMetrics (registry: Registry | undefined): WorkerMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    accepted: counter(registry, 'agora_jobs_worker_accepted_total', 'Subtask offers accepted by this worker, by how (run, attach, cached)', ['how']),
    refused: counter(registry, 'agora_jobs_worker_refused_total', 'Subtask offers refused by this worker, by reason', ['reason']),
    completed: counter(registry, 'agora_jobs_worker_completed_total', 'Subtasks this worker ran to a result', []),
    failed: counter(registry, 'agora_jobs_worker_failed_total', 'Subtasks that failed on this worker, by error code', ['code']),
    running: gauge(registry, 'agora_jobs_worker_running', 'Subtasks running on this worker now', []),
    duration: histogram(registry, 'agora_jobs_worker_duration_seconds', 'Run time of subtasks on this worker, by task type', ['type'], DURATION_BUCKETS),
    fetchedBytes: counter(registry, 'agora_jobs_worker_fetched_bytes_total', 'Bytes of large results fetched from this worker by reference', [])
  }
}
