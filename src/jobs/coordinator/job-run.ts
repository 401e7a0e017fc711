/**
 * Running one job: keep up to `concurrency` ready subtasks (every dependency
 * committed) out on workers, move each attempt's outcome into the store,
 * retry elsewhere on refusal, failure or timeout, and when nothing is left
 * to run, aggregate — or fail with the partial results kept.
 *
 * Attempts: a refusal hands the attempt back (it is nobody's fault; the
 * worker is skipped for a short while); any other failure uses an attempt
 * up and excludes the worker from that subtask, so the next attempt goes to
 * the next candidate; after `maxAttempts` the subtask fails for good and so
 * does the job. A result only commits on its own, still-current attempt.
 *
 * Capacity: a worker refusing for lack of slots is sent at most as many of
 * our attempts as it was running for us when it refused, that number
 * growing by one every CAPACITY_PROBE_MS (its slots may free up): otherwise
 * a job whose concurrency exceeds the workers' slots re-offers every ready
 * subtask each time a slot frees, and spends its time on refusals.
 */
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { addMicro, formatCredits, MAX_MICRO, parseCredits, type Micro } from '../../market/amount.ts'
import type { DispatchResult, RefusalReason, TaskAssignment } from '../protocol/types.ts'
import type { JobConstraints } from '../types.ts'
import type { SubtaskPlanRow } from '../store/job-store.ts'
import type { CoordinatorContext, RunningPlan } from './context.ts'
import { ReadyQueue } from './ready-queue.ts'
import { JobPayments, unpaidAttempt, type AttemptPayment } from './job-payments.ts'
import { taskReceiptId } from '../protocol/receipt.ts'
import { JobReplicas, noWinner, type CheckMethod } from './job-replicas.ts'
import { CAPACITY_PROBE_MS, WorkerCapacity } from './worker-capacity.ts'
import { internalError, outcomeOf } from './attempt-errors.ts'
import { IDLE_RECHECK_MS, LASTING_REFUSALS, LOCAL_ERRORS, MAX_REFUSAL_WAIT_MS, MAX_TIMER_MS, NO_CANDIDATE_GRACE_MS, NO_WORKER_TIMEOUT_MS, REFUSAL_BACKOFF_MS } from './run-rules.ts'
import { RefusalWatch } from './refusal-watch.ts'

export type RunEnd = { state: 'completed' } | { state: 'failed' | 'cancelled', error: AgoraError }

export class JobRun {
  readonly jobId: string
  private readonly c: CoordinatorContext
  private readonly plan: RunningPlan
  private readonly constraints: JobConstraints
  private readonly rows: Map<string, SubtaskPlanRow>
  /** Ids still to commit. */
  private readonly open: Set<string>
  /** Pending ids whose dependencies are all committed, in plan order (FIFO; retries go to the back). */
  private readonly ready: ReadyQueue
  /** id → the ids that depend on it. */
  private readonly dependents = new Map<string, string[]>()
  private readonly inFlight = new Map<string, AbortController>()
  /** Worker → epoch ms until which it is skipped (it refused). */
  private readonly busyUntil = new Map<string, number>()
  /** `worker task-type` → why it refused for good (LASTING_REFUSALS). */
  private readonly refusedFor = new Map<string, string>()
  /** What each worker takes of our attempts (see the module comment). */
  private readonly capacity = new WorkerCapacity()
  private readonly stop = new AbortController()
  private wake: (() => void) | undefined
  /** Micro-credits of the attempts out (their candidates' prices), not yet spent. */
  private reserved: Micro = 0
  private readonly payments: JobPayments
  private readonly replicas: JobReplicas
  private routeError: AgoraError | undefined
  private stalledSince: number | undefined
  /** Workers refusing for their load, and since when none took an attempt. */
  private readonly watch: RefusalWatch
  /** Micro-credits of the committed subtasks. */
  private spent: Micro
  private end: RunEnd | undefined

