import type { Migration } from './index.ts'

/**
 * Receipts settled by a VOID (docs/market.md "Voided parts"): when a
 * coordinator forfeits a worker's held-back part after an audit, it tells
 * the worker with a signed VOID. Payee side: how much of a receipt was
 * voided, the VOID itself (evidence) and when — a receipt whose parts paid
 * plus voided add up to its price is no longer unpaid; nothing is deleted.
 * Payer side: the VOIDs this node signed, kept until the payee acknowledged
 * each (resent until then).
 */
export const m021ReceiptVoids: Migration = {
  version: 21,
  name: 'market: receipts settled by a VOID',
  up: `
    ALTER TABLE payment_receipts_issued ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE payment_receipts_issued ADD COLUMN void_envelope TEXT;
    ALTER TABLE payment_receipts_issued ADD COLUMN voided_at INTEGER;
    CREATE TABLE payment_voids_sent (
      payee      TEXT NOT NULL,
      receipt_id TEXT NOT NULL,
      amount     INTEGER NOT NULL,
      envelope   TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      acked_at   INTEGER,
      PRIMARY KEY (payee, receipt_id)
    );
    CREATE INDEX payment_voids_sent_open ON payment_voids_sent (payee) WHERE acked_at IS NULL;
  `
}
