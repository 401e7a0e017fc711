/**
 * The double-entry ledger (docs/market.md "The ledger"). Balances live in
 * memory and are the authority for every check, so two postings in the same
 * moment can never both spend the same credits; a posting is applied there at
 * once, whole or not at all, and queued. The queue is written in ONE
 * transaction (group commit) at the end of the turn of the event loop in
 * which someone waits for it (`durable()`), else within LAZY_COMMIT_MS; `durable()` resolves once that commit is
 * on stable storage — the WAL fdatasynced (wal-sync.ts: inline on a fast
 * disk, off the event loop on a slow one), what synchronous=FULL
 * guarantees without stalling the node on a slow fsync.
 * A commit that fails reloads the balances from disk and rejects the
 * waiting `durable()` calls: memory is never silently ahead of disk.
 *
 * Rooms built on the ledger (escrow, payments) queue their own rows with
 * `write()` so they land in the same commit as the posting they go with, and
 * drop their caches on `onReload`.
 */
import type { Registry } from 'prom-client'
import { AgoraError, messageOf } from '../../errors.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { Database } from '../../store/index.ts'
import { formatCredits, type Micro } from '../amount.ts'
import type { WalletEntry } from '../types.ts'
import { accountSign, AVAILABLE, EARNED, GRANT, HELD_PREFIX, signHolds, SPENT } from './accounts.ts'
import { Journal, type BookedEntry, type BookedPosting, type HistoryQuery } from './journal.ts'
import { createLedgerMetrics, type LedgerMetrics } from './metrics.ts'
import { grantPosting, normalise, sameEntries } from './postings.ts'
import { WalSync } from './wal-sync.ts'

export interface Entry {
  account: string
  /** Signed micro-credits. */
  amount: Micro
}

export interface PostingInput {
  /** Idempotency key: a posting under a key applied before is a duplicate (across restarts too). */
  key: string
  /** grant, hold, release, capture, earn (see postings.ts), or another room's own kind. */
  kind: string
  entries: Entry[]
  /** What it was for: a contract, job, request, receipt or proof. */
  ref?: string
  peer?: string
  /** When, in ms since the epoch (default: now). */
  at?: number
}

export type PostOutcome = 'applied' | 'duplicate'

export interface LedgerComponents {
  db: Database
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface LedgerInit {
  /** Credits a new wallet starts with, posted once (key 'grant'). */
  grant: Micro
  /** The group commit's durability; NORMAL only for benchmarks and tests that measure it. */
  synchronous?: 'FULL' | 'NORMAL'
  now?: () => number
}

/** The wallet's totals as magnitudes: balance = grant + earned − spent = available + held. */
export interface LedgerSummary {
  grant: Micro
  earned: Micro
  spent: Micro
  available: Micro
  held: Micro
  balance: Micro
}

interface Waiter { resolve: () => void, reject: (err: Error) => void }
/** A posting to insert, or a row another room queued for the same commit. */
type Queued = BookedPosting | (() => void)

/**
 * Postings nobody waits for are committed within this long; `durable()`
 * commits at the end of the turn. A busy coordinator
 * capturing a receipt every turn would otherwise commit every turn. What is
 * not yet durable has not been told to anyone.
 */
const LAZY_COMMIT_MS = 25
/** `durable()` with this many rows queued commits at once instead of at the end of the turn. */
const COMMIT_AT_ONCE = 256

export class Ledger {
  private readonly db: Database
  private readonly journal: Journal
  private readonly log: Logger
  private readonly metrics: LedgerMetrics | undefined
  private readonly grant: Micro
  private readonly synchronousFull: boolean
  private readonly now: () => number
  private balances = new Map<string, Micro>()
  /** Keys queued and not yet committed, with their (normalised) entries. */
  private readonly pending = new Map<string, Entry[]>()
  private queue: Queued[] = []
  /**
   * The last key has() found nowhere: post() under it skips the lookup (a
   * capture asks has() first). Only post() adds a key, and it forgets this
   * one as it does, so this never goes stale.
   */
  private lastAbsent: string | undefined
  private waiters: Waiter[] = []
  private lazy: NodeJS.Timeout | undefined
  /** The commit `durable()` asked for, at the end of this turn of the loop. */
  private soon: NodeJS.Immediate | undefined
  /** Syncs the WAL for `durable()` (a file store with FULL durability only). */
  private readonly wal: WalSync | undefined
  /** Commits made, and how many of them a finished WAL sync covers. */
  private commits = 0
  private syncedCommits = 0
  private readonly reloadListeners = new Set<() => void>()
  private readonly commitListeners = new Set<() => void>()
  private started = false