  constructor (context: CoordinatorContext, plan: RunningPlan, constraints: JobConstraints, rows: SubtaskPlanRow[], spent: Micro) {
    this.c = context
    this.jobId = plan.jobId
    this.plan = plan
    this.constraints = constraints
    this.rows = new Map(rows.map(r => [r.id, r]))
    this.open = new Set(rows.filter(r => r.state !== 'committed').map(r => r.id))
    for (const row of rows) {
      for (const dep of row.deps) {
        const list = this.dependents.get(dep)
        if (list === undefined) this.dependents.set(dep, [row.id])
        else list.push(row.id)
      }
    }
    this.watch = new RefusalWatch(context.config.noWorkerTimeoutMs ?? NO_WORKER_TIMEOUT_MS, Date.now())
    this.payments = new JobPayments(context.market, { jobId: plan.jobId, selfPeerId: context.selfPeerId, budget: constraints.budget, attemptMs: context.config.timeouts.totalMs, contracts: constraints.contracts, audits: context.audits })
    this.replicas = new JobReplicas(context, {
      plan,
      constraints,
      payments: this.payments,
      remainingBudget: () => constraints.budget === undefined ? undefined : Math.max(0, constraints.budget - this.spent - this.reserved),
      reserve: price => { this.reserved += price },
      spend: price => {
        this.spent = addMicro(this.spent, price, 'spent')
        this.c.store.spend(this.jobId, price, Date.now())
      },
      signal: this.stop.signal
    })
    this.ready = new ReadyQueue(rows.filter(r => r.state === 'pending' && this.depsDone(r)).map(r => r.id), id => this.rows.get(id)?.type ?? '')
    this.spent = spent
  }

  /** Cancel: pending subtasks never start, running ones are aborted on their workers. */
  /** Why its subtasks wait (workers refusing for their load), or undefined. */
  waiting (): string | undefined {
    return this.watch.waiting()
  }

  cancel (reason: AgoraError): void {
    this.finish({ state: 'cancelled', error: reason })
  }

  async run (): Promise<RunEnd> {
    let timer: NodeJS.Timeout | undefined
    const deadline = this.constraints.deadline
    const armDeadline = (at: number): void => {
      const left = at - Date.now()
      timer = left > MAX_TIMER_MS
        ? setTimeout(() => { armDeadline(at) }, MAX_TIMER_MS)
        : setTimeout(() => { this.finish({ state: 'failed', error: new AgoraError('E1063', `job ${this.jobId} missed its deadline`, { why: `the deadline was ${new Date(at).toISOString()}` }) }) }, Math.max(0, left))
    }
    if (deadline !== undefined) armDeadline(deadline)
    try {
      while (this.end === undefined) {
        if (this.open.size === 0) return { state: 'completed' }
        const nextCheck = this.launchReady()
        if (this.end !== undefined) break
        await this.sleep(nextCheck)
      }
      return this.end
    } catch (err) {
      // our own failure (store, bind): end the run first, so aborting the attempts blames no worker
      this.finish({ state: 'failed', error: internalError(this.jobId, err) })
      throw err
    } finally {
      clearTimeout(timer)
      const reason = this.end === undefined || this.end.state === 'completed' ? new AgoraError('E1064', 'the job is finished') : this.end.error
      for (const controller of this.inFlight.values()) controller.abort(reason)
    }
  }

  /** Start what can start; returns how long to wait at most before looking again. */
  private launchReady (): number {
    let wait = IDLE_RECHECK_MS
    const now = Date.now()
    const blocked = new Set<string>()
    const deferred: string[] = []
    // a scan ends once every task type still queued is blocked: O(launched), not O(queued)
    while (this.inFlight.size < this.c.config.concurrency && this.ready.size > 0 && this.ready.holdsOtherThan(blocked)) {
      const id = this.ready.shift() as string
      const row = this.rows.get(id) as SubtaskPlanRow
      if (row.state !== 'pending') continue
      // its last attempt has not let go yet: next pass
      if (blocked.has(row.type) || this.inFlight.has(id)) {
        deferred.push(id)
        continue
      }
      const launched = this.launch(row, now)
      if (this.end !== undefined) return 0
      if (launched !== true) {
        // nobody can take this type now: the others of its type wait too
        blocked.add(row.type)
        deferred.push(id)
        wait = Math.min(wait, launched)
      }
    }
    this.ready.unshiftAll(deferred)
    if (blocked.size === 0 || this.inFlight.size > 0) this.stalledSince = undefined
    else if (this.stalledSince === undefined) this.stalledSince = now
    else if (now - this.stalledSince > NO_CANDIDATE_GRACE_MS && this.routeError !== undefined) this.finish({ state: 'failed', error: this.routeError })
    const refusedTooLong = this.watch.expired(now, this.inFlight.size)
    if (refusedTooLong !== undefined && this.end === undefined) this.finish({ state: 'failed', error: refusedTooLong })
    return wait
  }

