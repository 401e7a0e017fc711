/** What a running job needs from its coordinator (narrow, so JobRun is testable on its own). */
import type { AgoraEvents } from '../../events.ts'
import type { JobsConfig } from '../constants.ts'
import type { TaskDispatcher } from '../protocol/types.ts'
import type { JobRouterApi } from '../router/types.ts'
import type { JobStore } from '../store/job-store.ts'
import type { CoordinatorMetrics } from './metrics.ts'
import type { JobMarket, PaymentAudits } from './job-payments.ts'
import type { AdaptiveReplication, ChallengeInput, Comparator } from '../../verify/index.ts'
import type { QuorumChecks } from '../check/quorum.ts'
import type { JobAudits } from '../audit/audits.ts'

export interface CoordinatorContext {
  store: JobStore
  router: JobRouterApi
  dispatcher: TaskDispatcher
  events: Pick<AgoraEvents, 'emit'>
  config: Pick<JobsConfig, 'concurrency' | 'maxAttempts' | 'timeouts'> & Partial<Pick<JobsConfig, 'noWorkerTimeoutMs'>>
  selfPeerId: string
  metrics?: CoordinatorMetrics | undefined
  /** The buyer's side of the market: priced subtasks are paid through it (none: nothing is booked). */
  market?: JobMarket | undefined
  /** The comparator of a task type's results, for jobs with redundancy > 1 (none: results are not compared). */
  comparator?: ((taskType: string) => Comparator | undefined) | undefined
  /** Adaptive replication (verify.adaptive): which results of a job without redundancy are cross-checked, and the verdicts. */
  adaptive?: Pick<AdaptiveReplication, 'shouldCheck' | 'record'> | undefined
  /** Workers per subtask of a task type when the job asks for fewer (verify.redundancy). */
  redundancyFor?: ((taskType: string) => number) | undefined
  /** Draw whether a result is a canary, checked against this node's own computation (verify.canaryRate). */
  canary?: (() => boolean) | undefined
  /** The quorum size now (verify status: 1 in bootstrap mode); disagreements escalate to K + 2 fresh workers. */
  quorumK?: (() => number) | undefined
  /** The /24 or /48 a worker sits in (subnets.ts), to spread replicas over networks; none: distinct peer ids only. */
  subnetOf?: ((peerId: string) => string | undefined) | undefined
  /** Verifiers on the network (quorum mode): they check results instead of replicas compared here. */
  quorumChecks?: Pick<QuorumChecks, 'verifiersFor' | 'check' | 'paidByDecision'> | undefined
  /** Whether a result decided here now is provisional (the quorum in bootstrap mode): part of its pay is then held back. */
  provisional?: (() => boolean) | undefined
  /** Held-back pay of provisional results and their audits (verify.holdback). */
  audits?: (PaymentAudits & Pick<JobAudits, 'heldBack'>) | undefined
  /** Gossip the evidence when replicas outvote a worker (a CHALLENGE). */
  challenge?: ((input: ChallengeInput) => void) | undefined
  /** A subtask committed: tell watchers (throttled). */
  progress(jobId: string): void
}

/** The job's plan, as the scheduler asks it. */
export interface RunningPlan {
  jobId: string
  /** Models a worker must serve to run a subtask of `type` with `params` (the constraints' included). */
  modelsOf(type: string, params: Record<string, unknown>): string[]
  /** Input of a subtask planned without one, from its dependencies' results (in `deps` order). */
  bind(subtaskId: string, deps: Array<{ id: string, type: string, result: unknown }>): unknown
}
