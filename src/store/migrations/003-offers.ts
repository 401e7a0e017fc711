import type { Migration } from './index.ts'

/**
 * The offer table (src/offers/): one row per origin node holding its latest
 * signed OFFER or WITHDRAW envelope (the tombstone), as received, so a
 * restarted node keeps what it knew and can serve it to anti-entropy peers.
 * Rows are dropped when `expires_at` passes. Independent of 002.
 */
export const m003Offers: Migration = {
  version: 3,
  name: 'offers: latest signed offer or tombstone per node',
  up: `
    CREATE TABLE offers (
      origin     TEXT PRIMARY KEY,
      offer_id   TEXT NOT NULL,
      lamport    INTEGER NOT NULL,
      kind       TEXT NOT NULL CHECK (kind IN ('OFFER', 'WITHDRAW')),
      expires_at INTEGER NOT NULL,
      envelope   TEXT NOT NULL
    ) STRICT;
    CREATE INDEX offers_expires_at ON offers (expires_at);
  `
}
