/**
 * The persisted peer book: addresses, when we saw each peer, latency and
 * outcome counters, trust and ban flags. The peer manager reads it at start
 * to reconnect to known peers without bootstrap.
 */
import type { Database } from './db.ts'

export interface PeerRecord {
  peerId: string
  addresses: string[]
  firstSeen: number
  lastSeen: number
  latencyMs: number | null
  successes: number
  failures: number
  timeouts: number
  trusted: boolean
  bannedUntil: number | null
  banReason: string | null
  /** Invalid (forged or malformed) messages received from the peer. */
  invalids: number
  /** Decayed Beta posterior of the reputation (src/peers/reputation.ts); null for a stranger. */
  reputationState: { alpha: number, beta: number, updatedAt: number } | null
  /** Decayed ping sums behind the uptime fraction; null before the first ping. */
  uptimeState: { ok: number, total: number, updatedAt: number } | null
}

interface PeerRow {
  peer_id: string
  addresses: string
  first_seen: number
  last_seen: number
  latency_ms: number | null
  successes: number
  failures: number
  timeouts: number
  trusted: number
  banned_until: number | null
  ban_reason: string | null
  invalids: number
  rep_alpha: number | null
  rep_beta: number | null
  rep_updated_at: number | null
  uptime_ok: number
  uptime_total: number
  uptime_updated_at: number | null
}

export type PeerOutcome = 'success' | 'failure' | 'timeout' | 'invalid'

const OUTCOME_COLUMN: Record<PeerOutcome, string> = { success: 'successes', failure: 'failures', timeout: 'timeouts', invalid: 'invalids' }

function fromRow (row: PeerRow): PeerRecord {
  return {
    peerId: row.peer_id,
    addresses: JSON.parse(row.addresses) as string[],
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    latencyMs: row.latency_ms,
    successes: row.successes,
    failures: row.failures,
    timeouts: row.timeouts,
    trusted: row.trusted === 1,
    bannedUntil: row.banned_until,
    banReason: row.ban_reason,
    invalids: row.invalids,
    reputationState: row.rep_alpha === null || row.rep_beta === null || row.rep_updated_at === null
      ? null
      : { alpha: row.rep_alpha, beta: row.rep_beta, updatedAt: row.rep_updated_at },
    uptimeState: row.uptime_updated_at === null ? null : { ok: row.uptime_ok, total: row.uptime_total, updatedAt: row.uptime_updated_at }
  }
}

/** Records kept in memory; the least recently read beyond this are dropped. */
const CACHED_PEERS = 4096

/**
 * Rows kept: every peer id that ever connected got one, so throwaway
 * identities grew the table without end. Beyond this, the peers seen least
 * recently go first, except trusted peers and peers under a ban.
 */
export const MAX_PEER_ROWS = 10_000
/** Inserts between two checks of the row count. */
const PRUNE_EVERY = 256

/**
 * The peers table. Reads go through a small in-memory cache (routing reads
 * a peer on every request and subtask); every write drops the peer's cached
 * record, so a read after a write sees the table. Cached records are frozen.
 */
export class PeersRepository {
  private readonly db: Database
  private readonly cache = new Map<string, PeerRecord>()
  private readonly maxRows: number
  private writesSincePrune = 0

  constructor (db: Database, init: { maxRows?: number } = {}) {
    this.db = db
    this.maxRows = init.maxRows ?? MAX_PEER_ROWS
  }

  /** Record that we saw the peer now, at these addresses (merged with known ones, newest first). */
  seen (peerId: string, addresses: string[], now = Date.now()): void {
    const known = this.get(peerId)?.addresses ?? []
    const merged = [...new Set([...addresses, ...known])].slice(0, 16)
    this.db.prepare(`INSERT INTO peers (peer_id, addresses, first_seen, last_seen) VALUES (?, ?, ?, ?)
      ON CONFLICT (peer_id) DO UPDATE SET addresses = excluded.addresses, last_seen = excluded.last_seen`)
      .run(peerId, JSON.stringify(merged), now, now)
    this.cache.delete(peerId) // get() above cached the old record
    if (++this.writesSincePrune >= PRUNE_EVERY) this.prune(now, peerId)
  }

  /** Fold a ping into the latency EWMA (alpha 0.3: recent pings count most). */
  recordLatency (peerId: string, latencyMs: number, alpha = 0.3): number {
    const previous = this.get(peerId)?.latencyMs ?? null
    const next = previous === null ? latencyMs : previous + alpha * (latencyMs - previous)
    this.db.prepare('UPDATE peers SET latency_ms = ?, last_seen = ? WHERE peer_id = ?').run(next, Date.now(), peerId)
    this.cache.delete(peerId) // get() above cached the old record
    return next
  }

