/**
 * The coordinator: the node's side of its own jobs. Submission checks the
 * spec, the input size, the params and that some worker can run every task
 * type within the constraints, then plans and persists the whole DAG in one
 * transaction before anyone is told "accepted". Each job then runs as a
 * `JobRun`; at the end its results are aggregated (or, after a failure or a
 * cancel, aggregated partially and kept). On start, every unfinished job in
 * the store resumes: attempts that were out are re-dispatched, committed
 * subtasks are not run again.
 */
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { parseJobParams, planJob } from '../planner/index.ts'
import { FINISHED_JOB_STATES, type Job, type JobConstraints, type JobSpec, type JobSpecInput, type JobState, type Subtask } from '../types.ts'
import { listJobTypes, newJobId, parseSpec } from './spec.ts'
import { JobRun, type RunEnd } from './job-run.ts'
import { createCoordinatorMetrics, type CoordinatorMetrics } from './metrics.ts'
import type { AgoraEvents } from '../../events.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { Database } from '../../store/index.ts'
import type { BlobRef, HeldBack, JobResult, JobsApi, JobTypeInfo, UploadStatus } from '../api-types.ts'
import type { JobsConfig } from '../constants.ts'
import type { AnyExecutor } from '../executors/types.ts'
import type { AnyPlanner, PlanInput, PlanTools } from '../planner/types.ts'
import type { TaskDispatcher } from '../protocol/types.ts'
import type { JobRouterApi } from '../router/types.ts'
import type { CoordinatorContext, RunningPlan } from './context.ts'
import type { AdaptiveReplication, ChallengeInput, Comparator } from '../../verify/index.ts'
import { JobStore } from '../store/job-store.ts'
import { jobHoldId, type JobMarket } from './job-payments.ts'
import { recaptureCommitted } from './recapture.ts'
import { buyByAuction, endAuction, quantitiesOf, type AuctionBought, type AuctionMarket } from './job-auction.ts'
import type { Registry } from 'prom-client'

/** Uploaded inputs, content-addressed (src/jobs/blobs). */
export interface JobBlobs {
  has(hash: string): boolean
  readText(hash: string): string
  beginUpload(size: number): UploadStatus
  append(uploadId: string, offset: number, chunk: Uint8Array): UploadStatus
  complete(uploadId: string, expectedHash?: string): BlobRef
}

export interface CoordinatorComponents {
  db: Database
  router: JobRouterApi
  dispatcher: TaskDispatcher
  blobs: JobBlobs
  /** Chunking for planners (the local embedded engine). */
  tools: PlanTools
  /** The task executors (the worker's table): which models a subtask needs. */
  executors: ReadonlyMap<string, AnyExecutor>
  events: Pick<AgoraEvents, 'emit'>
  logger: AgoraLogger
  metrics?: Registry | undefined
  selfPeerId: string
  /** Pays for priced subtasks (docs/market.md); none: nothing is held or booked. */
  market?: JobMarket | undefined
  /** Buys subtasks by auction (constraints.auction); none: such jobs are refused (E1013). */
  auctions?: { market: AuctionMarket, windowMs: number } | undefined
  /** Compares replicas' results for jobs with redundancy > 1 (docs/verification.md). */
  comparator?: ((taskType: string) => Comparator | undefined) | undefined
  /** Adaptive replication across this node's jobs (verify.adaptive); none: only redundancy checks. */
  adaptive?: Pick<AdaptiveReplication, 'shouldCheck' | 'record'> | undefined
  /** Gossip the evidence when replicas outvote a worker (a CHALLENGE). */
  challenge?: ((input: ChallengeInput) => void) | undefined
  /** Draw whether a result is a canary (verify.canaryRate). */
  canary?: (() => boolean) | undefined
  /** The /24 or /48 a worker sits in, to spread replicas over networks. */
  subnetOf?: ((peerId: string) => string | undefined) | undefined
  /** The quorum size now (verify status). */
  quorumK?: (() => number) | undefined
  /** Verifiers on the network, in quorum mode (jobs/check/quorum.ts). */
  quorumChecks?: CoordinatorContext['quorumChecks']
  /** Workers per subtask of a task type when the job asks for fewer (verify.redundancy). */
  redundancyFor?: ((taskType: string) => number) | undefined
  /** Whether results decided here now are provisional (bootstrap mode), and where their held-back pay waits for its audit. */
  provisional?: CoordinatorContext['provisional']
  audits?: CoordinatorContext['audits']
}

