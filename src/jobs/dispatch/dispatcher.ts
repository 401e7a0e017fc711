/**
 * The coordinator's side of an attempt (TaskDispatcher): run one subtask
 * on one worker under the named timeouts (accept E1041, progress E1042,
 * total E1043), then accept the result only if it matches the executor's
 * output schema, its recomputed hash and a receipt signed by that worker
 * to us (E1045). A refusal is E1040 {reason, retryAfterMs}; a failure on
 * the worker is E1044 {remoteCode}; transport errors keep their E2xx code.
 * A subtask routed to this node runs in process through the local
 * TaskWorker: the same checks, the same receipt, no wire.
 */
import { AgoraError, isAgoraError } from '../../errors.ts'
import { DISPATCH_TIMEOUT_DEFAULTS, ENGINE_TIMEOUT_SLACK_MS, RESULT_FETCH_BUDGET_BYTES, TASK_MAX_RESULT_BYTES } from '../protocol/constants.ts'
import { createTaskProtocol, type TaskProtocol } from '../protocol/protocol.ts'
import { raceAbort } from '../../abort.ts'
import { DispatchDeadlines } from './deadlines.ts'
import { ResultFetchBudget } from './fetch-budget.ts'
import { createDispatchMetrics, type DispatchMetrics } from './metrics.ts'
import { malformed, refusal, remoteAttempt, type RawResult } from './remote.ts'
import { checkResult } from './verify.ts'
import type { AnyExecutor } from '../executors/types.ts'
import type { DispatchOptions, DispatchResult, DispatchTimeouts, TaskAssignment, TaskDispatcher } from '../protocol/types.ts'
import type { TaskWorker } from '../worker/task-worker.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { ReqResp } from '../../protocols/index.ts'
import type { Registry } from 'prom-client'

export interface DispatcherComponents {
  reqresp: Pick<ReqResp, 'requestStream'>
  /** This node's worker: subtasks for our own peer id run there; its peer id is ours (the receipts' addressee). */
  worker: Pick<TaskWorker, 'run' | 'self'>
  /** The executor table (output schemas). */
  executors: ReadonlyMap<string, AnyExecutor>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface DispatcherInit {
  /** jobs.timeouts; a dispatch's options override them. */
  timeouts?: Partial<DispatchTimeouts>
  /** Largest result accepted by reference (canonical JSON bytes). */
  maxResultBytes?: number
  /** jobs.resultFetchBudgetBytes: bytes of results fetched by reference at once, across every job (or a budget to share). */
  fetchBudget?: number | ResultFetchBudget
}

/** Codes a worker's engine (not its executor) answers with: they stay transport errors. */
const ENGINE_CODES = new Set(['E204', 'E205', 'E206'])
/** Protocol definitions kept per timeout pair (the engine's timers trail ours). */
const MAX_PROTOCOLS = 16

export class Dispatcher implements TaskDispatcher {
  private readonly c: DispatcherComponents
  private readonly log: Logger
  private readonly metrics: DispatchMetrics | undefined
  private readonly timeouts: DispatchTimeouts
  private readonly maxResultBytes: number
  private readonly fetchBudget: ResultFetchBudget
  private readonly protocols = new Map<string, TaskProtocol>()

  constructor (components: DispatcherComponents, init: DispatcherInit = {}) {
    this.c = components
    this.log = components.logger.forComponent('agora:jobs:dispatch')
    this.timeouts = { ...DISPATCH_TIMEOUT_DEFAULTS, ...init.timeouts }
    this.maxResultBytes = init.maxResultBytes ?? TASK_MAX_RESULT_BYTES
    const budget = init.fetchBudget ?? RESULT_FETCH_BUDGET_BYTES
    this.fetchBudget = budget instanceof ResultFetchBudget ? budget : new ResultFetchBudget(budget)
    this.metrics = createDispatchMetrics(components.metrics, this.fetchBudget)
  }

  /** The timeouts in force (jobs.timeouts). */
  settings (): DispatchTimeouts {
    return { ...this.timeouts }
  }

