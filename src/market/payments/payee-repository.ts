/** The payee side's tables (migrations 010, 019, 021): receipts this node issued, every proof it accepted, the VOIDs it booked. */
import type { Database } from '../../store/index.ts'
import type { Micro } from '../amount.ts'
import { inChunks, placeholders } from './batch.ts'

export interface IssuedRow {
  buyer: string
  id: string
  amount: Micro
  /** Paid in parts so far, while not paid in full (then `paidNonce` is set). */
  paid: Micro
  /** Settled by the payer's VOID (migration 021): never to be paid, not unpaid either. */
  voided: Micro
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

const ISSUED = 'buyer, receipt_id AS id, amount, paid, voided, paid_nonce AS paidNonce'
const RECEIVED = 'epoch, nonce, cumulative, root, digest, envelope, received_at AS receivedAt'

export class PayeeRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** Receipts neither paid in full nor settled by paid parts and a VOID (a receipt of 0 stays until a proof lists it). */
  unpaid (): IssuedRow[] {
    return this.db.prepare(`SELECT ${ISSUED} FROM payment_receipts_issued WHERE paid_nonce IS NULL AND (voided = 0 OR paid + voided < amount)`)
      .all() as unknown as IssuedRow[]
  }

  issued (buyer: string, id: string): IssuedRow | undefined {
    return this.db.prepare(`SELECT ${ISSUED} FROM payment_receipts_issued WHERE buyer = ? AND receipt_id = ?`)
      .get(buyer, id) as IssuedRow | undefined
  }

  /** Voided in all, per buyer. */
  voidedTotals (): Array<{ buyer: string, voided: Micro }> {
    return this.db.prepare('SELECT buyer, SUM(voided) AS voided FROM payment_receipts_issued WHERE voided > 0 GROUP BY buyer').all() as unknown as Array<{ buyer: string, voided: Micro }>
  }

  /** The VOID booked against a receipt (JSON), if any: the evidence. */
  voidEnvelope (buyer: string, id: string): string | undefined {
    const row = this.db.prepare('SELECT void_envelope AS envelope FROM payment_receipts_issued WHERE buyer = ? AND receipt_id = ?').get(buyer, id) as { envelope: string | null } | undefined
    return row?.envelope ?? undefined
  }

  /** Book a VOID against a receipt not voided before (history kept: the paid parts stay as they are). */
  void (buyer: string, id: string, amount: Micro, envelope: string, at: number): void {
    this.db.prepare('UPDATE payment_receipts_issued SET voided = ?, void_envelope = ?, voided_at = ? WHERE buyer = ? AND receipt_id = ? AND voided = 0')
      .run(amount, envelope, at, buyer, id)
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