  private depsDone (row: SubtaskPlanRow): boolean {
    return row.deps.every(dep => this.rows.get(dep)?.state === 'committed')
  }

  /** Dispatch one attempt; a number means "nobody free, look again in that many ms". */
  private launch (row: SubtaskPlanRow, now: number): true | number {
    const work = this.c.store.work(this.jobId, row.id)
    const busy = [...this.busyUntil].filter(([, until]) => until > now)
    const full = this.capacity.full(now)
    const refused = [...this.refusedFor.keys()].filter(k => k.endsWith(` ${row.type}`)).map(k => k.slice(0, k.indexOf(' ')))
    const exclude = new Set([...row.excluded, ...busy.map(([peer]) => peer), ...full, ...refused])
    // integers: a budget of 0.3 covers three subtasks at 0.1 exactly
    const remainingBudget = this.constraints.budget === undefined ? undefined : Math.max(0, this.constraints.budget - this.spent - this.reserved)
    let choice
    try {
      choice = this.c.router.choose({
        taskType: row.type,
        models: this.plan.modelsOf(row.type, work.params),
        constraints: this.constraints,
        remainingBudget,
        exclude
      })
    } catch (err) {
      // Nobody right now (offers expire and come back): wait a while, unless the budget is gone for good
      this.routeError = isAgoraError(err) ? err : new AgoraError('E1020', `no worker for ${row.type}`, { why: messageOf(err) })
      if (isAgoraError(err, 'E1021') && this.inFlight.size === 0) this.finish({ state: 'failed', error: err })
      return IDLE_RECHECK_MS
    }
    const worker = choice.candidate.peerId
    if (refused.includes(worker)) {
      // everyone left refused this task type for good: wait for another candidate, then fail (see launchReady)
      const reasons = refused.map(peer => `${peer}: ${this.refusedFor.get(`${peer} ${row.type}`) ?? '?'}`).join(', ')
      this.routeError = new AgoraError('E1020', `every worker able to run ${row.type} refused it`, { why: `refusals: ${reasons}`, hint: 'trust this node on those workers, raise the price, or move the deadline' })
      return IDLE_RECHECK_MS
    }
    this.routeError = undefined
    if (exclude.has(worker)) {
      // only a worker at its capacity is left: an attempt ending there pokes us
      if (full.includes(worker)) return CAPACITY_PROBE_MS
      // only an excluded worker is left: wait for a busy one to free up rather than re-offer a failed one early
      const soonest = Math.min(...busy.map(([, until]) => until))
      if (Number.isFinite(soonest) && busy.some(([peer]) => peer === worker)) return Math.max(10, soonest - now)
    }
    const input = work.input ?? this.plan.bind(row.id, this.c.store.results(this.jobId, row.deps))
    const attempt = row.attempts + 1
    // never more than the offer said, the job's cap, or what the budget has left (the receipt is checked against it)
    const maxPrice = Math.min(choice.candidate.price, this.constraints.maxPricePerSubtask ?? MAX_MICRO, remainingBudget ?? MAX_MICRO)
    let payment: AttemptPayment | undefined
    try {
      payment = this.payments.forAttempt({ subtaskId: row.id, attempt, worker, type: row.type, maxPrice })
    } catch (err) {
      if (!isAgoraError(err, 'E1101')) throw err
      this.finish({ state: 'failed', error: unpaidAttempt(this.jobId, err) })
      return 0
    }
    row.attempts = attempt
    row.state = 'assigned'
    this.c.store.assign(this.jobId, row.id, worker, attempt, now)
    this.c.events.emit('subtask:assigned', { jobId: this.jobId, subtaskId: row.id, type: row.type, worker, attempt })
    const controller = new AbortController()
    this.inFlight.set(row.id, controller)
    this.reserved += choice.candidate.price
    this.c.router.begin(worker)
    this.capacity.out(worker, 1)
    let accepted = false
    const startedAt = performance.now()
    const assignment = {
      key: `${this.c.selfPeerId}/${this.jobId}/${row.id}`,
      jobId: this.jobId,
      subtaskId: row.id,
      attempt,
      type: row.type,
      params: work.params,
      input,
      deadline: this.constraints.deadline,
      maxPrice: formatCredits(maxPrice)
    }
    const dispatched = this.c.dispatcher.dispatch(worker, assignment, {
      signal: AbortSignal.any([controller.signal, this.stop.signal]),
      timeouts: this.c.config.timeouts,
      onAccepted: () => {
        if (!accepted) this.capacity.accepted(worker, 1)
        accepted = true
        if (row.state === 'assigned' && row.attempts === attempt) row.state = 'running'
        this.c.store.running(this.jobId, row.id, attempt, Date.now())
      }
    })
    // the attempt lets go of everything before its outcome is handled: a retry queued by the outcome finds it gone
    const settle = (): void => {
      // an accepted attempt ending there frees one of its slots, whatever an earlier refusal said
      if (accepted) this.busyUntil.delete(worker)
      this.c.router.end(worker)
      this.capacity.out(worker, -1)
      if (accepted) this.capacity.accepted(worker, -1)
      this.reserved -= choice.candidate.price
      if (this.inFlight.get(row.id) === controller) this.inFlight.delete(row.id)
      this.poke()
    }
    dispatched.then(async result => { settle(); await this.succeeded(row, worker, attempt, result, startedAt, payment, assignment) }, (err: unknown) => { settle(); this.failed(row, worker, attempt, err) })
      .catch((err: unknown) => { this.finish({ state: 'failed', error: internalError(this.jobId, err) }) })
      .finally(() => { this.payments.settle(payment) })
    return true
  }

