/**
 * The `offers` table (migration 003): the offer table's entries on disk, so
 * a restarted node keeps what it knew (still pruned by expiry). Writes are
 * batched: changes gather for `flushIntervalMs` and go in one transaction;
 * a crash loses at most that window of learned offers, which anti-entropy
 * brings back. This node's own offer id and Lamport are not kept here but
 * written through to the kv table before each publish (see announcer.ts).
 */
import { parseEnvelope } from '../identity/index.ts'
import { offerSchema, withdrawSchema } from './schema.ts'
import type { Database } from '../store/index.ts'
import type { OfferEntry, TableSink } from './table.ts'

/** What the store keeps of a table entry: everything but the parsed offer (re-read from `raw`). */
export type StoredOffer = Omit<OfferEntry, 'offer'>

export interface OffersRepositoryInit {
  /** Gather changes this long before writing them (0: on the next tick). */
  flushIntervalMs?: number
  /** A background flush failed (the store closed, the disk is full). */
  onError?: (err: unknown) => void
}

interface Row {
  origin: string
  offer_id: string
  lamport: number
  kind: string
  expires_at: number
  envelope: string
}

export class OffersRepository implements TableSink {
  private readonly db: Database
  private readonly flushIntervalMs: number
  private readonly onError: (err: unknown) => void
  /** origin → entry to write, or null to delete. */
  private readonly pending = new Map<string, StoredOffer | null>()
  private timer: NodeJS.Timeout | undefined

  constructor (db: Database, init: OffersRepositoryInit = {}) {
    this.db = db
    this.flushIntervalMs = init.flushIntervalMs ?? 50
    this.onError = init.onError ?? (() => {})
  }

  put (entry: StoredOffer): void {
    this.pending.set(entry.origin, {
      origin: entry.origin, offerId: entry.offerId, lamport: entry.lamport, kind: entry.kind, expiresAt: entry.expiresAt, raw: entry.raw
    })
    this.schedule()
  }

  delete (origin: string): void {
    this.pending.set(origin, null)
    this.schedule()
  }

  /** Write what is pending, in one transaction. */
  flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.size === 0) return
    const batch = [...this.pending]
    this.pending.clear()
    const upsert = this.db.prepare(`INSERT INTO offers (origin, offer_id, lamport, kind, expires_at, envelope) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (origin) DO UPDATE SET offer_id = excluded.offer_id, lamport = excluded.lamport, kind = excluded.kind,
      expires_at = excluded.expires_at, envelope = excluded.envelope`)
    const remove = this.db.prepare('DELETE FROM offers WHERE origin = ?')
    this.db.transaction(() => {
      for (const [origin, entry] of batch) {
        if (entry === null) remove.run(origin)
        else upsert.run(origin, entry.offerId, entry.lamport, entry.kind, entry.expiresAt, entry.raw)
      }
    })
  }

  /** Drop expired rows, then return the rest (soonest expiry last, so the freshest load first). */
  loadAll (now: number, limit: number): StoredOffer[] {
    this.db.prepare('DELETE FROM offers WHERE expires_at <= ?').run(now)
    const rows = this.db.prepare('SELECT origin, offer_id, lamport, kind, expires_at, envelope FROM offers ORDER BY expires_at DESC LIMIT ?').all(limit) as unknown as Row[]
    return rows.flatMap(row => row.kind === 'OFFER' || row.kind === 'WITHDRAW'
      ? [{ origin: row.origin, offerId: row.offer_id, lamport: row.lamport, kind: row.kind, expiresAt: row.expires_at, raw: row.envelope }]
      : [])
  }

  count (): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM offers').get() as { n: number }).n
  }

  /** Flush and stop the timer. */
  close (): void {
    this.flush()
  }

  private schedule (): void {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => {
      try { this.flush() } catch (err) { this.onError(err) }
    }, this.flushIntervalMs)
    this.timer.unref()
  }
}

/**
 * A stored row back into a table entry. Our own disk: the shape is checked
 * again (a row this version cannot read is skipped), the signature is not.
 */
export function toEntry (row: StoredOffer): OfferEntry | undefined {
  try {
    const envelope = parseEnvelope(JSON.parse(row.raw))
    if (envelope.from !== row.origin || envelope.kind !== row.kind) return undefined
    if (envelope.kind === 'OFFER') {
      const offer = offerSchema.parse(envelope.payload)
      return { ...row, offerId: offer.id, lamport: offer.lamport, expiresAt: offer.expiresAt, offer }
    }
    const withdrawal = withdrawSchema.parse(envelope.payload)
    return { ...row, offerId: withdrawal.offerId, lamport: withdrawal.lamport, offer: undefined }
  } catch {
    return undefined
  }
}
