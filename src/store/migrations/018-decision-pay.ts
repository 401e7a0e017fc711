import type { Migration } from './index.ts'

/**
 * What a decision this node made pays (src/verify/settlement.ts): the
 * credits it holds for the decided result's producer until the decision is
 * FINALIZEd (captured) or orphaned by a later one (refunded, RECONCILE).
 * `lamport` 0: held, not decided yet (or never: refunded). And which booked
 * decisions are final, so a restart keeps refusing to change them.
 */
export const m018DecisionPay: Migration = {
  version: 18,
  name: 'verify: decisions that hold pay, final decisions',
  up: `
    CREATE TABLE verify_decision_pay (
      thread     TEXT NOT NULL,
      epoch      INTEGER NOT NULL,
      lamport    INTEGER NOT NULL,
      result     TEXT NOT NULL,
      hold_id    TEXT NOT NULL,
      payee      TEXT NOT NULL,
      receipt_id TEXT NOT NULL,
      amount     INTEGER NOT NULL,
      state      TEXT NOT NULL CHECK (state IN ('held', 'finalized', 'refunded')),
      decided_at INTEGER NOT NULL,
      settled_at INTEGER,
      PRIMARY KEY (thread, epoch)
    ) WITHOUT ROWID;
    CREATE INDEX verify_decision_pay_held ON verify_decision_pay (decided_at) WHERE state = 'held';
    ALTER TABLE verify_decisions ADD COLUMN finalized_at INTEGER;
  `
}
