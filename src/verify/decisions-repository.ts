/** The decisions a node booked (migration 012), so its DecisionBook survives a restart. */
import type { Database } from '../store/index.ts'
import type { Decision } from './decisions.ts'

export class DecisionsRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** Keep a booked decision (a second copy of the same one changes nothing). */
  insert (d: Decision, at: number): void {
    this.db.prepare('INSERT OR IGNORE INTO verify_decisions (thread, decider, epoch, lamport, result, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(d.thread, d.decider, d.epoch, d.lamport, d.result, at)
  }

  /** Drop decisions booked before `before`. */
  prune (before: number): void {
    this.db.prepare('DELETE FROM verify_decisions WHERE at < ?').run(before)
  }

  /** Drop decisions booked before `before`; then every one left, oldest order first (epoch, Lamport). */
  load (before: number): Decision[] {
    this.prune(before)
    const rows = this.db.prepare('SELECT thread, decider, epoch, lamport, result FROM verify_decisions ORDER BY epoch, lamport, decider')
      .all() as unknown as Decision[]
    return rows.map(r => ({ thread: r.thread, epoch: r.epoch, lamport: r.lamport, decider: r.decider, result: r.result }))
  }
}
