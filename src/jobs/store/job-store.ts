/**
 * Jobs and subtasks in SQLite (migration 006). Every state change is one
 * statement or one transaction, and the job's counters move in the same
 * transaction as the subtask they count, so a crash leaves them consistent.
 * A commit only lands on the attempt that is still current: a late result
 * of a reassigned attempt changes nothing (idempotency by key and attempt).
 * Inputs and results stay in the database; the coordinator reads them when
 * it needs them, so a 10,000-subtask job does not live in memory.
 *
 * `assign` and `running` are deferred: written at the next other write (in
 * its transaction), before any read of subtask states, or at the end of
 * the event loop's turn — one WAL commit for many instead of one each (on
 * a busy coordinator they were a third of its time). A crash can lose the
 * last turn's assignments; they only said that an attempt was out, and a
 * resumed job re-dispatches open attempts anyway.
 */
import type { ErrorBody } from '../../errors.ts'
import { MICRO_PER_CREDIT, parseCredits, type Micro } from '../../market/amount.ts'
import type { Database } from '../../store/index.ts'
import type { PlannedSubtask } from '../planner/types.ts'
import { constraintsJson, type Job, type JobConstraints, type JobInput, type JobState, type Subtask, type SubtaskState, type SubtaskVerification } from '../types.ts'

interface JobRow {
  id: string
  type: string
  input: string
  params: string
  constraints: string
  state: string
  total: number
  committed: number
  failed: number
  /** Micro-credits (INTEGER since migration 009). */
  spent: number
  created_at: number
  updated_at: number
  finished_at: number | null
  error: string | null
  has_result: number
}

interface SubtaskRow {
  job_id: string
  id: string
  type: string
  params: string
  deps: string
  state: string
  attempts: number
  worker: string | null
  excluded: string
  /** Micro-credits (INTEGER since migration 009). */
  price: number | null
  error: string | null
  created_at: number
  assigned_at: number | null
  started_at: number | null
  finished_at: number | null
  result_hash: string | null
  verification: string | null
}

/** A subtask as the scheduler holds it: no input, no result. */
export interface SubtaskPlanRow {
  id: string
  type: string
  deps: string[]
  state: SubtaskState
  attempts: number
  excluded: string[]
}

export interface NewJob {
  id: string
  type: string
  input: JobInput
  params: Record<string, unknown>
  constraints: JobConstraints
  createdAt: number
}

export interface CommitInput {
  worker: string
  attempt: number
  result: unknown
  resultHash: string
  /** Micro-credits: the receipt's price. */
  price: Micro
  receipt: string
}

const JOB_COLUMNS = 'id, type, input, params, constraints, state, total, committed, failed, spent, created_at, updated_at, finished_at, error, result IS NOT NULL AS has_result'
const SUBTASK_COLUMNS = 'job_id, id, type, params, deps, state, attempts, worker, excluded, price, error, created_at, assigned_at, started_at, finished_at, result_hash, verification'
const OPEN_STATES = "('pending', 'assigned', 'running')"

export class JobStore {
  private readonly db: Database
  /** Deferred writes, in order (see the module comment). */
  private readonly deferred: Array<() => void> = []
  private flushTimer: NodeJS.Immediate | undefined
  /** A deferred write that failed in the background: thrown at the next call. */
  private failure: unknown

  constructor (db: Database) {
    this.db = db
  }

  /** Write the deferred state changes now (one transaction); before the database closes. */
  flush (): void {
    if (this.flushTimer !== undefined) clearImmediate(this.flushTimer)
    this.flushTimer = undefined
    this.throwFailure()
    if (this.deferred.length > 0) this.db.transaction(() => { this.drain() })
  }