/** How often job:progress may fire per job. */
const PROGRESS_EVERY_MS = 250

interface Active {
  run: JobRun
  done: Promise<void>
}

export class JobCoordinator implements JobsApi {
  private readonly c: CoordinatorComponents
  private readonly config: JobsConfig
  private readonly log: Logger
  private readonly store: JobStore
  private readonly executors: ReadonlyMap<string, AnyExecutor>
  private readonly metrics: CoordinatorMetrics | undefined
  private readonly active = new Map<string, Active>()
  private readonly progressAt = new Map<string, number>()
  private stopping = false

  constructor (components: CoordinatorComponents, config: JobsConfig) {
    this.c = components
    this.config = config
    this.log = components.logger.forComponent('agora:jobs')
    this.store = new JobStore(components.db)
    this.executors = components.executors
    this.metrics = createCoordinatorMetrics(components.metrics)
  }

  /** Resume every unfinished job. */
  async start (): Promise<void> {
    this.stopping = false
    this.releaseFinishedHolds()
    for (const jobId of this.store.unfinished()) {
      try {
        const reset = this.store.resetInterrupted(jobId)
        this.recapture(jobId)
        this.log.info({ job: jobId, redispatch: reset }, 'resuming a job')
        this.drive(jobId)
      } catch (err) {
        // one job that cannot resume (its type gone with jobs.debugTasks, a damaged row) must not keep the node down
        this.log.error({ job: jobId, err: messageOf(err) }, 'cannot resume a job')
        this.finishJob(jobId, { state: 'failed', error: isAgoraError(err) ? err : new AgoraError('E1067', `job ${jobId} cannot resume`, { why: messageOf(err) }) })
      }
    }
  }

  /** Stop running jobs without finishing them: they resume at the next start. */
  async stop (): Promise<void> {
    this.stopping = true
    const pending = [...this.active.values()]
    for (const { run } of pending) run.cancel(new AgoraError('E504', 'the node is stopping'))
    await Promise.allSettled(pending.map(async a => { await a.done }))
    // deferred assignments go to disk before the database closes
    this.store.flush()
  }

  async submit (input: JobSpecInput): Promise<Job> {
    const spec = parseSpec(input)
    const { deadline } = spec.constraints
    // a job that is late before it starts would only fail later with E1063
    if (deadline !== undefined && deadline <= Date.now()) {
      throw new AgoraError('E1012', 'the job\'s deadline has passed', { why: `constraints.deadline ${new Date(deadline).toISOString()} is ${Date.now() - deadline} ms ago`, details: { deadline } })
    }
    this.checkInlineSize(spec)
    const { planner, params } = parseJobParams(spec.type, spec.params, { debugTasks: this.config.debugTasks })
    const models = [...(planner as AnyPlanner).models(params), ...(spec.constraints.models ?? [])]
    for (const taskType of (planner as AnyPlanner).taskTypes(params)) {
      // throws E1020 (nobody runs it) or E1021 (too expensive) before anything is stored
      this.c.router.candidates({ taskType, models, constraints: spec.constraints, remainingBudget: spec.constraints.budget })
    }
    const planned = await planJob(spec, this.resolveInput(spec), this.c.tools, { debugTasks: this.config.debugTasks })
    const id = newJobId()
    const bought = spec.constraints.auction === true ? await this.auction(planned.subtasks, spec.constraints) : undefined
    if (bought !== undefined) spec.constraints = { ...spec.constraints, workers: bought.workers, contracts: bought.contracts }
    // the budget is held before the job exists: a wallet that cannot cover it refuses the job (E1101), nothing is stored; an auction's contracts hold their part
    const budget = (spec.constraints.budget ?? 0) - (bought?.contracted ?? 0)
    try {
      if (budget > 0) this.c.market?.hold(jobHoldId(id), budget, { ref: jobHoldId(id) })
      this.store.insert({ id, type: spec.type, input: spec.input, params: spec.params, constraints: spec.constraints, createdAt: Date.now() }, planned.subtasks)
    } catch (err) {
      if (budget > 0) this.c.market?.release(jobHoldId(id))
      endAuction(this.c.auctions?.market, bought?.contracts, () => {})
      throw err
    }
    // "accepted" only once the hold is on disk
    if (budget > 0) await this.c.market?.durable()
    this.metrics?.submitted.inc({ type: spec.type })
    this.c.events.emit('job:submitted', { jobId: id, type: spec.type, state: 'planned' })
    this.log.info({ job: id, type: spec.type, subtasks: planned.subtasks.length }, 'job submitted')
    this.drive(id)
    return this.store.get(id) as Job
  }

