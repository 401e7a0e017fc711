/** The jobs router's metrics, on the node's registry (shared when a registry already holds them). */
import { counter, gauge } from '../../observability/metrics.ts'
import type { Counter, Gauge, Registry } from 'prom-client'

export interface JobRouterMetrics {
  /** Workers chosen, by task type. */
  choices: Counter<'task_type'>
  /** Choices where the Thompson draw picked another worker than the best score. */
  explorations: Counter
  /** Explorations / choices over the last `explorationWindow` choices. */
  explorationRatio: Gauge
  /** Requests no worker could take, by reason: `missing` (E1020) or `price` (E1021). */
  noCandidate: Counter<'reason'>
}

export function createJobRouterMetrics (registry: Registry | undefined): JobRouterMetrics | undefined {
  if (registry === undefined) return undefined
  return {
    choices: counter(registry, 'agora_jobs_router_choices_total', 'Workers chosen for subtasks, by task type', ['task_type']),
    explorations: counter(registry, 'agora_jobs_router_explorations_total', 'Choices where the Thompson-sampling draw picked another worker than the best deterministic score', []),
    explorationRatio: gauge(registry, 'agora_jobs_router_exploration_ratio', 'Explorations / choices over a sliding window of recent choices', []),
    noCandidate: counter(registry, 'agora_jobs_router_no_candidate_total', 'Routing requests no worker could take, by reason (missing: E1020, price: E1021)', ['reason'])
  }
}

/** Explorations among the last `size` choices (a ring of flags). */
export class ExplorationWindow {
  private readonly flags: Uint8Array
  private next = 0
  private filled = 0
  private explored = 0

  constructor (size: number) {
    this.flags = new Uint8Array(Math.max(1, size))
  }

  push (explored: boolean): void {
    if (this.filled === this.flags.length) this.explored -= this.flags[this.next] as number
    else this.filled++
    const flag = explored ? 1 : 0
    this.flags[this.next] = flag
    this.explored += flag
    this.next = (this.next + 1) % this.flags.length
  }

  /** Explorations / choices in the window; 0 before the first choice. */
  ratio (): number {
    return this.filled === 0 ? 0 : this.explored / this.filled
  }
}