  constructor (components: LedgerComponents, init: LedgerInit) {
    this.db = components.db
    this.journal = new Journal(components.db)
    this.log = components.logger.forComponent('agora:market:ledger')
    this.metrics = createLedgerMetrics(components.metrics)
    this.grant = init.grant
    this.synchronousFull = (init.synchronous ?? 'FULL') === 'FULL'
    this.wal = this.synchronousFull && isFile(this.db.path) ? new WalSync(this.db.path) : undefined
    this.now = init.now ?? Date.now
  }

  /** Load the balances; post the grant on the first start. */
  start (): void {
    if (this.started) return
    this.balances = this.journal.balances()
    this.started = true
    if (!this.has('grant')) this.post(grantPosting(this.grant))
  }

  /** Write what is pending (the store's close syncs it). */
  stop (): void {
    this.flush()
    this.wal?.close()
  }

  /**
   * Apply a posting to the balances now and queue it for the next group
   * commit. Refused whole: E1100 (an amount that is not a whole number of
   * micro-credits, or a balance past the safe range), E1101 (`available`
   * cannot cover it), E1103 (the entries do not sum to zero, an unknown
   * account, a balance that would cross its sign, a key reused for a
   * different posting). `known.absent`: the caller's own committed records
   * prove no posting under this key exists (the payee's nonce for an earn
   * key), so the lookup on disk is skipped; one that does exist would fail
   * the commit.
   */
  post (input: PostingInput, known: { absent?: boolean } = {}): PostOutcome {
    this.assertStarted()
    const entries = normalise(input)
    const skipLookup = known.absent === true || input.key === this.lastAbsent
    const before = this.pending.get(input.key) ?? (skipLookup ? undefined : this.journal.entriesOf(input.key))
    if (input.key === this.lastAbsent) this.lastAbsent = undefined
    if (before !== undefined) {
      if (!sameEntries(before, entries)) {
        throw this.refuse(input, 'E1103', `idempotency key ${input.key} was used before for a different posting`, 'a retry must repeat the same entries')
      }
      this.metrics?.postings.inc({ kind: input.kind, outcome: 'duplicate' })
      return 'duplicate'
    }
    let sum = 0n
    for (const entry of entries) sum += BigInt(entry.amount)
    if (sum !== 0n) throw this.refuse(input, 'E1103', `posting ${input.key} does not balance`, `its entries sum to ${formatCredits(sum)} credits, not zero`)
    const booked: BookedEntry[] = entries.map(entry => ({ ...entry, balance: this.checkedBalance(input, entry) }))
    for (const entry of booked) {
      if (entry.balance === 0 && entry.account.startsWith(HELD_PREFIX)) this.balances.delete(entry.account)
      else this.balances.set(entry.account, entry.balance)
    }
    this.pending.set(input.key, entries)
    this.queue.push({ key: input.key, kind: input.kind, ref: input.ref ?? null, peer: input.peer ?? null, at: input.at ?? this.now(), entries: booked })
    this.schedule()
    this.metrics?.postings.inc({ kind: input.kind, outcome: 'applied' })
    return 'applied'
  }

