import type { Migration } from './index.ts'

/**
 * The market books (src/market/, docs/market.md): ledger postings, entries
 * and balances, holds, receipts and payment proofs. Amounts are INTEGER
 * micro-credits; balances are signed as the ledger keeps them.
 */
export const m010Market: Migration = {
  version: 10,
  name: 'market: ledger, holds, receipts, payment proofs',
  up: `
    -- one row per applied posting; key is its idempotency key (a retry applies once, across restarts)
    CREATE TABLE ledger_postings (
      id INTEGER PRIMARY KEY,
      key TEXT NOT NULL UNIQUE,
      kind TEXT NOT NULL,
      ref TEXT,
      peer TEXT,
      at INTEGER NOT NULL
    );
    -- balance: the account's balance after this entry (wallet history reads it); an account appears
    -- once per posting, so (posting_id, account) is the key — clustered, no rowid tree to keep
    CREATE TABLE ledger_entries (
      posting_id INTEGER NOT NULL REFERENCES ledger_postings (id),
      account TEXT NOT NULL,
      amount INTEGER NOT NULL,
      balance INTEGER NOT NULL,
      PRIMARY KEY (posting_id, account)
    ) WITHOUT ROWID;
    CREATE INDEX ledger_entries_account ON ledger_entries (account, posting_id);
    -- the current balance per account, written in the same commit as the entries; closed holds are dropped
    CREATE TABLE ledger_balances (
      account TEXT PRIMARY KEY,
      balance INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- holds placed by this node (their credits are in held:<id>); released_at set once, by release or expiry
    CREATE TABLE escrow_holds (
      id TEXT PRIMARY KEY,
      amount INTEGER NOT NULL,
      expires_at INTEGER,
      ref TEXT,
      created_at INTEGER NOT NULL,
      released_at INTEGER
    );
    CREATE INDEX escrow_holds_open ON escrow_holds (expires_at) WHERE released_at IS NULL;

    -- payer side: receipts this node captured, owed to the payee; nonce: the proof that lists it
    CREATE TABLE payment_receipts_owed (
      receipt_id TEXT PRIMARY KEY,
      payee TEXT NOT NULL,
      amount INTEGER NOT NULL,
      captured_at INTEGER NOT NULL,
      nonce INTEGER
    );
    CREATE INDEX payment_receipts_owed_payee ON payment_receipts_owed (payee, nonce);
    CREATE INDEX payment_receipts_owed_open ON payment_receipts_owed (payee) WHERE nonce IS NULL;
    -- payer side: every proof this node signed (the signed envelope, ~2 KB: a rowid table); acked_at set when the payee answered OK
    CREATE TABLE payment_proofs_sent (
      payee TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      nonce INTEGER NOT NULL,
      cumulative INTEGER NOT NULL,
      root TEXT NOT NULL,
      envelope TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      acked_at INTEGER,
      PRIMARY KEY (payee, epoch, nonce)
    );
    CREATE INDEX payment_proofs_sent_open ON payment_proofs_sent (payee) WHERE acked_at IS NULL;

    -- payee side: receipts this node signed for a buyer; paid_nonce: the buyer's proof that paid it
    CREATE TABLE payment_receipts_issued (
      buyer TEXT NOT NULL,
      receipt_id TEXT NOT NULL,
      amount INTEGER NOT NULL,
      issued_at INTEGER NOT NULL,
      paid_nonce INTEGER,
      PRIMARY KEY (buyer, receipt_id)
    ) WITHOUT ROWID;
    CREATE INDEX payment_receipts_issued_unpaid ON payment_receipts_issued (buyer) WHERE paid_nonce IS NULL;
    -- payee side: every proof accepted (not only the last: a payer's older proof is evidence too)
    CREATE TABLE payment_proofs_received (
      payer TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      nonce INTEGER NOT NULL,
      cumulative INTEGER NOT NULL,
      root TEXT NOT NULL,
      digest TEXT NOT NULL,
      envelope TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      PRIMARY KEY (payer, epoch, nonce)
    );
  `
}
