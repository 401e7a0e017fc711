/** Small persisted settings and counters, JSON-encoded, by key. */
import type { Database } from './db.ts'

export class KvRepository {
  private readonly db: Database
  constructor (db: Database) { this.db = db }

  get<T> (key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined
    return row === undefined ? undefined : JSON.parse(row.value) as T
  }

  set (key: string, value: unknown): void {
    this.db.prepare('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
      .run(key, JSON.stringify(value), Date.now())
  }

  delete (key: string): boolean {
    return Number(this.db.prepare('DELETE FROM kv WHERE key = ?').run(key).changes) > 0
  }
}
