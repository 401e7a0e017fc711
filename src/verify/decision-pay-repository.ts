/** What this node's decisions pay (migration 018): held until finalized or refunded. */
import type { Micro } from '../market/amount.ts'
import type { Database } from '../store/index.ts'

export type PayState = 'held' | 'finalized' | 'refunded'

export interface DecisionPayRow {
  thread: string
  epoch: number
  lamport: number
  result: string
  /** The escrow hold of the pay (one per try: a released hold's key is spent). */
  holdId: string
  payee: string
  receiptId: string
  amount: Micro
  state: PayState
  decidedAt: number
  settledAt: number | null
}

const COLUMNS = 'thread, epoch, lamport, result, hold_id AS holdId, payee, receipt_id AS receiptId, amount, state, decided_at AS decidedAt, settled_at AS settledAt'

export class DecisionPayRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** Keep the pay of a decision about to be made (lamport 0), over a try of the same epoch that never decided. */
  insert (row: DecisionPayRow): void {
    this.db.prepare(`INSERT INTO verify_decision_pay (thread, epoch, lamport, result, hold_id, payee, receipt_id, amount, state, decided_at, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (thread, epoch) DO UPDATE SET lamport = excluded.lamport, result = excluded.result, hold_id = excluded.hold_id, payee = excluded.payee, receipt_id = excluded.receipt_id,
        amount = excluded.amount, state = excluded.state, decided_at = excluded.decided_at, settled_at = excluded.settled_at
      WHERE verify_decision_pay.lamport = 0 AND verify_decision_pay.state = 'refunded'`)
      .run(row.thread, row.epoch, row.lamport, row.result, row.holdId, row.payee, row.receiptId, row.amount, row.state, row.decidedAt, row.settledAt)
  }

  /** The decision was made: its Lamport time and result (etcd may hold this node's earlier try). */
  decided (thread: string, epoch: number, lamport: number, result: string): void {
    this.db.prepare('UPDATE verify_decision_pay SET lamport = ?, result = ? WHERE thread = ? AND epoch = ?').run(lamport, result, thread, epoch)
  }

  get (thread: string, epoch: number): DecisionPayRow | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM verify_decision_pay WHERE thread = ? AND epoch = ?`).get(thread, epoch)
    return row === undefined ? undefined : { ...(row as unknown as DecisionPayRow) }
  }

  /** Decisions of `thread` still holding pay. */
  heldIn (thread: string): DecisionPayRow[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM verify_decision_pay WHERE thread = ? AND state = 'held' ORDER BY epoch`).all(thread) as unknown as DecisionPayRow[]
  }

  /** Every decision still holding pay, oldest first. */
  held (): DecisionPayRow[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM verify_decision_pay WHERE state = 'held' ORDER BY decided_at`).all() as unknown as DecisionPayRow[]
  }

  /** Move a held decision to `state`; false when it was not held. */
  settle (thread: string, epoch: number, state: Exclude<PayState, 'held'>, at: number): boolean {
    return this.db.prepare("UPDATE verify_decision_pay SET state = ?, settled_at = ? WHERE thread = ? AND epoch = ? AND state = 'held'").run(state, at, thread, epoch).changes > 0
  }
}
