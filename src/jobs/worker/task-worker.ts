/**
 * Runs subtasks for coordinators, the same way whether the offer came over
 * /agora/task/1 (TaskServer) or from this node's own dispatcher. In order:
 * access (trust mode, bans) → stopping → a finished key returns its cached
 * result, a running key attaches → known type → deadline → price → the
 * coordinator's credit with us (market, priced work only) → resources
 * (slots, CPU, memory) → input and params against the executor's schemas
 * (E1044) → run with progress, heartbeats and a signed receipt, booked in
 * the market (durably) before it leaves, so the coordinator's payment proof
 * for it can be checked. Work for this node's own jobs is free.
 * A refusal is an event, not an error; failures throw AgoraError. The
 * caller's signal aborting (stream gone) leaves the execution, and the last
 * caller leaving aborts the executor.
 */
import { AgoraError, isAgoraError } from '../../errors.ts'
import { formatCredits, parseCredits, type Micro } from '../../market/amount.ts'
import { problemOf } from '../protocol/problem.ts'
import { canonicalJson, sha256Hex } from '../protocol/hash.ts'
import { signReceipt, taskReceiptId } from '../protocol/receipt.ts'
import { TASK_MAX_RESULT_BYTES } from '../protocol/constants.ts'
import { WORKER_DEFAULTS } from './constants.ts'
import { Execution, type ExecutionOutcome } from './execution.ts'
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts'
import { ResultCache, type CachedResult } from './result-cache.ts'
import type { Resources } from './resources.ts'
import type { AccessControl } from '../../gateway/access/index.ts'
import type { MarketApi } from '../../market/types.ts'
import type { NodeIdentity } from '../../identity/index.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { AnyExecutor, ExecutorContext } from '../executors/types.ts'
import type { RefusalReason, TaskAssignment } from '../protocol/types.ts'
import type { ModelKind } from '../../providers/registry.ts'
import type { Registry } from 'prom-client'

/** What executors may use on this node (the node wires them to its local providers). */
export type WorkerServices = Pick<ExecutorContext, 'wink' | 'chat' | 'embed'>

export interface TaskWorkerComponents {
  /** Signs receipts; its peer id is the worker's. */
  identity: NodeIdentity
  access: Pick<AccessControl, 'evaluate'>
  executors: ReadonlyMap<string, AnyExecutor>
  resources: Resources
  services: WorkerServices
  /** The seller's side of the market: credit limits and receipts issued (none: priced work is not booked). */
  market?: Pick<MarketApi, 'admit' | 'issue' | 'durable'> | undefined
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface TaskWorkerInit {
  /** Micro-credits asked per subtask (offers.prices.perTask). */
  pricePerTask?: Micro
  /** Run the debug executors (jobs.debugTasks). */
  debugTasks?: boolean
  progressThrottleMs?: number
  heartbeatMs?: number
  cacheEntries?: number
  cacheBytes?: number
  /** Largest result (canonical JSON bytes) sent; larger fails with E1048. */
  maxResultBytes?: number
  retryAfterMs?: number
  now?: () => number
}

type ResultFacts = Pick<CachedResult, 'bytes' | 'hash' | 'price' | 'startedAt' | 'finishedAt'>

export interface WorkerResult {
  type: 'result'
  /** The size in bytes of the result's canonical JSON, and its sha256. */
  bytes: number
  hash: string
  /** The signed RECEIPT, encoded. */
  receipt: string
  /** The result as a value. */
  result(): unknown
}

export type WorkerEvent =
  | { type: 'accepted', slotsIdle: number }
  | { type: 'refused', reason: RefusalReason, retryAfterMs?: number, message: string }
  | { type: 'progress', fraction: number }
  | WorkerResult

type Refusal = Extract<WorkerEvent, { type: 'refused' }>

export class TaskWorker {
  /** This worker's peer id. */
  readonly self: string
  readonly cache: ResultCache
  private readonly c: TaskWorkerComponents
  private readonly log: Logger
  private readonly metrics: WorkerMetrics | undefined
  private price: Micro
  private readonly debugTasks: boolean
  private readonly throttleMs: number
  private readonly heartbeatMs: number
  private readonly maxResultBytes: number
  private readonly retryAfterMs: number
  private readonly now: () => number
  private readonly running = new Map<string, Execution>()
  private stopping = false

