/**
 * The ledger's tables (migration 010): postings, their entries (each with the
 * account's balance after it) and the current balance per account. Only the
 * Ledger writes here, inside its group commit.
 */
import type { Database } from '../../store/index.ts'
import type { Micro } from '../amount.ts'
import type { WalletEntry } from '../types.ts'
import { HELD_PREFIX } from './accounts.ts'

/** An entry as booked: the signed amount and the balance it left. */
export interface BookedEntry {
  account: string
  amount: Micro
  balance: Micro
}

export interface BookedPosting {
  key: string
  kind: string
  ref: string | null
  peer: string | null
  at: number
  entries: BookedEntry[]
}

export interface HistoryQuery {
  /** Newest first, at most this many entries (default 100, at most 10,000). */
  limit?: number
  /** Only entries of postings older than this posting id (a cursor: the last page's smallest postingId). */
  before?: number
  /** One account, or every account under a prefix ending in ':' (e.g. 'held:'). */
  account?: string
}

const MAX_HISTORY = 10_000

function entryInsert (count: number): string {
  return 'INSERT INTO ledger_entries (posting_id, account, amount, balance) VALUES ' + Array.from({ length: count }, () => '(?, ?, ?, ?)').join(', ')
}

const ENTRY_INSERTS: Record<number, string> = { 1: entryInsert(1), 2: entryInsert(2), 3: entryInsert(3), 4: entryInsert(4) }

export class Journal {
  private readonly db: Database

  constructor (db: Database) {
    this.db = db
  }

  /** Every account's balance (closed holds are not kept). */
  balances (): Map<string, Micro> {
    const rows = this.db.prepare('SELECT account, balance FROM ledger_balances').all() as Array<{ account: string, balance: number }>
    return new Map(rows.map(row => [row.account, row.balance]))
  }

  /** The entries of the posting stored under `key` (nonzero amounts), or undefined when none is. */
  entriesOf (key: string): Array<{ account: string, amount: Micro }> | undefined {
    const posting = this.db.prepare('SELECT id FROM ledger_postings WHERE key = ?').get(key) as { id: number } | undefined
    if (posting === undefined) return undefined
    return this.db.prepare('SELECT account, amount FROM ledger_entries WHERE posting_id = ?').all(posting.id) as Array<{ account: string, amount: number }>
  }

  has (key: string): boolean {
    return this.db.prepare('SELECT 1 AS found FROM ledger_postings WHERE key = ?').get(key) !== undefined
  }

  /** Insert one posting and its entries (inside the caller's transaction). */
  insert (posting: BookedPosting): void {
    const result = this.db.prepare('INSERT INTO ledger_postings (key, kind, ref, peer, at) VALUES (?, ?, ?, ?, ?)')
      .run(posting.key, posting.kind, posting.ref, posting.peer, posting.at)
    const count = posting.entries.length
    if (count === 0) return
    // one statement for all the entries (2 or 4): the per-call overhead is a good part of a small insert
    const params: Array<number | bigint | string> = []
    for (const e of posting.entries) params.push(result.lastInsertRowid, e.account, e.amount, e.balance)
    this.db.prepare(ENTRY_INSERTS[count] ?? entryInsert(count)).run(...params)
  }

  /** Write the final balance of each account a batch touched; a hold back at zero is closed and dropped. */
  writeBalances (touched: Map<string, Micro>): void {
    const upsert = this.db.prepare('INSERT INTO ledger_balances (account, balance) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET balance = excluded.balance')
    const drop = this.db.prepare('DELETE FROM ledger_balances WHERE account = ?')
    for (const [account, balance] of touched) {
      if (balance === 0 && account.startsWith(HELD_PREFIX)) drop.run(account)
      else upsert.run(account, balance)
    }
  }

  history (query: HistoryQuery = {}): WalletEntry[] {
    const limit = Math.min(Math.max(1, Math.trunc(query.limit ?? 100)), MAX_HISTORY)
    const where: string[] = []
    const params: Array<string | number> = []
    if (query.before !== undefined) {
      where.push('p.id < ?')
      params.push(query.before)
    }
    if (query.account !== undefined) {
      if (query.account.endsWith(':')) {
        // a prefix: the range [prefix, prefix + U+FFFF) uses the (account, posting_id) index, unlike LIKE
        where.push('e.account >= ? AND e.account < ?')
        params.push(query.account, query.account + '\uffff')
      } else {
        where.push('e.account = ?')
        params.push(query.account)
      }
    }
    const sql = 'SELECT p.id AS postingId, p.at AS at, p.kind AS kind, e.account AS account, e.amount AS amount, e.balance AS balance, p.ref AS ref, p.peer AS peer ' +
      'FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id' +
      (where.length === 0 ? '' : ' WHERE ' + where.join(' AND ')) +
      ' ORDER BY e.posting_id DESC, e.account LIMIT ?'
    const rows = this.db.prepare(sql).all(...params, limit) as unknown as WalletEntry[]
    // node:sqlite rows have a null prototype; callers (the API, tests) get plain objects
    return rows.map(row => ({ ...row }))
  }
}
