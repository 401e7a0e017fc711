import type { Migration } from './index.ts'

/**
 * The open auction (src/market/auction/, docs/market.md "Auctions"): the
 * NEEDs this node put out as a buyer and the PROPOSEs sellers answered
 * with. A need is decided once per epoch; each epoch names the seller it
 * went to, and the contract the decision became.
 */
export const m013Needs: Migration = {
  version: 13,
  name: 'market: needs and proposals',
  up: `
    CREATE TABLE market_needs (
      id          TEXT PRIMARY KEY,
      thread      TEXT NOT NULL UNIQUE,
      task_type   TEXT NOT NULL,
      quantity    INTEGER NOT NULL CHECK (quantity >= 1),
      budget      INTEGER NOT NULL CHECK (budget > 0),
      deadline    INTEGER NOT NULL,
      decide_mode TEXT NOT NULL CHECK (decide_mode IN ('auto', 'manual')),
      state       TEXT NOT NULL CHECK (state IN ('open', 'deciding', 'decided', 'failed', 'expired', 'cancelled')),
      epoch       INTEGER NOT NULL DEFAULT 0,
      seller      TEXT,
      contract_id TEXT,
      reason      TEXT,
      envelope    TEXT NOT NULL,
      created_at  INTEGER NOT NULL,
      updated_at  INTEGER NOT NULL
    );
    CREATE INDEX market_needs_state ON market_needs (state, deadline);
    CREATE TABLE market_proposals (
      need_id     TEXT NOT NULL REFERENCES market_needs (id),
      seller      TEXT NOT NULL,
      offer_id    TEXT NOT NULL,
      unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
      eta_ms      INTEGER NOT NULL,
      capacity    INTEGER NOT NULL,
      lamport     INTEGER NOT NULL,
      state       TEXT NOT NULL CHECK (state IN ('open', 'won', 'lost', 'failed')),
      reason      TEXT,
      envelope    TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      PRIMARY KEY (need_id, seller)
    ) WITHOUT ROWID;
  `
}
