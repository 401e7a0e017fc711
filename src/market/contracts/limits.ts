/**
 * Per-peer credit limits (migration 011, `market_credit_limits`): what a
 * peer may owe this node. A row overrides the defaults; without one a
 * trusted peer gets market.trustedCreditLimit and any other
 * market.creditLimit.
 */
import type { Micro } from '../amount.ts'
import type { Database } from '../../store/index.ts'
import type { PeerBalance } from '../types.ts'

export interface CreditLimit {
  limit: Micro
  source: PeerBalance['limitSource']
}

export interface LimitDefaults {
  creditLimit: Micro
  trustedCreditLimit: Micro
}

/** Peers whose limit (or its absence) is remembered at most. */
const MAX_CACHED = 10_000

export class LimitsRepository {
  private readonly db: Database
  /** Asked for every priced piece of work a seller takes: remembered, overrides and their absence alike. */
  private readonly cache = new Map<string, Micro | null>()

  constructor (db: Database) {
    this.db = db
  }

  get (peer: string): Micro | undefined {
    const cached = this.cache.get(peer)
    if (cached !== undefined) return cached ?? undefined
    const row = this.db.prepare('SELECT limit_micro FROM market_credit_limits WHERE peer = ?').get(peer) as { limit_micro: number } | undefined
    if (this.cache.size >= MAX_CACHED) this.cache.clear()
    this.cache.set(peer, row?.limit_micro ?? null)
    return row?.limit_micro
  }

  /** Set an override, or drop it (null: the defaults apply again). */
  set (peer: string, limit: Micro | null, now: number): void {
    this.cache.set(peer, limit)
    if (limit === null) {
      this.db.prepare('DELETE FROM market_credit_limits WHERE peer = ?').run(peer)
      return
    }
    this.db.prepare(`INSERT INTO market_credit_limits (peer, limit_micro, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (peer) DO UPDATE SET limit_micro = excluded.limit_micro, updated_at = excluded.updated_at`).run(peer, limit, now)
  }

  /** Peers with an override. */
  peers (): string[] {
    return (this.db.prepare('SELECT peer FROM market_credit_limits ORDER BY peer').all() as Array<{ peer: string }>).map(r => r.peer)
  }
}

/** The limit in force for `peer` and where it comes from. */
export function limitFor (override: Micro | undefined, trusted: boolean, defaults: LimitDefaults): CreditLimit {
  if (override !== undefined) return { limit: override, source: 'peer' }
  return trusted ? { limit: defaults.trustedCreditLimit, source: 'trusted' } : { limit: defaults.creditLimit, source: 'default' }
}