  list (filter: { state?: JobState | undefined, limit?: number | undefined } = {}): Job[] {
    return this.store.list(filter)
  }

  get (jobId: string): Job | undefined {
    const job = this.store.get(jobId)
    const waiting = this.active.get(jobId)?.run.waiting()
    return job === undefined || waiting === undefined ? job : { ...job, waiting }
  }

  subtasks (jobId: string): Subtask[] {
    return this.store.subtasks(jobId)
  }

  heldBack (jobId: string): HeldBack {
    return this.c.audits?.heldBack(jobId) ?? { held: 0, paid: 0, forfeited: 0, nextDueAt: null }
  }

  result (jobId: string): JobResult {
    const job = this.require(jobId)
    if (!FINISHED_JOB_STATES.includes(job.state)) throw new AgoraError('E1061', `job ${jobId} is ${job.state}`, { why: `${job.progress.committed} of ${job.progress.total} subtasks done` })
    return { jobId, state: job.state, partial: job.state !== 'completed', result: this.store.result(jobId) ?? null }
  }

  async cancel (jobId: string): Promise<Job> {
    const job = this.require(jobId)
    if (FINISHED_JOB_STATES.includes(job.state)) throw new AgoraError('E1064', `job ${jobId} is ${job.state} already`)
    const active = this.active.get(jobId)
    if (active !== undefined) {
      active.run.cancel(new AgoraError('E1066', `job ${jobId} was cancelled`))
      await active.done
    } else {
      this.finishJob(jobId, { state: 'cancelled', error: new AgoraError('E1066', `job ${jobId} was cancelled`) })
    }
    return this.require(jobId)
  }

  types (): JobTypeInfo[] {
    return listJobTypes(this.config.debugTasks)
  }

  beginUpload (size: number): UploadStatus {
    return this.c.blobs.beginUpload(size)
  }

  appendUpload (uploadId: string, offset: number, chunk: Uint8Array): UploadStatus {
    return this.c.blobs.append(uploadId, offset, chunk)
  }

  completeUpload (uploadId: string, expectedHash?: string): BlobRef {
    return this.c.blobs.complete(uploadId, expectedHash)
  }