  /** Queue rows of another room (escrow, payments) for the same commit as the postings queued so far. */
  write (fn: () => void): void {
    this.assertStarted()
    this.queue.push(fn)
    this.schedule()
  }

  /** Whether a posting under `key` was applied (queued or on disk). */
  has (key: string): boolean {
    if (this.pending.has(key)) return true
    if (this.journal.has(key)) return true
    this.lastAbsent = key
    return false
  }

  /** Signed, as the ledger keeps it (0 for an account never used or a closed hold). */
  balance (account: string): Micro {
    return this.balances.get(account) ?? 0
  }

  /** Accounts under a prefix ('held:', 'payable:'), with their signed balances; '' for all. */
  accounts (prefix: string): Array<[string, Micro]> {
    const out: Array<[string, Micro]> = []
    for (const entry of this.balances) if (entry[0].startsWith(prefix)) out.push(entry)
    return out
  }

  summary (): LedgerSummary {
    let held = 0n
    for (const [account, balance] of this.balances) if (account.startsWith(HELD_PREFIX)) held += BigInt(balance)
    // 0 - x, not -x: a zero balance is 0, never -0
    const grant = 0 - this.balance(GRANT)
    const earned = 0 - this.balance(EARNED)
    const spent = this.balance(SPENT)
    return { grant, earned, spent, available: this.balance(AVAILABLE), held: Number(held), balance: grant + earned - spent }
  }

  /** Resolves once everything posted or written so far is committed to disk; rejects (E400) when that commit failed. */
  durable (): Promise<void> {
    if (this.queue.length === 0 && this.waiters.length === 0) return this.synced()
    // one commit and one sync for every caller of this turn of the event loop (group commit), at its end —
    // or at once for a batch big enough to gain nothing by waiting (the turn boundary costs a bulk writer ~20 %)
    const waiting = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    if (this.queue.length >= COMMIT_AT_ONCE) this.flush()
    else {
      this.soon ??= setImmediate(() => {
        this.soon = undefined
        this.flush()
      })
    }
    return waiting
  }

  /** Entries, newest first (pending postings are committed first so the history is complete). */
  history (query: HistoryQuery = {}): WalletEntry[] {
    this.flush()
    return this.journal.history(query)
  }

  /** Called after a failed commit reloaded the balances: drop every cache derived from queued rows. */
  onReload (listener: () => void): () => void {
    this.reloadListeners.add(listener)
    return () => this.reloadListeners.delete(listener)
  }

  /** Called after each successful commit. */
  onCommit (listener: () => void): () => void {
    this.commitListeners.add(listener)
    return () => this.commitListeners.delete(listener)
  }

  /** Commit the queue now, in one transaction (otherwise done once per turn of the event loop). */
  flush (): void {
    if (this.lazy !== undefined) {
      clearTimeout(this.lazy)
      this.lazy = undefined
    }
    if (this.soon !== undefined) {
      clearImmediate(this.soon)
      this.soon = undefined
    }
    const queue = this.queue
    const waiters = this.waiters
    this.queue = []
    this.waiters = []
    if (queue.length > 0) {
      const started = performance.now()
      try {
        this.commit(queue)
      } catch (err) {
        this.failed(err, queue.length, waiters)
        return
      }
      this.pending.clear()
      this.commits++
      this.metrics?.commits.inc({ outcome: 'ok' })
      this.metrics?.commitSeconds.observe((performance.now() - started) / 1000)
      for (const listener of this.commitListeners) listener()
    }
    if (waiters.length === 0) return
    this.synced().then(() => { for (const waiter of waiters) waiter.resolve() }, (err: unknown) => {
      for (const waiter of waiters) waiter.reject(err as Error)
    })
  }

