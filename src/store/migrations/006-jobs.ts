import type { Migration } from './index.ts'

/**
 * Jobs and their subtasks (src/jobs/store/). A job row carries its spec, its
 * state, counters kept in step with its subtasks in the same transactions,
 * and the aggregated result. A subtask row carries its plan (type, params,
 * input, dependencies), its attempt state and, once committed, its result,
 * the result's hash and the worker's signed receipt. Everything a
 * coordinator needs to resume a job after a crash is here.
 */
export const m006Jobs: Migration = {
  version: 6,
  name: 'jobs: jobs and subtasks',
  up: `
    CREATE TABLE jobs (
      id          TEXT PRIMARY KEY,
      type        TEXT NOT NULL,
      input       TEXT NOT NULL,
      params      TEXT NOT NULL,
      constraints TEXT NOT NULL,
      state       TEXT NOT NULL,
      total       INTEGER NOT NULL DEFAULT 0,
      committed   INTEGER NOT NULL DEFAULT 0,
      failed      INTEGER NOT NULL DEFAULT 0,
      spent       REAL NOT NULL DEFAULT 0,
      created_at  INTEGER NOT NULL,
      updated_at  INTEGER NOT NULL,
      finished_at INTEGER,
      error       TEXT,
      result      TEXT
    ) STRICT;
    CREATE INDEX jobs_state ON jobs (state, created_at);
    CREATE INDEX jobs_created ON jobs (created_at);

    CREATE TABLE subtasks (
      job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
      id          TEXT NOT NULL,
      seq         INTEGER NOT NULL,
      type        TEXT NOT NULL,
      params      TEXT NOT NULL,
      input       TEXT,
      deps        TEXT NOT NULL,
      state       TEXT NOT NULL,
      attempts    INTEGER NOT NULL DEFAULT 0,
      worker      TEXT,
      excluded    TEXT NOT NULL DEFAULT '[]',
      price       REAL,
      error       TEXT,
      created_at  INTEGER NOT NULL,
      assigned_at INTEGER,
      started_at  INTEGER,
      finished_at INTEGER,
      result_hash TEXT,
      result      TEXT,
      receipt     TEXT,
      PRIMARY KEY (job_id, id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX subtasks_seq ON subtasks (job_id, seq);
    -- counting a job's running subtasks (every progress event and API read) without scanning the job
    CREATE INDEX subtasks_state ON subtasks (job_id, state);
  `
}
