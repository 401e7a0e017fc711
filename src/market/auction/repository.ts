/** The buyer's needs and the proposals sellers answered them with (migration 013). */
import type { Database } from '../../store/index.ts'
import type { Micro } from '../amount.ts'

export const NEED_STATES = ['open', 'deciding', 'decided', 'failed', 'expired', 'cancelled'] as const
export type NeedState = typeof NEED_STATES[number]
export type ProposalState = 'open' | 'won' | 'lost' | 'failed'

export interface NeedRecord {
  id: string
  /** `<buyer peer id>/need/<id>`: the thread its NEED, PROPOSEs and DECIDEs are bound to. */
  thread: string
  taskType: string
  quantity: number
  /** The most the whole need may cost, micro-credits. */
  budget: Micro
  /** Proposals are taken until then (epoch ms). */
  deadline: number
  decideMode: 'auto' | 'manual'
  state: NeedState
  /** Decisions made so far (each DECIDE raises it; a winner that then refuses is followed by the next best). */
  epoch: number
  seller: string | null
  contractId: string | null
  reason: string | null
  /** The signed NEED, JSON. */
  envelope: string
  createdAt: number
  updatedAt: number
}

export interface ProposalRecord {
  needId: string
  seller: string
  offerId: string
  unitPrice: Micro
  etaMs: number
  capacity: number
  lamport: number
  state: ProposalState
  reason: string | null
  /** The signed PROPOSE, JSON. */
  envelope: string
  receivedAt: number
}

const NEED = 'id, thread, task_type AS taskType, quantity, budget, deadline, decide_mode AS decideMode, state, epoch, seller, contract_id AS contractId, reason, envelope, created_at AS createdAt, updated_at AS updatedAt'
const PROPOSAL = 'need_id AS needId, seller, offer_id AS offerId, unit_price AS unitPrice, eta_ms AS etaMs, capacity, lamport, state, reason, envelope, received_at AS receivedAt'

export class NeedsRepository {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  insert (need: NeedRecord): void {
    this.db.prepare('INSERT INTO market_needs (id, thread, task_type, quantity, budget, deadline, decide_mode, state, epoch, seller, contract_id, reason, envelope, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(need.id, need.thread, need.taskType, need.quantity, need.budget, need.deadline, need.decideMode, need.state, need.epoch, need.seller, need.contractId, need.reason, need.envelope, need.createdAt, need.updatedAt)
  }

  get (id: string): NeedRecord | undefined {
    return plain(this.db.prepare(`SELECT ${NEED} FROM market_needs WHERE id = ?`).get(id)) as NeedRecord | undefined
  }

  byThread (thread: string): NeedRecord | undefined {
    return plain(this.db.prepare(`SELECT ${NEED} FROM market_needs WHERE thread = ?`).get(thread)) as NeedRecord | undefined
  }

  /** Newest first. */
  list (query: { state?: NeedState, limit: number }): NeedRecord[] {
    const rows = query.state === undefined
      ? this.db.prepare(`SELECT ${NEED} FROM market_needs ORDER BY created_at DESC, id LIMIT ?`).all(query.limit)
      : this.db.prepare(`SELECT ${NEED} FROM market_needs WHERE state = ? ORDER BY created_at DESC, id LIMIT ?`).all(query.state, query.limit)
    return rows.map(plain) as NeedRecord[]
  }

  /** Needs not yet decided or ended (open, or caught deciding by a stop). */
  unfinished (): NeedRecord[] {
    return this.db.prepare(`SELECT ${NEED} FROM market_needs WHERE state IN ('open', 'deciding') ORDER BY deadline`).all().map(plain) as NeedRecord[]
  }

  /** Move a need from `from` (false when it was not there: moved meanwhile). */
  move (id: string, from: NeedState, to: NeedState, at: number, fields: { epoch?: number, seller?: string | null, contractId?: string | null, reason?: string | null } = {}): boolean {
    const result = this.db.prepare('UPDATE market_needs SET state = ?, updated_at = ?, epoch = COALESCE(?, epoch), seller = COALESCE(?, seller), contract_id = COALESCE(?, contract_id), reason = COALESCE(?, reason) WHERE id = ? AND state = ?')
      .run(to, at, fields.epoch ?? null, fields.seller ?? null, fields.contractId ?? null, fields.reason ?? null, id, from)
    return Number(result.changes) === 1
  }

  setEpoch (id: string, epoch: number, at: number): void {
    this.db.prepare('UPDATE market_needs SET epoch = ?, updated_at = ? WHERE id = ?').run(epoch, at, id)
  }

  /** Store a seller's proposal; a later one (higher Lamport) replaces its open one. False when nothing changed. */
  propose (p: ProposalRecord): boolean {
    const result = this.db.prepare(`INSERT INTO market_proposals (need_id, seller, offer_id, unit_price, eta_ms, capacity, lamport, state, reason, envelope, received_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, 'open', NULL, ?, ?)
      ON CONFLICT (need_id, seller) DO UPDATE SET offer_id = excluded.offer_id, unit_price = excluded.unit_price, eta_ms = excluded.eta_ms, capacity = excluded.capacity,
        lamport = excluded.lamport, envelope = excluded.envelope, received_at = excluded.received_at
      WHERE market_proposals.state = 'open' AND excluded.lamport > market_proposals.lamport`)
      .run(p.needId, p.seller, p.offerId, p.unitPrice, p.etaMs, p.capacity, p.lamport, p.envelope, p.receivedAt)
    return Number(result.changes) === 1
  }

  proposals (needId: string): ProposalRecord[] {
    return this.db.prepare(`SELECT ${PROPOSAL} FROM market_proposals WHERE need_id = ? ORDER BY received_at, seller`).all(needId).map(plain) as ProposalRecord[]
  }

  countProposals (needId: string): number {
    return Number((this.db.prepare('SELECT count(*) AS n FROM market_proposals WHERE need_id = ?').get(needId) as { n: number }).n)
  }

  settle (needId: string, seller: string, state: Exclude<ProposalState, 'open'>, reason: string | null = null): void {
    this.db.prepare('UPDATE market_proposals SET state = ?, reason = ? WHERE need_id = ? AND seller = ?').run(state, reason, needId, seller)
  }

  /** Every open proposal of a need lost (its decision went elsewhere, or the need ended). */
  loseOpen (needId: string): void {
    this.db.prepare('UPDATE market_proposals SET state = \'lost\' WHERE need_id = ? AND state = \'open\'').run(needId)
  }
}

/** node:sqlite rows have a null prototype; callers get plain objects. */
function plain (row: unknown): unknown {
  return row === undefined ? undefined : { ...(row as object) }
}
