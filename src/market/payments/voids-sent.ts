/**
 * The payer side of VOIDs (docs/market.md "Voided parts"): the VOIDs this
 * node signed for parts of receipts it will never pay (a held-back part
 * forfeited after an audit), kept until the payee acknowledged each one,
 * and what they voided in all per payee (the wallet view). One VOID per
 * receipt: asked again, the one signed before is kept, so a resend is
 * byte-for-byte the same message. Rows ride the ledger's group commit.
 */
import { parseEnvelope, type Envelope, type NodeIdentity } from '../../identity/index.ts'
import type { Database } from '../../store/index.ts'
import type { Micro } from '../amount.ts'
import type { Ledger } from '../ledger/index.ts'
import { signVoid, type VoidInput } from './void.ts'

export interface SentVoidsComponents {
  db: Database
  ledger: Pick<Ledger, 'write' | 'onReload'>
  identity: NodeIdentity
}

export interface OpenVoid {
  payee: string
  receiptId: string
  amount: Micro
  envelope: Envelope
}

export class SentVoids {
  private readonly db: Database
  private readonly ledger: SentVoidsComponents['ledger']
  private readonly identity: NodeIdentity
  private readonly now: () => number
  /** Not acknowledged yet, per payee then receipt (queued or on disk). */
  private open = new Map<string, Map<string, OpenVoid>>()
  private totals = new Map<string, Micro>()
  private known = new Set<string>()

  constructor (components: SentVoidsComponents, init: { now?: () => number } = {}) {
    this.db = components.db
    this.ledger = components.ledger
    this.identity = components.identity
    this.now = init.now ?? Date.now
    this.load()
    components.ledger.onReload(() => { this.load() })
  }

  /** Sign and keep a VOID of `input.receiptId` (once: false when one was signed before). */
  add (input: VoidInput): boolean {
    const key = `${input.payee}\n${input.receiptId}`
    if (this.known.has(key)) return false
    const at = this.now()
    const envelope = signVoid(this.identity, input, at)
    this.known.add(key)
    this.remember({ payee: input.payee, receiptId: input.receiptId, amount: input.amount, envelope })
    this.totals.set(input.payee, (this.totals.get(input.payee) ?? 0) + input.amount)
    const json = JSON.stringify(envelope)
    this.ledger.write(() => {
      this.db.prepare('INSERT OR IGNORE INTO payment_voids_sent (payee, receipt_id, amount, envelope, created_at, acked_at) VALUES (?, ?, ?, ?, ?, NULL)')
        .run(input.payee, input.receiptId, input.amount, json, at)
    })
    return true
  }

  /** The VOIDs to `payee` not acknowledged yet, oldest first. */
  pending (payee: string): OpenVoid[] {
    return [...(this.open.get(payee)?.values() ?? [])]
  }

  /** Payees with a VOID not acknowledged yet. */
  payees (): string[] {
    return [...this.open.keys()]
  }

  /** The payee booked it (applied or duplicate): not sent again. */
  acknowledged (payee: string, receiptId: string): void {
    const byId = this.open.get(payee)
    if (byId?.delete(receiptId) !== true) return
    if (byId.size === 0) this.open.delete(payee)
    const at = this.now()
    this.ledger.write(() => {
      this.db.prepare('UPDATE payment_voids_sent SET acked_at = ? WHERE payee = ? AND receipt_id = ? AND acked_at IS NULL').run(at, payee, receiptId)
    })
  }

  /** What this node voided of `payee`'s receipts in all. */
  voided (payee: string): Micro {
    return this.totals.get(payee) ?? 0
  }

  private remember (row: OpenVoid): void {
    let byId = this.open.get(row.payee)
    if (byId === undefined) {
      byId = new Map()
      this.open.set(row.payee, byId)
    }
    byId.set(row.receiptId, row)
  }

  /** From disk: at start, and after a failed commit dropped the queued rows. */
  private load (): void {
    this.open = new Map()
    this.totals = new Map()
    this.known = new Set()
    const rows = this.db.prepare('SELECT payee, receipt_id AS receiptId, amount, envelope, acked_at AS ackedAt FROM payment_voids_sent ORDER BY created_at, receipt_id')
      .all() as unknown as Array<{ payee: string, receiptId: string, amount: Micro, envelope: string, ackedAt: number | null }>
    for (const row of rows) {
      this.known.add(`${row.payee}\n${row.receiptId}`)
      this.totals.set(row.payee, (this.totals.get(row.payee) ?? 0) + row.amount)
      if (row.ackedAt === null) this.remember({ payee: row.payee, receiptId: row.receiptId, amount: row.amount, envelope: parseEnvelope(JSON.parse(row.envelope)) })
    }
  }
}