  /** Run a stored job to its end (in the background; errors are logged and fail the job). */
  private drive (jobId: string): void {
    const job = this.store.get(jobId)
    if (job === undefined || this.active.has(jobId)) return
    const { planner, params } = parseJobParams(job.type, job.params, { debugTasks: this.config.debugTasks })
    const plan = this.runningPlan(jobId, planner as AnyPlanner, params, job.constraints.models ?? [])
    const run = new JobRun(this.context(), plan, job.constraints, this.store.planRows(jobId), job.spent)
    if (job.state !== 'running') this.store.setState(jobId, 'running', Date.now())
    this.metrics?.running.inc()
    const done = (job.state === 'aggregating' ? Promise.resolve<RunEnd>({ state: 'completed' }) : run.run())
      .then(end => { if (!this.stopping || end.state === 'completed') this.finishJob(jobId, end, planner as AnyPlanner, params) })
      .catch((err: unknown) => {
        this.log.error({ job: jobId, err: messageOf(err) }, 'a job run failed')
        try {
          this.finishJob(jobId, { state: 'failed', error: isAgoraError(err, 'E1067') ? err : new AgoraError('E1067', `job ${jobId} failed in the coordinator`, { why: messageOf(err) }) }, planner as AnyPlanner, params)
        } catch (again) {
          // the store itself is failing: the job stays unfinished and resumes at the next start
          this.log.error({ job: jobId, err: messageOf(again) }, 'cannot record the job\'s failure')
        }
      })
      .finally(() => {
        this.active.delete(jobId)
        this.progressAt.delete(jobId)
        this.metrics?.running.dec()
      })
    this.active.set(jobId, { run, done })
  }

  private finishJob (jobId: string, end: RunEnd, planner?: AnyPlanner, params?: unknown): void {
    const job = this.store.get(jobId)
    if (job === undefined || FINISHED_JOB_STATES.includes(job.state)) return
    const now = Date.now()
    if (end.state === 'completed' && planner !== undefined) {
      this.store.setState(jobId, 'aggregating', now)
      try {
        const result = planner.aggregate(this.store.results(jobId), params, false)
        this.store.setState(jobId, 'completed', Date.now(), { result })
      } catch (err) {
        const error = isAgoraError(err) ? err : new AgoraError('E1067', `aggregating job ${jobId} failed`, { why: messageOf(err) })
        this.store.setState(jobId, 'failed', Date.now(), { error: error.toJSON() })
      }
    } else {
      const error = end.state === 'completed' ? new AgoraError('E1067', `job ${jobId} has no planner to aggregate with`) : end.error
      this.store.cancelOpen(jobId, now)
      let partial: unknown
      try {
        partial = planner?.aggregate(this.store.results(jobId), params, true)
      } catch (err) {
        this.log.warn({ job: jobId, err: messageOf(err) }, 'no partial result')
      }
      this.store.setState(jobId, end.state === 'completed' ? 'failed' : end.state, now, { error: error.toJSON(), result: partial })
    }
    const finished = this.store.get(jobId) as Job
    this.metrics?.finished.inc({ type: finished.type, state: finished.state })
    // what the budget did not pay for goes back (once; a no-op for a job without a budget)
    this.c.market?.release(jobHoldId(jobId))
    endAuction(this.c.auctions?.market, finished.constraints.contracts, err => { this.log.warn({ job: jobId, err: messageOf(err) }, 'an auction contract was not released') })
    this.emitProgress(finished)
    const event = { jobId, type: finished.type, state: finished.state }
    if (finished.state === 'completed') this.c.events.emit('job:completed', event)
    else if (finished.state === 'cancelled') this.c.events.emit('job:cancelled', event)
    else this.c.events.emit('job:failed', { ...event, code: finished.error?.code ?? 'E1065', message: finished.error?.message ?? 'failed' })
    this.log.info({ job: jobId, state: finished.state, code: finished.error?.code }, 'job finished')
  }

  private context (): CoordinatorContext {
    return {
      store: this.store,
      router: this.c.router,
      dispatcher: this.c.dispatcher,
      events: this.c.events,
      config: this.config,
      selfPeerId: this.c.selfPeerId,
      metrics: this.metrics,
      market: this.c.market,
      comparator: this.c.comparator,
      adaptive: this.c.adaptive,
      challenge: this.c.challenge,
      canary: this.c.canary,
      redundancyFor: this.c.redundancyFor,
      subnetOf: this.c.subnetOf,
      quorumK: this.c.quorumK,
      quorumChecks: this.c.quorumChecks,
      provisional: this.c.provisional,
      audits: this.c.audits,
      progress: jobId => {
        const now = Date.now()
        if (now - (this.progressAt.get(jobId) ?? 0) < PROGRESS_EVERY_MS) return
        this.progressAt.set(jobId, now)
        const job = this.store.get(jobId)
        if (job !== undefined) this.emitProgress(job)
      }
    }
  }

