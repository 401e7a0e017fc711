import type { Migration } from './index.ts'

/**
 * Adaptive replication's standings (src/verify/replication.ts): per worker
 * and task type, its streak of cross-checked valid results, its share in
 * the router and its counts — so a restart neither trusts a caught worker
 * again nor makes a trusted one start over. Rows untouched for 30 days are
 * dropped at start.
 */
export const m015VerifyStandings: Migration = {
  version: 15,
  name: 'verify: adaptive replication standings',
  up: `
    CREATE TABLE verify_standings (
      worker     TEXT NOT NULL,
      task_type  TEXT NOT NULL,
      streak     INTEGER NOT NULL CHECK (streak >= 0),
      share      REAL NOT NULL CHECK (share > 0 AND share <= 1),
      checks     INTEGER NOT NULL CHECK (checks >= 0),
      invalid    INTEGER NOT NULL CHECK (invalid >= 0),
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (worker, task_type)
    ) WITHOUT ROWID;
    CREATE INDEX verify_standings_updated ON verify_standings (updated_at);
  `
}
