/** Adaptive replication's standings on disk (migration 015), so they survive a restart. */
import type { Database } from '../store/index.ts'

export interface StandingRow {
  worker: string
  taskType: string
  streak: number
  share: number
  checks: number
  invalid: number
}

/** What AdaptiveReplication needs of a store. */
export interface StandingsStore {
  load(): StandingRow[]
  save(row: StandingRow): void
}

export class StandingsRepository implements StandingsStore {
  private readonly db: Database
  private readonly now: () => number
  private readonly retentionMs: number

  constructor (db: Database, init: { now?: () => number, retentionMs?: number } = {}) {
    this.db = db
    this.now = init.now ?? Date.now
    this.retentionMs = init.retentionMs ?? 30 * 24 * 3600_000
  }

  /** Drop standings untouched for the retention, then every one left. */
  load (): StandingRow[] {
    this.db.prepare('DELETE FROM verify_standings WHERE updated_at < ?').run(this.now() - this.retentionMs)
    return this.db.prepare('SELECT worker, task_type AS taskType, streak, share, checks, invalid FROM verify_standings').all()
      .map(row => ({ ...(row as unknown as StandingRow) }))
  }

  save (row: StandingRow): void {
    this.db.prepare(`INSERT INTO verify_standings (worker, task_type, streak, share, checks, invalid, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (worker, task_type) DO UPDATE SET streak = excluded.streak, share = excluded.share, checks = excluded.checks, invalid = excluded.invalid, updated_at = excluded.updated_at`)
      .run(row.worker, row.taskType, row.streak, row.share, row.checks, row.invalid, this.now())
  }
}
