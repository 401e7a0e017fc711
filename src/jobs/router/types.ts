/**
 * The jobs router's contract: which workers can run a subtask, and which one
 * to try next. Candidates come from offers (and this node, a candidate like
 * any other); the choice mixes a deterministic score with a Thompson-sampling
 * draw over each worker's successes and failures for the task type.
 */
import type { Micro } from '../../market/amount.ts'
import type { AttemptOutcome, JobConstraints } from '../types.ts'

export interface RouteRequest {
  taskType: string
  /** Models the worker must serve (the executor's `models(params)` plus the constraints'). */
  models: string[]
  constraints: JobConstraints
  /** Micro-credits the job has left (budget − spent − reserved); undefined: no budget. */
  remainingBudget?: Micro | undefined
  /** Workers not to choose (already tried on this subtask) unless nobody else is left. */
  exclude?: ReadonlySet<string>
}

export interface WorkerCandidate {
  peerId: string
  local: boolean
  /** Per-task price from the worker's offer, micro-credits. */
  price: Micro
  /** Idle slots the offer advertised. */
  slotsIdle: number
  reputation: number
  /** Ping EWMA, ms; null when unknown. */
  latencyMs: number | null
  /** Our subtasks running there now. */
  inFlight: number
  /** Deterministic score, higher is better. */
  score: number
}

export interface RouteChoice {
  candidate: WorkerCandidate
  /** True when the Thompson draw picked another worker than the best score would have. */
  explored: boolean
}

export interface JobRouterApi {
  /**
   * Every worker able to run the request, best score first. Throws E1020 when
   * none is (details: what is missing, the closest offers), E1021 when the
   * budget or max price is below the cheapest candidate.
   */
  candidates(request: RouteRequest): WorkerCandidate[]
  /** The worker to try next (throws like `candidates`). */
  choose(request: RouteRequest): RouteChoice
  /** Our subtasks running on a worker (load), around each attempt. */
  begin(peerId: string): void
  end(peerId: string): void
  /** An attempt's outcome, for the bandit (refusals are not counted as failures) and the peer book. */
  record(peerId: string, taskType: string, outcome: AttemptOutcome): void
}
