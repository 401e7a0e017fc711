/**
 * Persisted (signer, nonce) pairs seen in accepted envelopes, kept until the
 * envelope would be too old anyway. Survives restarts, so a replay after a
 * restart is still caught.
 */
import type { Database } from './db.ts'

export class ReplayRepository {
  private readonly db: Database
  constructor (db: Database) { this.db = db }

  /** Record the pair; false when it was already there (a replay). */
  remember (signer: string, nonce: string, expiresAt: number): boolean {
    const result = this.db.prepare('INSERT OR IGNORE INTO replay_guard (signer, nonce, expires_at) VALUES (?, ?, ?)')
      .run(signer, nonce, expiresAt)
    return Number(result.changes) === 1
  }

  /** Drop pairs whose envelopes the timestamp window rejects already. */
  prune (now: number): number {
    return Number(this.db.prepare('DELETE FROM replay_guard WHERE expires_at < ?').run(now).changes)
  }

  count (): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM replay_guard').get() as { n: number }).n
  }
}