  /** The job and its whole plan, in one transaction (state `planned`). */
  insert (job: NewJob, subtasks: readonly PlannedSubtask[]): void {
    this.flush()
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO jobs (id, type, input, params, constraints, state, total, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, 'planned', ?, ?, ?)`).run(job.id, job.type, JSON.stringify(job.input), JSON.stringify(job.params),
        JSON.stringify(constraintsJson(job.constraints)), subtasks.length, job.createdAt, job.createdAt)
      const insert = this.db.prepare(`INSERT INTO subtasks (job_id, id, seq, type, params, input, deps, state, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)`)
      subtasks.forEach((s, seq) => {
        insert.run(job.id, s.id, seq, s.type, JSON.stringify(s.params), s.input === null ? null : JSON.stringify(s.input), JSON.stringify(s.deps), job.createdAt)
      })
    })
  }

  get (jobId: string): Job | undefined {
    this.flush()
    const row = this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).get(jobId) as JobRow | undefined
    return row === undefined ? undefined : toJob(row, this.runningCount(jobId))
  }

  /** Newest first. */
  list (filter: { state?: JobState | undefined, limit?: number | undefined } = {}): Job[] {
    this.flush()
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 1000)
    const rows = (filter.state === undefined
      ? this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs ORDER BY created_at DESC, id LIMIT ?`).all(limit)
      : this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE state = ? ORDER BY created_at DESC, id LIMIT ?`).all(filter.state, limit)) as unknown as JobRow[]
    return rows.map(row => toJob(row, this.runningCount(row.id)))
  }

  /** Jobs a restarted coordinator must take up again. */
  unfinished (): string[] {
    const rows = this.db.prepare("SELECT id FROM jobs WHERE state NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at").all() as Array<{ id: string }>
    return rows.map(r => r.id)
  }

  setState (jobId: string, state: JobState, now: number, finish?: { error?: ErrorBody | undefined, result?: unknown }): void {
    this.flush()
    if (finish === undefined) {
      this.db.prepare('UPDATE jobs SET state = ?, updated_at = ? WHERE id = ?').run(state, now, jobId)
      return
    }
    this.db.prepare('UPDATE jobs SET state = ?, updated_at = ?, finished_at = ?, error = ?, result = ? WHERE id = ?').run(
      state, now, now, finish.error === undefined ? null : JSON.stringify(finish.error),
      finish.result === undefined ? null : JSON.stringify(finish.result), jobId)
  }

  result (jobId: string): unknown {
    const row = this.db.prepare('SELECT result FROM jobs WHERE id = ?').get(jobId) as { result: string | null } | undefined
    return row?.result == null ? undefined : JSON.parse(row.result)
  }

  subtasks (jobId: string): Subtask[] {
    this.flush()
    const rows = this.db.prepare(`SELECT ${SUBTASK_COLUMNS} FROM subtasks WHERE job_id = ? ORDER BY seq`).all(jobId) as unknown as SubtaskRow[]
    return rows.map(toSubtask)
  }

  subtask (jobId: string, subtaskId: string): Subtask | undefined {
    this.flush()
    const row = this.db.prepare(`SELECT ${SUBTASK_COLUMNS} FROM subtasks WHERE job_id = ? AND id = ?`).get(jobId, subtaskId) as SubtaskRow | undefined
    return row === undefined ? undefined : toSubtask(row)
  }

  /** The plan as the scheduler needs it, in plan order. */
  planRows (jobId: string): SubtaskPlanRow[] {
    this.flush()
    const rows = this.db.prepare('SELECT id, type, deps, state, attempts, excluded FROM subtasks WHERE job_id = ? ORDER BY seq').all(jobId) as unknown as Array<{ id: string, type: string, deps: string, state: string, attempts: number, excluded: string }>
    return rows.map(r => ({ id: r.id, type: r.type, deps: JSON.parse(r.deps) as string[], state: r.state as SubtaskState, attempts: r.attempts, excluded: JSON.parse(r.excluded) as string[] }))
  }

  /** Params and input (null: bound from the dependencies) of one subtask (deferred writes do not touch them). */
  work (jobId: string, subtaskId: string): { params: Record<string, unknown>, input: unknown } {
    const row = this.db.prepare('SELECT params, input FROM subtasks WHERE job_id = ? AND id = ?').get(jobId, subtaskId) as { params: string, input: string | null }
    return { params: JSON.parse(row.params) as Record<string, unknown>, input: row.input === null ? null : JSON.parse(row.input) }
  }

  /** Committed results of the given subtasks, in the given order (null where there is none; deferred writes do not touch them). */
  results (jobId: string, subtaskIds?: readonly string[]): Array<{ id: string, type: string, result: unknown }> {
    if (subtaskIds === undefined) {
      const rows = this.db.prepare('SELECT id, type, result FROM subtasks WHERE job_id = ? ORDER BY seq').all(jobId) as Array<{ id: string, type: string, result: string | null }>
      return rows.map(r => ({ id: r.id, type: r.type, result: r.result === null ? null : JSON.parse(r.result) }))
    }
    const one = this.db.prepare('SELECT id, type, result FROM subtasks WHERE job_id = ? AND id = ?')
    return subtaskIds.map(id => {
      const r = one.get(jobId, id) as { id: string, type: string, result: string | null } | undefined
      return { id, type: r?.type ?? '', result: r?.result == null ? null : JSON.parse(r.result) }
    })
  }

  /** pending → assigned to `worker` as attempt `attempt` (deferred). */
  assign (jobId: string, subtaskId: string, worker: string, attempt: number, now: number): void {
    this.defer(() => {
      this.db.prepare("UPDATE subtasks SET state = 'assigned', worker = ?, attempts = ?, assigned_at = ?, started_at = NULL WHERE job_id = ? AND id = ?")
        .run(worker, attempt, now, jobId, subtaskId)
    })
  }

  /** assigned → running (the worker accepted), if still that attempt (deferred). */
  running (jobId: string, subtaskId: string, attempt: number, now: number): void {
    this.defer(() => {
      this.db.prepare("UPDATE subtasks SET state = 'running', started_at = ? WHERE job_id = ? AND id = ? AND attempts = ? AND state = 'assigned'")
        .run(now, jobId, subtaskId, attempt)
    })
  }

  /** Credits spent on the job beside its committed results (replicas that checked them). */
  spend (jobId: string, amount: number, now: number): void {
    this.throwFailure()
    this.db.prepare('UPDATE jobs SET spent = spent + ?, updated_at = ? WHERE id = ?').run(amount, now, jobId)
  }

  /** How the subtask's result was checked (the last check counts). */
  setVerification (jobId: string, subtaskId: string, verification: SubtaskVerification): void {
    this.throwFailure()
    this.db.prepare('UPDATE subtasks SET verification = ? WHERE job_id = ? AND id = ?').run(JSON.stringify(verification), jobId, subtaskId)
  }

  /**
   * Accept a result if the attempt is still the current, open one; false
   * means a late duplicate (ignored). `withCommit` writes rows that must be
   * on disk exactly when the result is (a provisional result's audit), in
   * the same transaction.
   */
  commit (jobId: string, subtaskId: string, input: CommitInput, now: number, withCommit?: () => void): boolean {
    this.throwFailure()
    return this.db.transaction(() => {
      this.drain()
      const changed = this.db.prepare(`UPDATE subtasks SET state = 'committed', worker = ?, result = ?, result_hash = ?, price = ?, receipt = ?,
        finished_at = ?, error = NULL WHERE job_id = ? AND id = ? AND attempts = ? AND state IN ('assigned', 'running')`)
        .run(input.worker, JSON.stringify(input.result), input.resultHash, input.price, input.receipt, now, jobId, subtaskId, input.attempt)
      if (Number(changed.changes) === 0) return false
      this.db.prepare('UPDATE jobs SET committed = committed + 1, spent = spent + ?, updated_at = ? WHERE id = ?').run(input.price, now, jobId)
      withCommit?.()
      return true
    })
  }

  /**
   * The attempt failed: back to pending for another worker (`worker` added
   * to the excluded list when it is to blame), or failed for good.
   */
  retry (jobId: string, subtaskId: string, attempt: number, error: ErrorBody, blame: string | undefined, failForGood: boolean, now: number): void {
    this.throwFailure()
    this.db.transaction(() => {
      this.drain()
      const row = this.db.prepare('SELECT excluded FROM subtasks WHERE job_id = ? AND id = ? AND attempts = ?').get(jobId, subtaskId, attempt) as { excluded: string } | undefined
      if (row === undefined) return
      const excluded = JSON.parse(row.excluded) as string[]
      if (blame !== undefined && !excluded.includes(blame)) excluded.push(blame)
      const state: SubtaskState = failForGood ? 'failed' : 'pending'
      this.db.prepare(`UPDATE subtasks SET state = ?, error = ?, excluded = ?, finished_at = ? WHERE job_id = ? AND id = ? AND attempts = ? AND state IN ${OPEN_STATES}`)
        .run(state, JSON.stringify(error), JSON.stringify(excluded), failForGood ? now : null, jobId, subtaskId, attempt)
      if (failForGood) this.db.prepare('UPDATE jobs SET failed = failed + 1, updated_at = ? WHERE id = ?').run(now, jobId)
    })
  }

  /** A refused offer: the attempt is handed back without counting (a refusal is not the subtask's fault). */
  release (jobId: string, subtaskId: string, attempt: number): void {
    this.flush()
    this.db.prepare("UPDATE subtasks SET state = 'pending', attempts = attempts - 1, worker = NULL, assigned_at = NULL WHERE job_id = ? AND id = ? AND attempts = ? AND state IN ('assigned', 'running')")
      .run(jobId, subtaskId, attempt)
  }

  /**
   * After a restart: attempts that were out when the coordinator died go back
   * to pending and are handed back (a restart is nobody's failure). Their
   * streams died with the old process, so no result of theirs can arrive.
   */
  resetInterrupted (jobId: string): number {
    this.flush()
    const changed = this.db.prepare("UPDATE subtasks SET state = 'pending', started_at = NULL, attempts = max(attempts - 1, 0) WHERE job_id = ? AND state IN ('assigned', 'running')").run(jobId)
    return Number(changed.changes)
  }

  /** Every open subtask → cancelled. */
  cancelOpen (jobId: string, now: number): number {
    this.flush()
    const changed = this.db.prepare(`UPDATE subtasks SET state = 'cancelled', finished_at = ? WHERE job_id = ? AND state IN ${OPEN_STATES}`).run(now, jobId)
    return Number(changed.changes)
  }

  private defer (write: () => void): void {
    this.deferred.push(write)
    this.flushTimer ??= setImmediate(() => {
      this.flushTimer = undefined
      try {
        this.flush()
      } catch (err) {
        this.failure = err
      }
    })
  }

  /** Run the deferred writes (inside the caller's transaction). */
  private drain (): void {
    const writes = this.deferred.splice(0)
    for (const write of writes) write()
  }

  private throwFailure (): void {
    if (this.failure === undefined) return
    const failure = this.failure
    this.failure = undefined
    throw failure
  }

  private runningCount (jobId: string): number {
    const row = this.db.prepare("SELECT count(*) AS n FROM subtasks WHERE job_id = ? AND state IN ('assigned', 'running')").get(jobId) as { n: number }
    return row.n
  }
}

function toJob (row: JobRow, running: number): Job {
  return {
    id: row.id,
    type: row.type,
    input: JSON.parse(row.input) as JobInput,
    params: JSON.parse(row.params) as Record<string, unknown>,
    constraints: storedConstraints(row.constraints),
    state: row.state as JobState,
    progress: { total: row.total, committed: row.committed, running, failed: row.failed },
    spent: row.spent,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    error: row.error === null ? null : JSON.parse(row.error) as ErrorBody,
    hasResult: row.has_result === 1
  }
}

/**
 * Stored constraints: amounts are six-decimal strings. A float is credits
 * in the form written before migration 009 (which converts those rows): it
 * is read with the migration's rule, rounded to the micro-credit.
 */
function storedConstraints (text: string): JobConstraints {
  const constraints = JSON.parse(text) as Record<string, unknown>
  for (const key of ['maxPricePerSubtask', 'budget']) {
    const value = constraints[key]
    if (typeof value === 'string') constraints[key] = parseCredits(value, `constraints.${key}`)
    else if (typeof value === 'number') constraints[key] = Math.round(value * MICRO_PER_CREDIT)
  }
  return constraints as JobConstraints
}

function toSubtask (row: SubtaskRow): Subtask {
  return {
    jobId: row.job_id,
    id: row.id,
    type: row.type,
    params: JSON.parse(row.params) as Record<string, unknown>,
    deps: JSON.parse(row.deps) as string[],
    state: row.state as SubtaskState,
    attempts: row.attempts,
    worker: row.worker,
    excluded: JSON.parse(row.excluded) as string[],
    price: row.price,
    error: row.error === null ? null : JSON.parse(row.error) as ErrorBody,
    createdAt: row.created_at,
    assignedAt: row.assigned_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    resultHash: row.result_hash,
    verification: row.verification === null ? null : JSON.parse(row.verification) as SubtaskVerification
  }
}