  private async succeeded (row: SubtaskPlanRow, primary: string, attempt: number, first: DispatchResult, startedAt: number, payment: AttemptPayment | undefined, assignment: TaskAssignment): Promise<void> {
    if (this.end !== undefined) return
    const paidBy = { payment, key: assignment.key }
    const plan = this.replicas.planCheck(row.type, primary)
    if (plan === undefined) {
      this.commit(row, attempt, first, paidBy, startedAt, assignment)
      return
    }
    // the subtask counts against the job's concurrency, and its price against the budget, until its replicas are in
    const verifying = new AbortController()
    this.inFlight.set(row.id, verifying)
    const price = parseCredits(first.receiptPayload.price, 'price')
    this.reserved += price
    let checked, method, paidByDecision
    try {
      ({ checked, method, paidByDecision } = await this.replicas.verify(plan, row, assignment, first, payment))
    } finally {
      this.reserved -= price
      if (this.inFlight.get(row.id) === verifying) this.inFlight.delete(row.id)
      this.poke()
    }
    try {
      if (this.end !== undefined || row.attempts !== attempt) return
      this.replicas.report(row, first, checked.outcome, method, plan.comparator.method === 'exact')
      const winner = checked.outcome.winner
      if (winner === undefined) {
        this.failed(row, primary, attempt, noWinner(row.id, primary, checked.outcome.replicas, method))
        return
      }
      // a DECIDE that holds the worker's pay leaves nothing to capture here: its FINALIZE does
      this.commit(row, attempt, winner, paidByDecision === true ? { payment: undefined, key: paidBy.key } : checked.winner ?? paidBy, startedAt, assignment, method)
    } finally {
      checked.release()
    }
  }

  /** The result that stands: stored, paid, its dependents readied. */
  private commit (row: SubtaskPlanRow, attempt: number, result: DispatchResult, paidBy: { payment: AttemptPayment | undefined, key: string }, startedAt: number, assignment: TaskAssignment, method?: CheckMethod): void {
    const worker = result.worker
    // the dispatcher checked the receipt: its price parses, at most the assignment's maxPrice
    const price = parseCredits(result.receiptPayload.price, 'price')
    const receipt = { receiptId: taskReceiptId(paidBy.key), worker, price }
    // decided here alone while the quorum is in bootstrap mode: provisional, part of the pay held back for an audit (recorded with the commit, so a recapture after a crash holds it back too)
    const provisional = method !== 'quorum' && this.c.provisional?.() === true ? { subtaskId: row.id, type: row.type, assignment, result: result.result, resultHash: result.resultHash } : undefined
    const committed = this.c.store.commit(this.jobId, row.id, { worker, attempt, result: result.result, resultHash: result.resultHash, price, receipt: result.receipt }, Date.now(), () => { this.payments.recordHeldBack(paidBy.payment, receipt, provisional) })
    if (!committed) { this.c.metrics?.duplicates.inc(); return }
    row.state = 'committed'
    this.open.delete(row.id)
    for (const next of this.dependents.get(row.id) ?? []) {
      const dependent = this.rows.get(next)
      if (dependent?.state === 'pending' && this.depsDone(dependent)) this.ready.push(next)
    }
    this.spent = addMicro(this.spent, price, 'spent')
    this.watch.took(worker, Date.now())
    this.payments.capture(paidBy.payment, receipt)
    this.c.router.record(worker, row.type, 'success')
    this.c.metrics?.attempts.inc({ outcome: 'success' })
    this.c.metrics?.dispatchSeconds.observe((performance.now() - startedAt) / 1000)
    this.c.events.emit('subtask:committed', { jobId: this.jobId, subtaskId: row.id, type: row.type, worker, attempt })
    this.c.progress(this.jobId)
  }

