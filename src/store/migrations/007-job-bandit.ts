import type { Migration } from './index.ts'

/**
 * The jobs router's bandit (src/jobs/router/): per (worker peer, task type)
 * the decayed successes and failures behind its Thompson-sampling draw, when
 * they were last decayed, and when the worker last succeeded (the recency
 * term of the score). Written behind (batched), bounded in rows: the least
 * recently updated pairs are forgotten first. Independent of 006.
 */
export const m007JobBandit: Migration = {
  version: 7,
  name: 'job bandit: decayed successes and failures per worker and task type',
  up: `
    CREATE TABLE job_bandit (
      peer            TEXT NOT NULL,
      task_type       TEXT NOT NULL,
      successes       REAL NOT NULL DEFAULT 0,
      failures        REAL NOT NULL DEFAULT 0,
      last_success_at INTEGER,
      updated_at      INTEGER NOT NULL,
      PRIMARY KEY (peer, task_type)
    ) STRICT;
    CREATE INDEX job_bandit_updated_at ON job_bandit (updated_at);
  `
}
