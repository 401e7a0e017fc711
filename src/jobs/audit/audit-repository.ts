/** The coordinator's audits of provisional results (migration 019): one row per held-back part of a receipt's pay. */
import type { Database } from '../../store/index.ts'
import type { Micro } from '../../market/amount.ts'
import type { TaskAssignment } from '../protocol/types.ts'

export type AuditState = 'held' | 'paid' | 'forfeited'
/** How the held-back part was settled: re-run and agreed or disagreed, not drawn, re-run impossible, forfeited with another, or its hold gone. */
export type AuditVerdict = 'agreed' | 'disagreed' | 'not-drawn' | 'unverified' | 'with-another' | 'hold-gone'

export interface AuditRow {
  /** The worker's receipt (the capture of the first part); the part held back is `<receiptId>#rest`. */
  receiptId: string
  jobId: string
  subtaskId: string
  worker: string
  type: string
  assignment: TaskAssignment
  result: unknown
  resultHash: string
  /** Where the part waits: a hold of its own. */
  holdId: string
  amount: Micro
  dueAt: number
  state: AuditState
  audited: AuditVerdict | null
  settledAt: number | null
}

interface StoredRow extends Omit<AuditRow, 'assignment' | 'result'> {
  assignment: string
  result: string
}

const COLUMNS = 'receipt_id AS receiptId, job_id AS jobId, subtask_id AS subtaskId, worker, type, assignment, result, result_hash AS resultHash, ' +
  'hold_id AS holdId, amount, due_at AS dueAt, state, audited, settled_at AS settledAt'

export class AuditRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** Idempotent per receipt: false when it was recorded before. */
  insert (row: AuditRow): boolean {
    const result = this.db.prepare('INSERT OR IGNORE INTO job_audits (receipt_id, job_id, subtask_id, worker, type, assignment, result, result_hash, hold_id, amount, due_at, state, audited, settled_at) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)')
      .run(row.receiptId, row.jobId, row.subtaskId, row.worker, row.type, JSON.stringify(row.assignment), JSON.stringify(row.result), row.resultHash, row.holdId, row.amount, row.dueAt, row.state)
    return result.changes > 0
  }

  get (receiptId: string): AuditRow | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM job_audits WHERE receipt_id = ?`).get(receiptId) as StoredRow | undefined
    return row === undefined ? undefined : parsed(row)
  }

  /** Parts still held that are due at `now`, soonest first, at most `limit`. */
  due (now: number, limit: number): AuditRow[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM job_audits WHERE state = 'held' AND due_at <= ? ORDER BY due_at LIMIT ?`).all(now, limit) as unknown as StoredRow[]).map(parsed)
  }

  /** `worker`'s parts still held. */
  heldOf (worker: string): AuditRow[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM job_audits WHERE worker = ? AND state = 'held'`).all(worker) as unknown as StoredRow[]).map(parsed)
  }

  /** The parts of a job, for its view. */
  ofJob (jobId: string): Array<Pick<AuditRow, 'receiptId' | 'subtaskId' | 'worker' | 'amount' | 'dueAt' | 'state' | 'audited'>> {
    return this.db.prepare('SELECT receipt_id AS receiptId, subtask_id AS subtaskId, worker, amount, due_at AS dueAt, state, audited FROM job_audits WHERE job_id = ? ORDER BY due_at')
      .all(jobId) as unknown as Array<Pick<AuditRow, 'receiptId' | 'subtaskId' | 'worker' | 'amount' | 'dueAt' | 'state' | 'audited'>>
  }

  /** Held → paid or forfeited, once. */
  settle (receiptId: string, state: Exclude<AuditState, 'held'>, audited: AuditVerdict, at: number): boolean {
    return this.db.prepare('UPDATE job_audits SET state = ?, audited = ?, settled_at = ? WHERE receipt_id = ? AND state = \'held\'').run(state, audited, at, receiptId).changes > 0
  }
}

function parsed (row: StoredRow): AuditRow {
  return { ...row, assignment: JSON.parse(row.assignment) as TaskAssignment, result: JSON.parse(row.result) as unknown }
}
