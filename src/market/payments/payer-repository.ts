/** The payer side's tables (migration 010): receipts owed per payee, and every proof this node signed. */
import type { Database } from '../../store/index.ts'
import type { Micro } from '../amount.ts'
import { inChunks, placeholders } from './batch.ts'

export interface OwedRow {
  /** The capture's receipt id (the row's key). */
  id: string
  amount: Micro
  at: number
  /** A part of this receipt: the id the proof lists (undefined: `id` itself). */
  partOf: string | undefined
}

export interface SentRow {
  epoch: number
  nonce: number
  cumulative: Micro
  root: string
  /** The signed envelope, JSON. */
  envelope: string
  ackedAt: number | null
}

const SENT = 'epoch, nonce, cumulative, root, envelope, acked_at AS ackedAt'

export class PayerRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** Payees with receipts in no proof yet, or a proof not acknowledged yet. */
  openPayees (): string[] {
    const rows = this.db.prepare('SELECT payee FROM payment_receipts_owed WHERE nonce IS NULL UNION SELECT payee FROM payment_proofs_sent WHERE acked_at IS NULL').all() as Array<{ payee: string }>
    return rows.map(row => row.payee)
  }

  /** Receipts owed to `payee` that no proof lists, in capture order. */
  unlisted (payee: string): OwedRow[] {
    const rows = this.db.prepare('SELECT receipt_id AS id, amount, captured_at AS at, part_of AS partOf FROM payment_receipts_owed WHERE payee = ? AND nonce IS NULL ORDER BY rowid')
      .all(payee) as unknown as Array<Omit<OwedRow, 'partOf'> & { partOf: string | null }>
    return rows.map(row => ({ ...row, partOf: row.partOf ?? undefined }))
  }

  lastAcked (payee: string, epoch: number): SentRow | undefined {
    return this.db.prepare(`SELECT ${SENT} FROM payment_proofs_sent WHERE payee = ? AND epoch = ? AND acked_at IS NOT NULL ORDER BY nonce DESC LIMIT 1`)
      .get(payee, epoch) as SentRow | undefined
  }

  outstanding (payee: string, epoch: number): SentRow | undefined {
    return this.db.prepare(`SELECT ${SENT} FROM payment_proofs_sent WHERE payee = ? AND epoch = ? AND acked_at IS NULL ORDER BY nonce LIMIT 1`)
      .get(payee, epoch) as SentRow | undefined
  }

  /** Every proof sent to `payee`, oldest first. */
  sent (payee: string, limit: number): SentRow[] {
    return this.db.prepare(`SELECT ${SENT} FROM payment_proofs_sent WHERE payee = ? ORDER BY epoch, nonce LIMIT ?`).all(payee, limit) as unknown as SentRow[]
  }

  owe (receiptId: string, payee: string, amount: Micro, at: number, partOf: string | undefined): void {
    this.db.prepare('INSERT OR IGNORE INTO payment_receipts_owed (receipt_id, payee, amount, captured_at, part_of) VALUES (?, ?, ?, ?, ?)').run(receiptId, payee, amount, at, partOf ?? null)
  }

  /** Store a new proof and mark the owed rows (by their keys) it lists. */
  insertProof (payee: string, row: SentRow, receiptIds: readonly string[], at: number): void {
    this.db.prepare('INSERT INTO payment_proofs_sent (payee, epoch, nonce, cumulative, root, envelope, created_at, acked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)')
      .run(payee, row.epoch, row.nonce, row.cumulative, row.root, row.envelope, at)
    inChunks(receiptIds, (size, ids) => {
      this.db.prepare(`UPDATE payment_receipts_owed SET nonce = ? WHERE receipt_id IN (${placeholders(size)})`).run(row.nonce, ...ids)
    })
  }

  acked (payee: string, epoch: number, nonce: number, at: number): void {
    this.db.prepare('UPDATE payment_proofs_sent SET acked_at = ? WHERE payee = ? AND epoch = ? AND nonce = ? AND acked_at IS NULL').run(at, payee, epoch, nonce)
  }
}