  constructor (components: TaskWorkerComponents, init: TaskWorkerInit = {}) {
    this.c = components
    this.self = components.identity.peerIdString
    this.log = components.logger.forComponent('agora:jobs:worker')
    this.metrics = createWorkerMetrics(components.metrics)
    this.price = init.pricePerTask ?? WORKER_DEFAULTS.pricePerTask
    this.debugTasks = init.debugTasks ?? false
    this.throttleMs = init.progressThrottleMs ?? WORKER_DEFAULTS.progressThrottleMs
    this.heartbeatMs = init.heartbeatMs ?? WORKER_DEFAULTS.heartbeatMs
    this.maxResultBytes = init.maxResultBytes ?? TASK_MAX_RESULT_BYTES
    this.retryAfterMs = init.retryAfterMs ?? WORKER_DEFAULTS.retryAfterMs
    this.now = init.now ?? Date.now
    this.cache = new ResultCache({ maxEntries: init.cacheEntries, maxBytes: init.cacheBytes })
  }

  /** Ask another price per subtask from now on (offers.prices.perTask changed at run time). */
  setPricePerTask (price: Micro): void {
    this.price = price
  }

  /** Take offers again (after a stop). */
  start (): void {
    this.stopping = false
  }

  /** Refuse new offers ('stopping') and abort what runs (E1049); resolves when every execution has its outcome. */
  async stop (): Promise<void> {
    this.stopping = true
    const executions = [...this.running.values()]
    for (const execution of executions) execution.abort(new AgoraError('E1049', `the worker stopped while running ${execution.key}`))
    await Promise.allSettled(executions.map(async execution => await execution.done))
  }

  /** Per-task price asked, micro-credits. */
  get pricePerTask (): Micro {
    return this.price
  }

  /** The task types this worker runs (debug ones only with jobs.debugTasks); given the kinds of model served here, only those it has a model for. */
  taskTypes (served?: ReadonlySet<ModelKind>): string[] {
    return [...this.c.executors.values()]
      .filter(e => this.enabled(e) && (served === undefined || e.modelKind === undefined || served.has(e.modelKind)))
      .map(e => e.type).sort()
  }

  /** Executions in progress (attached callers share one). */
  get runningCount (): number {
    return this.running.size
  }

  /** Run (or attach to, or replay) one assignment for `coordinator`: its events, in order. */
  async * run (coordinator: string, assignment: TaskAssignment, signal: AbortSignal): AsyncGenerator<WorkerEvent, void, undefined> {
    const refusal = this.admit(coordinator)
    if (refusal !== undefined) {
      yield this.refuse(refusal, assignment)
      return
    }
    const cached = this.cache.get(coordinator, assignment.key)
    if (cached !== undefined) {
      if (assignment.maxPrice !== undefined && parseCredits(assignment.maxPrice, 'maxPrice') < cached.price) {
        yield this.refuse({ reason: 'price', message: `the result was made at ${formatCredits(cached.price)} credits, over the ${assignment.maxPrice} offered` }, assignment)
        return
      }
      this.metrics?.accepted.inc({ how: 'cached' })
      yield { type: 'accepted', slotsIdle: this.c.resources.idleSlots() }
      yield await this.resultEvent(cached, coordinator, assignment, () => JSON.parse(cached.utf8.toString('utf8')) as unknown)
      return
    }
    let execution = this.running.get(runId(coordinator, assignment.key))
    let how = 'attach'
    if (execution === undefined || execution.aborted) {
      const started = this.begin(coordinator, assignment)
      if (!(started instanceof Execution)) {
        yield this.refuse(started, assignment)
        return
      }
      execution = started
      how = 'run'
    }
    this.metrics?.accepted.inc({ how })
    const leave = execution.join(() => new AgoraError('E1050', `the coordinator left ${assignment.key}`))
    try {
      yield { type: 'accepted', slotsIdle: this.c.resources.idleSlots() }
      const progress = execution.follow(signal, { throttleMs: this.throttleMs, heartbeatMs: this.heartbeatMs })
      let next = await progress.next()
      while (next.done !== true) {
        yield { type: 'progress', fraction: next.value }
        next = await progress.next()
      }
      const outcome = next.value
      if (!outcome.ok) throw outcome.error
      yield await this.resultEvent(this.factsOf(execution, outcome, coordinator), coordinator, assignment, () => outcome.result)
    } finally {
      leave()
    }
  }

