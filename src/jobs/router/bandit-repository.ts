/** The job_bandit table (migration 007): one row per (worker peer, task type). */
import type { Database } from '../../store/index.ts'

export interface ArmRow {
  peer: string
  taskType: string
  /** Decayed successes as of `updatedAt`. */
  successes: number
  /** Decayed, weighted failures as of `updatedAt`. */
  failures: number
  lastSuccessAt: number | null
  updatedAt: number
}

interface Row {
  peer: string
  task_type: string
  successes: number
  failures: number
  last_success_at: number | null
  updated_at: number
}

export class BanditRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** The `limit` most recently updated rows, newest first. */
  recent (limit: number): ArmRow[] {
    const rows = this.db.prepare('SELECT peer, task_type, successes, failures, last_success_at, updated_at FROM job_bandit ORDER BY updated_at DESC, peer, task_type LIMIT ?')
      .all(limit) as unknown as Row[]
    return rows.map(r => ({ peer: r.peer, taskType: r.task_type, successes: r.successes, failures: r.failures, lastSuccessAt: r.last_success_at, updatedAt: r.updated_at }))
  }

  /** Forget every row but the `keep` most recently updated. Returns the rows deleted. */
  trim (keep: number): number {
    const result = this.db.prepare(`DELETE FROM job_bandit WHERE rowid NOT IN (
      SELECT rowid FROM job_bandit ORDER BY updated_at DESC, peer, task_type LIMIT ?)`).run(keep)
    return Number(result.changes)
  }

  /** Write these rows and delete those pairs, in one transaction. */
  write (upserts: readonly ArmRow[], deletes: ReadonlyArray<{ peer: string, taskType: string }>): void {
    if (upserts.length === 0 && deletes.length === 0) return
    const upsert = this.db.prepare(`INSERT INTO job_bandit (peer, task_type, successes, failures, last_success_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (peer, task_type) DO UPDATE SET successes = excluded.successes, failures = excluded.failures,
        last_success_at = excluded.last_success_at, updated_at = excluded.updated_at`)
    const remove = this.db.prepare('DELETE FROM job_bandit WHERE peer = ? AND task_type = ?')
    this.db.transaction(() => {
      for (const d of deletes) remove.run(d.peer, d.taskType)
      for (const r of upserts) upsert.run(r.peer, r.taskType, r.successes, r.failures, r.lastSuccessAt, Math.round(r.updatedAt))
    })
  }

  count (): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM job_bandit').get() as { n: number }).n
  }
}