  private async auction (subtasks: ReadonlyArray<{ type: string }>, constraints: JobConstraints): Promise<AuctionBought> {
    if (this.c.auctions === undefined) throw new AgoraError('E1013', 'this node cannot buy subtasks by auction', { why: 'it runs no market' })
    return await buyByAuction(this.c.auctions.market, { quantities: quantitiesOf(subtasks), budget: constraints.budget ?? 0, windowMs: this.c.auctions.windowMs, deadline: constraints.deadline })
  }

  private emitProgress (job: Job): void {
    this.c.events.emit('job:progress', { jobId: job.id, type: job.type, state: job.state, ...job.progress })
  }

  /** A job that finished just before a crash may still hold its budget: give it back (a no-op when it was). */
  private releaseFinishedHolds (): void {
    if (this.c.market === undefined) return
    for (const job of this.store.list({ limit: 1000 })) {
      if (!FINISHED_JOB_STATES.includes(job.state) || (job.constraints.budget ?? 0) === 0) continue
      this.c.market.release(jobHoldId(job.id))
      endAuction(this.c.auctions?.market, job.constraints.contracts, () => {})
    }
  }

  /** After a restart: captures of subtasks committed just before the crash are booked again, their held-back parts too (no-ops when they were). */
  private recapture (jobId: string): void {
    recaptureCommitted({ store: this.store, market: this.c.market, audits: this.c.audits, selfPeerId: this.c.selfPeerId }, jobId)
  }

  private runningPlan (jobId: string, planner: AnyPlanner, params: unknown, constraintModels: string[]): RunningPlan {
    return {
      jobId,
      modelsOf: (type, subtaskParams) => {
        const executor = this.executors.get(type)
        const parsed = executor?.params.safeParse(subtaskParams)
        const needed = parsed?.success === true ? executor?.models?.(parsed.data) ?? [] : []
        return [...new Set([...needed, ...constraintModels])]
      },
      bind: (subtaskId, deps) => {
        const work = this.store.work(jobId, subtaskId)
        const subtask = { id: subtaskId, type: deps[0]?.type ?? '', params: work.params, input: null, deps: deps.map(d => d.id) }
        if (planner.bind === undefined) throw new AgoraError('E1008', `subtask ${subtaskId} has no input and ${planner.type} cannot build one`)
        return planner.bind(subtask, deps, params)
      }
    }
  }

  private resolveInput (spec: JobSpec): PlanInput {
    const input = spec.input
    if (input.kind === 'text') return input
    if (input.kind === 'items') return input
    if (!this.c.blobs.has(input.hash)) throw new AgoraError('E1082', `no uploaded input ${input.hash}`, { why: 'the hash names no completed upload on this node (an upload is kept 24 h after it completes)', hint: 'upload the file first (agora jobs submit --file F does both)' })
    return { kind: 'text', text: this.c.blobs.readText(input.hash) }
  }

  private checkInlineSize (spec: JobSpec): void {
    const input = spec.input
    if (input.kind === 'blob') return
    const bytes = input.kind === 'text' ? Buffer.byteLength(input.text) : Buffer.byteLength(JSON.stringify(input.items))
    if (bytes > this.config.maxInlineInputBytes) {
      throw new AgoraError('E1002', `the job input is ${bytes} bytes, over the inline limit of ${this.config.maxInlineInputBytes}`, {
        why: 'large inputs travel as an uploaded file, not inside the request',
        hint: 'pass it as a file: `agora jobs submit --type T --file F` (uploaded in chunks), or POST /api/v1/uploads then submit {kind: "blob"}'
      })
    }
  }

  private require (jobId: string): Job {
    const job = this.store.get(jobId)
    if (job === undefined) throw new AgoraError('E1060', `no job ${jobId}`)
    return job
  }
}