  recordOutcome (peerId: string, outcome: PeerOutcome): void {
    this.cache.delete(peerId)
    this.db.prepare(`UPDATE peers SET ${OUTCOME_COLUMN[outcome]} = ${OUTCOME_COLUMN[outcome]} + 1 WHERE peer_id = ?`).run(peerId)
  }

  /** Add the peer with no address if it is not in the book yet (outcomes, trust and bans need a row). */
  ensure (peerId: string, now = Date.now()): void {
    this.cache.delete(peerId)
    this.db.prepare('INSERT INTO peers (peer_id, first_seen, last_seen) VALUES (?, ?, ?) ON CONFLICT (peer_id) DO NOTHING').run(peerId, now, now)
  }

  /**
   * Beyond maxRows, forget the peers seen least recently that are neither
   * trusted nor under a ban (nor `keep`, the peer being written). Answers
   * how many went. Run from seen() only: ensure() precedes a ban, a trust or
   * an outcome on its row, which must not be pruned in between.
   */
  prune (now = Date.now(), keep = ''): number {
    this.writesSincePrune = 0
    const excess = this.count() - this.maxRows
    if (excess <= 0) return 0
    const result = this.db.prepare(`DELETE FROM peers WHERE peer_id IN (
      SELECT peer_id FROM peers WHERE trusted = 0 AND (banned_until IS NULL OR banned_until <= ?) AND peer_id <> ? ORDER BY last_seen ASC LIMIT ?)`).run(now, keep, excess)
    this.cache.clear()
    return Number(result.changes)
  }

  /** Count one outcome and store the reputation state it led to, in one statement. */
  recordObservation (peerId: string, outcome: PeerOutcome, state: { alpha: number, beta: number, updatedAt: number }): void {
    this.cache.delete(peerId)
    const column = OUTCOME_COLUMN[outcome]
    this.db.prepare(`UPDATE peers SET ${column} = ${column} + 1, rep_alpha = ?, rep_beta = ?, rep_updated_at = ? WHERE peer_id = ?`)
      .run(state.alpha, state.beta, state.updatedAt, peerId)
  }

  /** Forget the reputation state: the peer scores as a stranger again (counters are kept). */
  resetReputation (peerId: string): void {
    this.cache.delete(peerId)
    this.db.prepare('UPDATE peers SET rep_alpha = NULL, rep_beta = NULL, rep_updated_at = NULL WHERE peer_id = ?').run(peerId)
  }

  setUptime (peerId: string, state: { ok: number, total: number, updatedAt: number }): void {
    this.cache.delete(peerId)
    this.db.prepare('UPDATE peers SET uptime_ok = ?, uptime_total = ?, uptime_updated_at = ? WHERE peer_id = ?').run(state.ok, state.total, state.updatedAt, peerId)
  }

  /** Forget the peer: its addresses, counters, reputation and trust. Answers whether it was in the book. */
  remove (peerId: string): boolean {
    this.cache.delete(peerId)
    return Number(this.db.prepare('DELETE FROM peers WHERE peer_id = ?').run(peerId).changes) > 0
  }

  /** Peers flagged trusted. */
  listTrusted (): PeerRecord[] {
    return (this.db.prepare('SELECT * FROM peers WHERE trusted = 1').all() as unknown as PeerRow[]).map(fromRow)
  }

  setTrusted (peerId: string, trusted: boolean): void {
    this.cache.delete(peerId)
    this.db.prepare('UPDATE peers SET trusted = ? WHERE peer_id = ?').run(trusted ? 1 : 0, peerId)
  }

  setBan (peerId: string, until: number | null, reason: string | null): void {
    this.cache.delete(peerId)
    this.db.prepare('UPDATE peers SET banned_until = ?, ban_reason = ? WHERE peer_id = ?').run(until, reason, peerId)
  }

  get (peerId: string): PeerRecord | undefined {
    const cached = this.cache.get(peerId)
    if (cached !== undefined) {
      this.cache.delete(peerId)
      this.cache.set(peerId, cached)
      return cached
    }
    const row = this.db.prepare('SELECT * FROM peers WHERE peer_id = ?').get(peerId) as PeerRow | undefined
    if (row === undefined) return undefined
    const record = freeze(fromRow(row))
    this.cache.set(peerId, record)
    if (this.cache.size > CACHED_PEERS) this.cache.delete(this.cache.keys().next().value as string)
    return record
  }

  count (): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM peers').get() as { n: number }).n
  }

  /** Most recently seen first. */
  list (limit = 1000): PeerRecord[] {
    return (this.db.prepare('SELECT * FROM peers ORDER BY last_seen DESC LIMIT ?').all(limit) as unknown as PeerRow[]).map(fromRow)
  }
}

function freeze (record: PeerRecord): PeerRecord {
  Object.freeze(record.addresses)
  if (record.reputationState !== null) Object.freeze(record.reputationState)
  if (record.uptimeState !== null) Object.freeze(record.uptimeState)
  return Object.freeze(record)
}