  async dispatch (worker: string, assignment: TaskAssignment, options: DispatchOptions = {}): Promise<DispatchResult> {
    const executor = this.c.executors.get(assignment.type)
    if (executor === undefined) throw new AgoraError('E1000', `unknown task type ${assignment.type}`, { why: 'this node has no executor to check its results' })
    const local = worker === this.c.worker.self
    const where = local ? 'local' : 'remote'
    const timeouts = { ...this.timeouts, ...options.timeouts }
    const deadlines = new DispatchDeadlines(timeouts, { worker, key: assignment.key, attempt: assignment.attempt }, options.signal)
    const started = performance.now()
    let outcome = 'ok'
    let raw: RawResult | undefined
    try {
      try {
        raw = local
          ? await this.localAttempt(assignment, options, deadlines)
          : await remoteAttempt({
            reqresp: this.c.reqresp,
            protocol: this.protocol(timeouts),
            worker,
            assignment,
            deadlines,
            options,
            maxResultBytes: this.maxResultBytes,
            fetchBudget: this.fetchBudget,
            metrics: this.metrics
          })
      } catch (err) {
        throw this.attemptFailure(err, deadlines, worker, assignment, local)
      }
      return checkResult({ worker, coordinator: this.c.worker.self, assignment, executor, result: raw.result, receipt: raw.receipt })
    } catch (err) {
      outcome = isAgoraError(err) ? err.code : 'error'
      throw err
    } finally {
      raw?.release?.()
      deadlines.clear()
      this.metrics?.attempts.inc({ where, outcome })
      this.metrics?.duration.observe({ where }, (performance.now() - started) / 1000)
      this.log.debug({ worker, key: assignment.key, attempt: assignment.attempt, outcome }, 'dispatch ended')
    }
  }

  /** This node's own worker, in process: its events read like frames. */
  private async localAttempt (assignment: TaskAssignment, options: DispatchOptions, deadlines: DispatchDeadlines): Promise<RawResult> {
    const self = this.c.worker.self
    deadlines.arm('accept')
    const events = this.c.worker.run(self, assignment, deadlines.signal)
    let finished = false
    try {
      while (true) {
        const next = await raceAbort(events.next(), deadlines.signal)
        if (next.done === true) {
          finished = true
          throw malformed(self, assignment.key, 'the local worker ended without a result')
        }
        const event = next.value
        switch (event.type) {
          case 'refused': throw refusal(self, assignment.key, event)
          case 'accepted': options.onAccepted?.(); break
          case 'progress': options.onProgress?.(event.fraction); break
          case 'result': return { result: event.result(), receipt: event.receipt }
        }
        deadlines.arm('progress')
      }
    } finally {
      if (!finished) void events.return().catch(() => {})
    }
  }

  /** The error a failed attempt throws (see the module comment). */
  private attemptFailure (err: unknown, deadlines: DispatchDeadlines, worker: string, assignment: TaskAssignment, local: boolean): AgoraError {
    const failure = deadlines.failure(err)
    if (deadlines.signal.aborted) return failure
    const details = { worker, key: assignment.key, attempt: assignment.attempt }
    const remote = failure.details?.remote === true
    if (!local && !remote) return failure
    const remoteCode = remote ? String(failure.details?.remoteCode ?? failure.code) : failure.code
    // our own verdicts (refused, malformed) and the worker's engine's transport codes stay as they are
    if (!remote && (failure.code === 'E1040' || failure.code === 'E1045')) return failure
    if (remote && ENGINE_CODES.has(remoteCode)) return failure
    return new AgoraError('E1044', `subtask ${assignment.key} failed on ${worker}`, {
      why: `${remoteCode}: ${failure.what}${failure.why === undefined ? '' : ` — ${failure.why}`}`,
      details: { ...details, remoteCode },
      cause: failure
    })
  }

  /** The calling side's definition: the engine's timers (E204) trail the named timeouts. */
  private protocol (timeouts: DispatchTimeouts): TaskProtocol {
    const id = `${timeouts.acceptMs}/${timeouts.firstProgressMs}`
    let protocol = this.protocols.get(id)
    if (protocol === undefined) {
      if (this.protocols.size >= MAX_PROTOCOLS) this.protocols.clear()
      protocol = createTaskProtocol({
        firstByteMs: timeouts.acceptMs + ENGINE_TIMEOUT_SLACK_MS,
        responseMs: Math.max(timeouts.acceptMs, timeouts.firstProgressMs) + ENGINE_TIMEOUT_SLACK_MS
      })
      this.protocols.set(id, protocol)
    }
    return protocol
  }
}