  /** Resolves once every commit so far is on stable storage (the WAL synced since). */
  private async synced (): Promise<void> {
    if (this.wal === undefined || this.syncedCommits === this.commits) return
    const target = this.commits
    try {
      await this.wal.sync()
    } catch (err) {
      this.metrics?.commits.inc({ outcome: 'failed' })
      this.log.error({ err: messageOf(err) }, 'the ledger\'s writes could not be synced to disk')
      throw err
    }
    this.syncedCommits = Math.max(this.syncedCommits, target)
  }

  private commit (queue: Queued[]): void {
    const sqlite = this.db.sqlite
    sqlite.exec('BEGIN IMMEDIATE')
    try {
      const touched = new Map<string, Micro>()
      for (const item of queue) {
        if (typeof item === 'function') {
          item()
          continue
        }
        this.journal.insert(item)
        for (const entry of item.entries) touched.set(entry.account, entry.balance)
      }
      this.journal.writeBalances(touched)
      sqlite.exec('COMMIT')
    } catch (err) {
      // SQLite may have rolled back already (a full disk does)
      if (sqlite.isTransaction) sqlite.exec('ROLLBACK')
      throw err
    }
  }

  /** Disk is the truth again: reload the balances, tell the rooms above, reject the waiters. */
  private failed (err: unknown, size: number, waiters: Waiter[]): void {
    this.metrics?.commits.inc({ outcome: 'failed' })
    this.log.error({ err: messageOf(err), dropped: size }, 'ledger commit failed; balances reloaded from disk')
    this.pending.clear()
    try {
      this.balances = this.journal.balances()
    } catch (reloadErr) {
      this.log.error({ err: messageOf(reloadErr) }, 'ledger reload failed')
    }
    for (const listener of this.reloadListeners) {
      try {
        listener()
      } catch (listenerErr) {
        this.log.error({ err: messageOf(listenerErr) }, 'a room failed to reload after a failed commit')
      }
    }
    const error = new AgoraError('E400', 'the ledger could not write to disk; the postings of that turn were dropped', { why: messageOf(err), cause: err })
    for (const waiter of waiters) waiter.reject(error)
  }

  /** A commit within LAZY_COMMIT_MS for postings nobody waits for (`durable()` commits at the end of the turn). */
  private schedule (): void {
    this.lazy ??= setTimeout(() => {
      this.lazy = undefined
      this.flush()
    }, LAZY_COMMIT_MS)
  }

  /** The account's balance after `entry`, or a refusal naming the rule. */
  private checkedBalance (input: PostingInput, entry: Entry): Micro {
    const current = this.balance(entry.account)
    const next = current + entry.amount
    if (!Number.isSafeInteger(next)) {
      throw this.refuse(input, 'E1100', `posting ${input.key} would take ${entry.account} past the largest amount`, `${formatCredits(current)} + ${formatCredits(entry.amount)} credits`)
    }
    if (signHolds(accountSign(entry.account) ?? 'any', next)) return next
    if (entry.account === AVAILABLE) {
      this.metrics?.postings.inc({ kind: input.kind, outcome: 'refused' })
      throw new AgoraError('E1101', `the wallet cannot cover ${formatCredits(-entry.amount)} credits`, {
        why: `available is ${formatCredits(current)} credits`,
        details: { available: formatCredits(current), amount: formatCredits(-entry.amount), key: input.key, kind: input.kind }
      })
    }
    throw this.refuse(input, 'E1103', `posting ${input.key} would take ${entry.account} to ${formatCredits(next)} credits`, `${entry.account} may not cross its sign`)
  }

  private refuse (input: PostingInput, code: 'E1100' | 'E1103', what: string, why: string): AgoraError {
    this.metrics?.postings.inc({ kind: input.kind, outcome: 'refused' })
    return new AgoraError(code, what, { why, details: { key: input.key, kind: input.kind } })
  }

  private assertStarted (): void {
    if (!this.started) throw new AgoraError('E1103', 'the ledger is not started', { why: 'start() loads the balances first' })
  }
}

function isFile (path: string): boolean {
  return path !== '' && path !== ':memory:' && !path.startsWith('file::memory:')
}
