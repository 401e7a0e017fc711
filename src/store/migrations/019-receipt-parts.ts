import type { Migration } from './index.ts'

/**
 * Receipts paid in parts (docs/market.md "Receipts paid in parts"): a
 * buyer may capture a receipt's price in two parts — the second, the part
 * held back from a provisional result, after its audit window
 * (src/jobs/audit/). Payer side: an owed row whose key is not the receipt
 * itself names the receipt it pays part of (`part_of`), which is the id
 * its proof lists. Payee side: what parts paid so far of a receipt not
 * yet paid in full (`paid`). And the coordinator's audits of provisional
 * results, one per held-back part.
 */
export const m019ReceiptParts: Migration = {
  version: 19,
  name: 'market: receipts paid in parts; jobs: audits of provisional results',
  up: `
    ALTER TABLE payment_receipts_owed ADD COLUMN part_of TEXT;
    ALTER TABLE payment_receipts_issued ADD COLUMN paid INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE job_audits (
      receipt_id TEXT PRIMARY KEY,
      job_id     TEXT NOT NULL,
      subtask_id TEXT NOT NULL,
      worker     TEXT NOT NULL,
      type       TEXT NOT NULL,
      assignment TEXT NOT NULL,
      result     TEXT NOT NULL,
      result_hash TEXT NOT NULL,
      hold_id    TEXT NOT NULL,
      amount     INTEGER NOT NULL,
      due_at     INTEGER NOT NULL,
      state      TEXT NOT NULL CHECK (state IN ('held', 'paid', 'forfeited')),
      audited    TEXT,
      settled_at INTEGER
    );
    CREATE INDEX job_audits_held ON job_audits (due_at) WHERE state = 'held';
    CREATE INDEX job_audits_worker ON job_audits (worker) WHERE state = 'held';
  `
}
