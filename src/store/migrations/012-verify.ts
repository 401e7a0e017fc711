import type { Migration } from './index.ts'

/**
 * Verification's decisions (src/verify/, docs/verification.md): every
 * DECIDE a node booked — the winners and the losers, which a healed
 * partition needs to reconcile — so its decision book survives a restart.
 * One decision per (thread, decider, epoch), as the validator allows; rows
 * older than the retention are dropped at start.
 */
export const m012Verify: Migration = {
  version: 12,
  name: 'verify: decisions',
  up: `
    CREATE TABLE verify_decisions (
      thread   TEXT NOT NULL,
      decider  TEXT NOT NULL,
      epoch    INTEGER NOT NULL CHECK (epoch >= 0),
      lamport  INTEGER NOT NULL CHECK (lamport >= 0),
      result   TEXT NOT NULL,
      at       INTEGER NOT NULL,
      PRIMARY KEY (thread, decider, epoch)
    ) WITHOUT ROWID;
    CREATE INDEX verify_decisions_at ON verify_decisions (at);
  `
}
