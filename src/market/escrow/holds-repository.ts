/** The escrow_holds table (migration 010): one row per hold, released_at set once. */
import type { Database } from '../../store/index.ts'
import type { Micro } from '../amount.ts'

export interface HoldRow {
  id: string
  amount: Micro
  expiresAt: number | null
  ref: string | null
  createdAt: number
  releasedAt: number | null
}

const COLUMNS = 'id, amount, expires_at AS expiresAt, ref, created_at AS createdAt, released_at AS releasedAt'

export class HoldsRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  open (): HoldRow[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM escrow_holds WHERE released_at IS NULL`).all() as unknown as HoldRow[]
  }

  get (id: string): HoldRow | undefined {
    return this.db.prepare(`SELECT ${COLUMNS} FROM escrow_holds WHERE id = ?`).get(id) as HoldRow | undefined
  }

  insert (row: HoldRow): void {
    this.db.prepare('INSERT INTO escrow_holds (id, amount, expires_at, ref, created_at, released_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(row.id, row.amount, row.expiresAt, row.ref, row.createdAt, row.releasedAt)
  }

  released (id: string, at: number): void {
    this.db.prepare('UPDATE escrow_holds SET released_at = ? WHERE id = ? AND released_at IS NULL').run(at, id)
  }
}
