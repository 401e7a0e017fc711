import type { Migration } from './index.ts'

/**
 * The metering table (src/gateway/metering/): one row per inference request
 * the gateway routed, whatever its outcome: who asked (a local API key or a
 * peer), who served it (this node's provider or a peer), tokens, latencies,
 * attempts and the price owed by the serving offer's prices. Oldest rows are
 * pruned beyond a row cap. Independent of 002 and 003.
 */
export const m004Requests: Migration = {
  version: 4,
  name: 'requests: metering of inference requests',
  up: `
    CREATE TABLE requests (
      id                TEXT PRIMARY KEY,
      ts                INTEGER NOT NULL,
      requester_kind    TEXT NOT NULL CHECK (requester_kind IN ('local', 'peer')),
      requester         TEXT,
      server            TEXT NOT NULL,
      provider          TEXT,
      model             TEXT NOT NULL,
      op                TEXT NOT NULL CHECK (op IN ('chat', 'embeddings')),
      prompt_tokens     INTEGER NOT NULL DEFAULT 0,
      completion_tokens INTEGER NOT NULL DEFAULT 0,
      first_token_ms    REAL,
      total_ms          REAL NOT NULL,
      outcome           TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'cancelled')),
      error_code        TEXT,
      price             REAL NOT NULL DEFAULT 0,
      attempts          INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX requests_ts ON requests (ts);
    CREATE INDEX requests_model_ts ON requests (model, ts);
  `
}