  /** A finished result held for `coordinator` under `key` with this hash; E1046 when it is not (or no longer) held. */
  fetch (coordinator: string, key: string, hash: string): CachedResult {
    const entry = this.cache.get(coordinator, key)
    if (entry === undefined || entry.hash !== hash) {
      throw new AgoraError('E1046', `no result for ${key} with hash ${hash.slice(0, 12)}… here`, { why: entry === undefined ? 'not held (evicted, or never made)' : 'another result is held for that key' })
    }
    this.metrics?.fetchedBytes.inc(entry.bytes)
    return entry
  }

  private enabled (executor: AnyExecutor): boolean {
    return executor.debug !== true || this.debugTasks
  }

  private admit (coordinator: string): Omit<Refusal, 'type'> | undefined {
    const denied = this.c.access.evaluate(coordinator, {})
    if (denied !== undefined) {
      const retryAfterMs = denied.details?.retryAfterMs
      return { reason: 'access', message: `${denied.code}: ${denied.what}`, ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}) }
    }
    if (this.stopping) return { reason: 'stopping', message: 'the worker is stopping' }
    return undefined
  }

  /** The checks before a new run, then the run itself. */
  private begin (coordinator: string, assignment: TaskAssignment): Refusal | Execution {
    const refused = (reason: RefusalReason, message: string, retryAfterMs?: number): Refusal =>
      ({ type: 'refused', reason, message, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) })
    const executor = this.c.executors.get(assignment.type)
    if (executor === undefined || !this.enabled(executor)) return refused('type', `unknown task type ${assignment.type}; this worker runs ${this.taskTypes().join(', ') || 'none'}`)
    const now = this.now()
    if (assignment.deadline !== undefined && assignment.deadline <= now) return refused('deadline', `the deadline passed ${now - assignment.deadline} ms ago`)
    const price = this.priceFor(coordinator)
    if (assignment.maxPrice !== undefined && parseCredits(assignment.maxPrice, 'maxPrice') < price) return refused('price', `this worker asks ${formatCredits(price)} credits per task, over the ${assignment.maxPrice} offered`)
    const credit = this.creditFor(coordinator, price, assignment.type)
    if (credit instanceof AgoraError) return refused('credit', `${credit.code}: ${credit.what}${credit.why === undefined ? '' : ` — ${credit.why}`}`, this.retryAfterMs)
    const slot = this.c.resources.tryAcquire()
    if (typeof slot === 'string') {
      credit()
      return refused(slot, resourceMessage(slot, this.c.resources), this.retryAfterMs)
    }
    const input = executor.input.safeParse(assignment.input)
    const params = input.success ? executor.params.safeParse(assignment.params) : undefined
    if (!input.success || params?.success !== true) {
      slot()
      credit()
      const why = !input.success ? `input: ${problemOf(input.error)}` : `params: ${params === undefined ? 'invalid' : problemOf(params.error)}`
      this.metrics?.failed.inc({ code: 'E1044' })
      throw new AgoraError('E1044', `invalid ${assignment.type} subtask`, { why })
    }
    const execution = new Execution({ coordinator, key: assignment.key, type: assignment.type, startedAt: now }, async (signal, self) =>
      await this.execute(executor, input.data, params.data, signal, self))
    // the slot comes back when the executor really returns (after its outcome, when it ignored an abort)
    void execution.exited.finally(slot)
    const id = runId(coordinator, assignment.key)
    this.running.set(id, execution)
    this.metrics?.running.inc()
    // a deadline further out than a timer can hold (~24 days) is left to the coordinator's total timeout
    const timer = assignment.deadline === undefined || assignment.deadline - now > MAX_TIMER_MS
      ? undefined
      : setTimeout(() => { execution.abort(new AgoraError('E1047', `the deadline of ${assignment.key} passed on the worker`)) }, assignment.deadline - now)
    const clock = performance.now()
    void execution.done.then(outcome => {
      clearTimeout(timer)
      if (this.running.get(id) === execution) this.running.delete(id)
      this.metrics?.running.dec()
      this.metrics?.duration.observe({ type: assignment.type }, (performance.now() - clock) / 1000)
      if (outcome.ok) {
        this.metrics?.completed.inc()
        this.cache.set(this.entryOf(execution, outcome))
        // the work is done and held for the coordinator: its receipt is owed, and takes over the credit reserved for it
        if (price > 0) this.c.market?.issue({ receiptId: taskReceiptId(assignment.key), buyer: coordinator, amount: price, what: assignment.type })
        credit()
      } else {
        credit()
        this.metrics?.failed.inc({ code: outcome.error.code })
        this.log.debug({ key: assignment.key, code: outcome.error.code, why: outcome.error.why }, 'subtask failed')
      }
    })
    return execution
  }

  private async execute (executor: AnyExecutor, input: unknown, params: unknown, signal: AbortSignal, execution: Execution): Promise<ExecutionOutcome> {
    const context: ExecutorContext = { signal, workerId: this.self, progress: fraction => { execution.progress(fraction) }, ...this.c.services }
    let result: unknown
    try {
      result = await executor.run(input, params, context) as unknown
    } catch (err) {
      if (signal.aborted && signal.reason instanceof AgoraError) throw signal.reason
      if (isAgoraError(err)) throw err
      throw new AgoraError('E1044', `the ${executor.type} executor failed`, { why: problemOf(err), cause: err })
    }
    const json = canonicalJson(result)
    const bytes = Buffer.byteLength(json)
    if (bytes > this.maxResultBytes) throw new AgoraError('E1048', `the ${executor.type} result is too large`, { why: `${bytes} bytes, the limit is ${this.maxResultBytes}` })
    return { ok: true, result, json, bytes, hash: sha256Hex(json), finishedAt: this.now() }
  }

  /** The entry kept in the cache: the result encoded once, in a buffer of its own (not a slice of Node's shared pool, which the cache's byte count would not see). */
  private entryOf (execution: Execution, outcome: Extract<ExecutionOutcome, { ok: true }>): CachedResult {
    const utf8 = Buffer.allocUnsafeSlow(outcome.bytes)
    utf8.write(outcome.json, 'utf8')
    return { coordinator: execution.coordinator, key: execution.key, type: execution.type, utf8, ...this.factsOf(execution, outcome) }
  }

  /** What a receipt and a result event need of a result. */
  private factsOf (execution: Execution, outcome: Extract<ExecutionOutcome, { ok: true }>, coordinator = execution.coordinator): ResultFacts {
    return { bytes: outcome.bytes, hash: outcome.hash, price: this.priceFor(coordinator), startedAt: execution.startedAt, finishedAt: outcome.finishedAt }
  }

  /** What this worker asks of a coordinator: nothing of its own node. */
  private priceFor (coordinator: string): Micro {
    return coordinator === this.self ? 0 : this.price
  }

  /**
   * The coordinator's credit with us for `price` more: a release of the amount
   * reserved (call it once the receipt is issued or the work failed), or why
   * the credit does not cover it (E1102).
   */
  private creditFor (coordinator: string, price: Micro, type: string): AgoraError | (() => void) {
    if (price === 0 || this.c.market === undefined) return () => {}
    try {
      return this.c.market.admit(coordinator, price, type)
    } catch (err) {
      if (isAgoraError(err, 'E1102')) return err
      throw err
    }
  }

  /** The result for one caller, with a receipt for its attempt, booked (durably) as owed to us before it leaves. */
  private async resultEvent (entry: ResultFacts, coordinator: string, assignment: TaskAssignment, result: () => unknown): Promise<WorkerResult> {
    if (entry.price > 0 && this.c.market !== undefined) {
      this.c.market.issue({ receiptId: taskReceiptId(assignment.key), buyer: coordinator, amount: entry.price, what: assignment.type })
      await this.c.market.durable()
    }
    const receipt = signReceipt(this.c.identity, {
      key: assignment.key,
      attempt: assignment.attempt,
      jobId: assignment.jobId,
      subtaskId: assignment.subtaskId,
      type: assignment.type,
      worker: this.self,
      coordinator,
      resultHash: entry.hash,
      price: formatCredits(entry.price),
      startedAt: entry.startedAt,
      finishedAt: entry.finishedAt
    })
    return { type: 'result', bytes: entry.bytes, hash: entry.hash, receipt, result }
  }

  private refuse (refusal: Omit<Refusal, 'type'>, assignment: TaskAssignment): Refusal {
    this.metrics?.refused.inc({ reason: refusal.reason })
    this.log.debug({ key: assignment.key, reason: refusal.reason }, 'subtask refused')
    return { type: 'refused', ...refusal }
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1

function runId (coordinator: string, key: string): string {
  return `${coordinator}\u0000${key}`
}

function resourceMessage (reason: 'slots' | 'cpu' | 'memory', resources: Resources): string {
  const s = resources.snapshot()
  switch (reason) {
    case 'slots': return `all ${s.slotsTotal} slots are busy`
    case 'cpu': return `the load per core is ${s.cpuLoad.toFixed(2)}, over the limit`
    case 'memory': return `${s.freeMemoryMb} MiB free, under the limit`
  }
}
