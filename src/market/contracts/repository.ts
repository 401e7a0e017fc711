/**
 * The contracts table (migration 011): one row per contract and side. State
 * changes are compare-and-set on the state a caller saw, so two paths
 * racing to end the same contract (expiry and a capture that fills it) end
 * it once; the loser learns it lost and does nothing.
 */
import type { Database } from '../../store/index.ts'
import type { Contract, ContractState, RejectReason } from '../types.ts'

/** A contract as stored: the public fields and what only this side keeps. */
export interface ContractRecord extends Contract {
  requestId: string
  /** Buyer side: the hold paying for it (set once accepted). */
  holdId: string | null
  /** The other side's signed message as JSON: the buyer's REQUEST (seller side) or the seller's ACCEPT (buyer side). */
  signed: string | null
}

export interface ContractQuery {
  state?: ContractState | undefined
  role?: 'buyer' | 'seller' | undefined
  limit?: number | undefined
}

interface Row {
  id: string
  role: string
  buyer: string
  seller: string
  request_id: string
  offer_id: string
  what: string
  quantity: number
  unit_price: number
  max_total: number
  captured: number
  expires_at: number
  state: string
  reason: string | null
  hold_id: string | null
  signed: string | null
  created_at: number
  updated_at: number
}

/** Pairs whose accepted contracts are cached at most. */
const MAX_CACHED_PAIRS = 4096

const COLUMNS = 'id, role, buyer, seller, request_id, offer_id, what, quantity, unit_price, max_total, captured, expires_at, state, reason, hold_id, signed, created_at, updated_at'

export class ContractsRepository {
  private readonly db: Database
  /**
   * `accepted()` answers by (role, peer), cleared by every write: it is asked
   * for every priced subtask (credit checks, paying from a contract), and most
   * pairs have no contract at all.
   */
  private readonly acceptedCache = new Map<string, ContractRecord[]>()

  constructor (db: Database) {
    this.db = db
  }

  /** Store a new contract; false when its id, or its request on this side, is taken already. */
  insert (c: ContractRecord): boolean {
    this.acceptedCache.clear()
    const result = this.db.prepare(`INSERT OR IGNORE INTO market_contracts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(c.id, c.role, c.buyer, c.seller, c.requestId, c.offerId, c.what, c.quantity, c.unitPrice, c.maxTotal, c.captured, c.expiresAt, c.state, c.reason, c.holdId, c.signed, c.createdAt, c.updatedAt)
    return Number(result.changes) === 1
  }

  get (id: string): ContractRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM market_contracts WHERE id = ?`).get(id) as Row | undefined
    return row === undefined ? undefined : toRecord(row)
  }

