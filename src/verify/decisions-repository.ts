/** The decisions a node booked (migration 012), so its DecisionBook survives a restart, with the signed DECIDE and FINALIZE behind each (migrations 016, 020) for the catch-up. */
import type { Database } from '../store/index.ts'
import type { Decision } from './decisions.ts'

/** A place in the booking order: (at, thread, decider, epoch). */
export interface DecisionCursor {
  at: number
  thread: string
  decider: string
  epoch: number
}

export class DecisionsRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** Keep a booked decision and its signed DECIDE, JSON (a second copy of the same one changes nothing). */
  insert (d: Decision, at: number, envelope?: string): void {
    this.db.prepare('INSERT OR IGNORE INTO verify_decisions (thread, decider, epoch, lamport, result, at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(d.thread, d.decider, d.epoch, d.lamport, d.result, at, envelope ?? null)
  }

  /** Where the last catch-up from `peer` ended. */
  cursorOf (peer: string): DecisionCursor | undefined {
    const row = this.db.prepare('SELECT at, thread, decider, epoch FROM verify_sync_cursors WHERE peer = ?').get(peer)
    return row === undefined ? undefined : { ...(row as unknown as DecisionCursor) }
  }

  saveCursor (peer: string, cursor: DecisionCursor, askedAt: number): void {
    this.db.prepare(`INSERT INTO verify_sync_cursors (peer, at, thread, decider, epoch, asked_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (peer) DO UPDATE SET at = excluded.at, thread = excluded.thread, decider = excluded.decider, epoch = excluded.epoch, asked_at = excluded.asked_at`)
      .run(peer, cursor.at, cursor.thread, cursor.decider, cursor.epoch, askedAt)
  }

  /** Drop the cursors of peers not asked since `before` (as decisions are pruned). */
  pruneCursors (before: number): void {
    this.db.prepare('DELETE FROM verify_sync_cursors WHERE asked_at < ?').run(before)
  }

  /**
   * Signed DECIDEs and FINALIZEs kept after the cursor, in keeping order
   * (a DECIDE at its booking time, a FINALIZE at the time it was kept), at
   * most `limit`: what a peer that was away asks for. A FINALIZE is always
   * kept after its DECIDE (keepFinalize), so the two never share a place.
   */
  after (cursor: DecisionCursor, limit: number): Array<DecisionCursor & { envelope: string }> {
    const from = [cursor.at, cursor.thread, cursor.decider, cursor.epoch, limit]
    // each branch walks its own index (at; finalized_at) from the cursor: neither reads more than `limit` rows
    return this.db.prepare(`SELECT at, thread, decider, epoch, envelope FROM (
        SELECT * FROM (SELECT at, thread, decider, epoch, envelope FROM verify_decisions
          WHERE (at, thread, decider, epoch) > (?, ?, ?, ?) AND envelope IS NOT NULL ORDER BY at, thread, decider, epoch LIMIT ?)
        UNION ALL
        SELECT * FROM (SELECT finalized_at AS at, thread, decider, epoch, finalize_envelope AS envelope FROM verify_decisions
          WHERE (finalized_at, thread, decider, epoch) > (?, ?, ?, ?) AND finalize_envelope IS NOT NULL ORDER BY finalized_at, thread, decider, epoch LIMIT ?)
      ) ORDER BY at, thread, decider, epoch LIMIT ?`)
      .all(...from, ...from, limit).map(row => ({ ...(row as unknown as DecisionCursor & { envelope: string }) }))
  }

  /** Drop decisions booked before `before`. */
  prune (before: number): void {
    this.db.prepare('DELETE FROM verify_decisions WHERE at < ?').run(before)
    this.pruneCursors(before)
  }

  /** Drop decisions booked before `before`; then every one left, oldest order first (epoch, Lamport), and whether it was finalized. */
  load (before: number): Array<Decision & { finalized: boolean }> {
    this.prune(before)
    const rows = this.db.prepare('SELECT thread, decider, epoch, lamport, result, finalized_at AS finalizedAt FROM verify_decisions ORDER BY epoch, lamport, decider')
      .all() as unknown as Array<Decision & { finalizedAt: number | null }>
    return rows.map(r => ({ thread: r.thread, epoch: r.epoch, lamport: r.lamport, decider: r.decider, result: r.result, finalized: r.finalizedAt !== null }))
  }

  /**
   * Keep the signed FINALIZE of a booked decision (and mark it final) so the
   * catch-up hands it on; its place there is `at`, never before its DECIDE's.
   * False when the decision is not stored or its FINALIZE is kept already.
   */
  keepFinalize (d: Decision, envelope: string, at: number): boolean {
    return Number(this.db.prepare(`UPDATE verify_decisions SET finalize_envelope = ?, finalized_at = MAX(?, at + 1)
      WHERE thread = ? AND decider = ? AND epoch = ? AND finalize_envelope IS NULL`).run(envelope, at, d.thread, d.decider, d.epoch).changes) > 0
  }

  /** The decision is final (a FINALIZE: this node's, or its decider's taken here). */
  markFinalized (d: Decision, at: number): void {
    this.db.prepare('UPDATE verify_decisions SET finalized_at = ? WHERE thread = ? AND decider = ? AND epoch = ? AND finalized_at IS NULL').run(at, d.thread, d.decider, d.epoch)
  }
}
