/** The payee side's tables (migration 010): receipts this node issued, and every proof it accepted. */
import type { Database } from '../../store/index.ts'
import type { Micro } from '../amount.ts'
import { inChunks, placeholders } from './batch.ts'

export interface IssuedRow {
  buyer: string
  id: string
  amount: Micro
  /** Paid in parts so far, while not paid in full (then `paidNonce` is set). */
  paid: Micro
  paidNonce: number | null
}

export interface ReceivedRow {
  epoch: number
  nonce: number
  cumulative: Micro
  root: string
  digest: string
  /** The signed envelope, JSON. */
  envelope: string
  receivedAt: number
}

const RECEIVED = 'epoch, nonce, cumulative, root, digest, envelope, received_at AS receivedAt'

export class PayeeRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  unpaid (): IssuedRow[] {
    return this.db.prepare('SELECT buyer, receipt_id AS id, amount, paid, paid_nonce AS paidNonce FROM payment_receipts_issued WHERE paid_nonce IS NULL')
      .all() as unknown as IssuedRow[]
  }

  issued (buyer: string, id: string): IssuedRow | undefined {
    return this.db.prepare('SELECT buyer, receipt_id AS id, amount, paid, paid_nonce AS paidNonce FROM payment_receipts_issued WHERE buyer = ? AND receipt_id = ?')
      .get(buyer, id) as IssuedRow | undefined
  }

  issue (row: IssuedRow, at: number): void {
    this.db.prepare('INSERT OR IGNORE INTO payment_receipts_issued (buyer, receipt_id, amount, issued_at, paid_nonce) VALUES (?, ?, ?, ?, NULL)')
      .run(row.buyer, row.id, row.amount, at)
  }

  last (payer: string, epoch: number): ReceivedRow | undefined {
    return this.db.prepare(`SELECT ${RECEIVED} FROM payment_proofs_received WHERE payer = ? AND epoch = ? ORDER BY nonce DESC LIMIT 1`)
      .get(payer, epoch) as ReceivedRow | undefined
  }

  digestOf (payer: string, epoch: number, nonce: number): string | undefined {
    const row = this.db.prepare('SELECT digest FROM payment_proofs_received WHERE payer = ? AND epoch = ? AND nonce = ?').get(payer, epoch, nonce) as { digest: string } | undefined
    return row?.digest
  }

  /** Every proof accepted from `payer`, oldest first. */
  received (payer: string, limit: number): ReceivedRow[] {
    return this.db.prepare(`SELECT ${RECEIVED} FROM payment_proofs_received WHERE payer = ? ORDER BY epoch, nonce LIMIT ?`).all(payer, limit) as unknown as ReceivedRow[]
  }

  /**
   * Store an accepted proof and mark the receipts it paid: `receiptIds` in
   * full by this proof alone; `parts` paid in parts (what is paid now in all,
   * and whether that is the whole receipt).
   */
  insertProof (payer: string, row: ReceivedRow, receiptIds: readonly string[], parts: readonly IssuedRow[] = []): void {
    this.db.prepare('INSERT INTO payment_proofs_received (payer, epoch, nonce, cumulative, root, digest, envelope, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(payer, row.epoch, row.nonce, row.cumulative, row.root, row.digest, row.envelope, row.receivedAt)
    inChunks(receiptIds, (size, ids) => {
      this.db.prepare(`UPDATE payment_receipts_issued SET paid_nonce = ? WHERE buyer = ? AND receipt_id IN (${placeholders(size)}) AND paid_nonce IS NULL`)
        .run(row.nonce, payer, ...ids)
    })
    for (const part of parts) {
      this.db.prepare('UPDATE payment_receipts_issued SET paid = ?, paid_nonce = ? WHERE buyer = ? AND receipt_id = ? AND paid_nonce IS NULL')
        .run(part.paid, part.paidNonce, payer, part.id)
    }
  }
}