  /** The contract a buyer's request made on this side. */
  byRequest (role: 'buyer' | 'seller', buyer: string, requestId: string): ContractRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM market_contracts WHERE role = ? AND buyer = ? AND request_id = ?`).get(role, buyer, requestId) as Row | undefined
    return row === undefined ? undefined : toRecord(row)
  }

  /** Newest first. */
  list (query: ContractQuery, max: number): ContractRecord[] {
    const where: string[] = []
    const params: Array<string | number> = []
    if (query.state !== undefined) { where.push('state = ?'); params.push(query.state) }
    if (query.role !== undefined) { where.push('role = ?'); params.push(query.role) }
    const limit = Math.min(Math.max(1, query.limit ?? max), max)
    const sql = `SELECT ${COLUMNS} FROM market_contracts ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id LIMIT ?`
    return (this.db.prepare(sql).all(...params, limit) as unknown as Row[]).map(toRecord)
  }

  /** Seller side: requests waiting for the operator, oldest first. */
  pending (): ContractRecord[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM market_contracts WHERE role = 'seller' AND state = 'proposed' ORDER BY created_at, id`).all() as unknown as Row[]).map(toRecord)
  }

  countPending (): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM market_contracts WHERE role = \'seller\' AND state = \'proposed\'').get() as { n: number }).n
  }

  /** Accepted contracts of one pair on this side: the seller's with `buyer` (role seller), or the buyer's with `seller` (role buyer). */
  accepted (role: 'buyer' | 'seller', peer: string): ContractRecord[] {
    const key = `${role} ${peer}`
    const cached = this.acceptedCache.get(key)
    if (cached !== undefined) return cached
    const column = role === 'seller' ? 'buyer' : 'seller'
    // frozen: the cached records are shared by every caller until the next write
    const found = (this.db.prepare(`SELECT ${COLUMNS} FROM market_contracts WHERE ${column} = ? AND state = 'accepted' AND role = ? ORDER BY expires_at, id`).all(peer, role) as unknown as Row[]).map(row => Object.freeze(toRecord(row)))
    if (this.acceptedCache.size >= MAX_CACHED_PAIRS) this.acceptedCache.clear()
    this.acceptedCache.set(key, found)
    return found
  }

  /** Every accepted contract of a side (start-up repair, metrics). */
  allAccepted (role: 'buyer' | 'seller'): ContractRecord[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM market_contracts WHERE state = 'accepted' AND role = ?`).all(role) as unknown as Row[]).map(toRecord)
  }

  /** Open contracts whose time ran out. */
  due (now: number, limit: number): ContractRecord[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM market_contracts WHERE state IN ('proposed', 'accepted') AND expires_at <= ? ORDER BY expires_at LIMIT ?`).all(now, limit) as unknown as Row[]).map(toRecord)
  }

  /** The earliest expiry of an open contract. */
  nextExpiry (): number | undefined {
    const row = this.db.prepare('SELECT MIN(expires_at) AS at FROM market_contracts WHERE state IN (\'proposed\', \'accepted\')').get() as { at: number | null }
    return row.at ?? undefined
  }

  /** Move from `from` to `to`; false when the contract is no longer in `from` (someone else moved it). */
  move (id: string, from: ContractState, to: ContractState, now: number, fields: { reason?: RejectReason | null, holdId?: string, signed?: string } = {}): boolean {
    this.acceptedCache.clear()
    const result = this.db.prepare(`UPDATE market_contracts SET state = ?, updated_at = ?,
        reason = COALESCE(?, reason), hold_id = COALESCE(?, hold_id), signed = COALESCE(?, signed)
      WHERE id = ? AND state = ?`)
      .run(to, now, fields.reason ?? null, fields.holdId ?? null, fields.signed ?? null, id, from)
    return Number(result.changes) === 1
  }

  /** Add to what an accepted contract has taken; false when it is not accepted or has no room for it. */
  addCaptured (id: string, amount: number, now: number): boolean {
    this.acceptedCache.clear()
    const result = this.db.prepare('UPDATE market_contracts SET captured = captured + ?, updated_at = ? WHERE id = ? AND state = \'accepted\' AND captured + ? <= max_total')
      .run(amount, now, id, amount)
    return Number(result.changes) === 1
  }

  /** Set what an accepted contract has taken (repair from the escrow's books at start). */
  setCaptured (id: string, captured: number, now: number): void {
    this.acceptedCache.clear()
    this.db.prepare('UPDATE market_contracts SET captured = ?, updated_at = ? WHERE id = ? AND state = \'accepted\'').run(captured, now, id)
  }

  /** Contracts by side and state (metrics). */
  counts (): Array<{ role: string, state: string, n: number }> {
    return this.db.prepare('SELECT role, state, COUNT(*) AS n FROM market_contracts GROUP BY role, state').all() as unknown as Array<{ role: string, state: string, n: number }>
  }
}

function toRecord (row: Row): ContractRecord {
  return {
    id: row.id,
    role: row.role === 'seller' ? 'seller' : 'buyer',
    buyer: row.buyer,
    seller: row.seller,
    requestId: row.request_id,
    offerId: row.offer_id,
    what: row.what,
    quantity: row.quantity,
    unitPrice: row.unit_price,
    maxTotal: row.max_total,
    captured: row.captured,
    expiresAt: row.expires_at,
    state: row.state as ContractState,
    reason: row.reason as RejectReason | null,
    holdId: row.hold_id,
    signed: row.signed,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }
}

/** The public view of a stored contract (what the API shows). */
export function publicContract (record: ContractRecord): Contract {
  const { requestId: _r, holdId: _h, signed: _s, ...contract } = record
  return contract
}
