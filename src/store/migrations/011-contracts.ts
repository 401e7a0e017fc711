import type { Migration } from './index.ts'

/**
 * Market contracts and per-peer credit limits (src/market/contracts/,
 * docs/market.md). A contract row is one side's copy (`role`): the buyer
 * keeps the seller's signed quote (the ACCEPT envelope) and the id of the
 * hold that pays for it; the seller keeps the buyer's signed REQUEST. Both
 * sides use the seller's contract id; (role, buyer, request_id) is unique,
 * so a request asked again (the buyer polling a pending decision) finds its
 * contract. Amounts are integer micro-credits. A credit limit row overrides
 * market.creditLimit / market.trustedCreditLimit for one peer.
 */
export const m011Contracts: Migration = {
  version: 11,
  name: 'market: contracts and credit limits',
  up: `
    CREATE TABLE market_contracts (
      id          TEXT PRIMARY KEY,
      role        TEXT NOT NULL CHECK (role IN ('buyer', 'seller')),
      buyer       TEXT NOT NULL,
      seller      TEXT NOT NULL,
      request_id  TEXT NOT NULL,
      offer_id    TEXT NOT NULL,
      what        TEXT NOT NULL,
      quantity    INTEGER NOT NULL CHECK (quantity > 0),
      unit_price  INTEGER NOT NULL CHECK (unit_price >= 0),
      max_total   INTEGER NOT NULL CHECK (max_total >= 0),
      captured    INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= max_total),
      expires_at  INTEGER NOT NULL,
      state       TEXT NOT NULL CHECK (state IN ('proposed', 'accepted', 'rejected', 'settled', 'refunded', 'expired', 'cancelled')),
      reason      TEXT,
      hold_id     TEXT,
      signed      TEXT,
      created_at  INTEGER NOT NULL,
      updated_at  INTEGER NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX market_contracts_request ON market_contracts (role, buyer, request_id);
    -- the expiry sweep and the open contracts of a pair (exposure, contractFor)
    CREATE INDEX market_contracts_open ON market_contracts (state, expires_at);
    CREATE INDEX market_contracts_seller ON market_contracts (seller, state);
    CREATE INDEX market_contracts_buyer ON market_contracts (buyer, state);
    CREATE INDEX market_contracts_created ON market_contracts (created_at);

    CREATE TABLE market_credit_limits (
      peer        TEXT PRIMARY KEY,
      limit_micro INTEGER NOT NULL CHECK (limit_micro >= 0),
      updated_at  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
  `
}