  private failed (row: SubtaskPlanRow, worker: string, attempt: number, err: unknown): void {
    if (this.end !== undefined || row.attempts !== attempt) return
    const error = isAgoraError(err) ? err : new AgoraError('E1044', `subtask ${row.id} failed`, { why: messageOf(err), cause: err })
    if (LOCAL_ERRORS.has(error.code)) {
      this.c.store.retry(this.jobId, row.id, attempt, error.toJSON(), undefined, true, Date.now())
      row.state = 'failed'
      this.c.events.emit('subtask:failed', { jobId: this.jobId, subtaskId: row.id, type: row.type, code: error.code, message: error.what })
      this.finish({ state: 'failed', error: new AgoraError('E1065', `subtask ${row.id} cannot be sent to any worker`, { why: error.format() }) })
      return
    }
    const outcome = outcomeOf(error)
    // replicas without a majority (E1204): nobody is blamed; outvoted by verifiers (E1208): report() blamed and counted it. Either way the next attempt goes elsewhere
    if (error.code !== 'E1204' && error.code !== 'E1208') this.c.router.record(worker, row.type, outcome)
    if (error.code !== 'E1208') this.c.metrics?.attempts.inc({ outcome })
    if (outcome === 'refused') {
      const details = error.details as { retryAfterMs?: number, reason?: RefusalReason } | undefined
      const now = Date.now()
      this.busyUntil.set(worker, now + Math.min(details?.retryAfterMs ?? REFUSAL_BACKOFF_MS, MAX_REFUSAL_WAIT_MS))
      if (details?.reason === 'slots') this.capacity.learn(worker, now)
      if (details?.reason !== undefined && LASTING_REFUSALS.has(details.reason)) this.refusedFor.set(`${worker} ${row.type}`, details.reason)
      else this.watch.refused(worker, details?.reason ?? 'refused', error.what)
      this.c.store.release(this.jobId, row.id, attempt)
      row.attempts = attempt - 1
      row.state = 'pending'
      this.ready.push(row.id)
      return
    }
    this.watch.took(worker, Date.now())
    const forGood = attempt >= this.c.config.maxAttempts
    this.c.store.retry(this.jobId, row.id, attempt, error.toJSON(), worker, forGood, Date.now())
    if (!row.excluded.includes(worker)) row.excluded.push(worker)
    row.state = forGood ? 'failed' : 'pending'
    if (!forGood) this.ready.push(row.id)
    if (forGood) {
      this.c.events.emit('subtask:failed', { jobId: this.jobId, subtaskId: row.id, type: row.type, code: error.code, message: error.what })
      this.finish({ state: 'failed', error: new AgoraError('E1065', `subtask ${row.id} failed on every worker tried (${attempt} attempts)`, { why: `last: ${error.format()}` }) })
    } else {
      this.c.events.emit('subtask:retrying', { jobId: this.jobId, subtaskId: row.id, type: row.type, worker, attempt, code: error.code })
    }
  }

  private finish (end: RunEnd): void {
    if (this.end !== undefined) return
    this.end = end
    this.stop.abort(end.state === 'completed' ? undefined : end.error)
    this.poke()
  }

  private poke (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => { this.wake = undefined; resolve() }, ms)
      this.wake = () => { clearTimeout(timer); resolve() }
    })
  }
}
