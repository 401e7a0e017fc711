import type { Migration } from './index.ts'

/**
 * API keys for the OpenAI-compatible API (src/api/keys/): only the SHA-256
 * of each secret is kept, with its first characters for display. A revoked
 * key keeps its row (for `agora keys list`) with `revoked_at` set; names are
 * unique among active keys. Independent of 004.
 */
export const m005ApiKeys: Migration = {
  version: 5,
  name: 'api keys: hashed secrets for /v1',
  up: `
    CREATE TABLE api_keys (
      id           TEXT PRIMARY KEY,
      name         TEXT NOT NULL,
      hash         BLOB NOT NULL UNIQUE,
      prefix       TEXT NOT NULL,
      created_at   INTEGER NOT NULL,
      last_used_at INTEGER,
      revoked_at   INTEGER
    ) STRICT;
    CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
    CREATE INDEX api_keys_prefix ON api_keys (prefix);
  `
}
