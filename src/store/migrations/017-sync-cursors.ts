import type { Migration } from './index.ts'

/**
 * Where the last catch-up from each peer ended (src/verify/sync.ts), so a
 * restart does not ask every peer for the whole week of decisions again.
 */
export const m017SyncCursors: Migration = {
  version: 17,
  name: 'verify: catch-up cursors',
  up: `
    CREATE TABLE verify_sync_cursors (
      peer     TEXT PRIMARY KEY,
      at       INTEGER NOT NULL,
      thread   TEXT NOT NULL,
      decider  TEXT NOT NULL,
      epoch    INTEGER NOT NULL,
      asked_at INTEGER NOT NULL
    ) WITHOUT ROWID;
  `
}
