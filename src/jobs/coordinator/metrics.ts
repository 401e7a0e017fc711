/** The coordinator's metrics (workers and the router keep their own). */
import { counter, gauge, histogram } from '../../observability/metrics.ts'
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface CoordinatorMetrics {
  submitted: Counter<'type'>
  finished: Counter<'type' | 'state'>
  /** Subtask attempts by outcome (success, refused, failure, timeout, invalid). */
  attempts: Counter<'outcome'>
  /** Results of an attempt that was no longer current (ignored by idempotency key). */
  duplicates: Counter
  /** Dispatch to committed result, per subtask attempt. */
  dispatchSeconds: Histogram
  running: Gauge
  /** Results cross-checked, by task type, method (replicas, canary) and verdict: outvoted and inconclusive are disagreements, a canary outvoted is a canary failed. */
  checks: Counter<'type' | 'method' | 'verdict'>
}

export function createCoordinatorMetrics (registry: Registry | undefined): CoordinatorMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    submitted: counter(registry, 'agora_jobs_submitted_total', 'Jobs submitted to this node, by type', ['type']),
    finished: counter(registry, 'agora_jobs_finished_total', 'Jobs finished, by type and final state', ['type', 'state']),
    attempts: counter(registry, 'agora_jobs_subtask_attempts_total', 'Subtask attempts dispatched by this node, by outcome', ['outcome']),
    duplicates: counter(registry, 'agora_jobs_duplicate_results_total', 'Late results of a reassigned attempt, ignored', []),
    dispatchSeconds: histogram(registry, 'agora_jobs_subtask_seconds', 'Dispatch to committed result of one subtask attempt', [],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]),
    running: gauge(registry, 'agora_jobs_running', 'Jobs this node is coordinating now', []),
    checks: counter(registry, 'agora_verify_checks_total', 'Results this node cross-checked as a coordinator, by task type, method (replicas, canary) and verdict (outvoted, inconclusive: disagreements)', ['type', 'method', 'verdict'])
  }
}
