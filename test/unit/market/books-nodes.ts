/**
 * One node's market books for tests: a real SQLite database (in memory or a
 * file), its identity, and the ledger, escrow, payer and payee on it, with a
 * clock the test moves. `restart` builds new instances on the same database
 * (memory lost, disk kept), as a process restart would.
 */
import assert from 'node:assert/strict'
import { generateIdentity, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { Escrow } from '../../../src/market/escrow/index.ts'
import { AVAILABLE, EARNED, GRANT, HELD_PREFIX, Ledger, PAYABLE_PREFIX, RECEIVABLE_PREFIX, SETTLEMENT, SPENT, accountSign } from '../../../src/market/ledger/index.ts'
import { Payee, Payer, refusedRule } from '../../../src/market/payments/index.ts'
import { SentVoids } from '../../../src/market/payments/voids-sent.ts'
import { isCode } from '../../harness/checks.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database } from '../../../src/store/index.ts'

export const CREDIT = 1_000_000

export interface Clock { now: number }

export interface BooksNode {
  db: Database
  identity: NodeIdentity
  peerId: string
  clock: Clock
  ledger: Ledger
  escrow: Escrow
  payer: Payer
  payee: Payee
  voids: SentVoids
  grant: number
}

export interface BooksNodeOptions {
  grant?: number
  path?: string
  identity?: NodeIdentity
  clock?: Clock
  synchronous?: 'FULL' | 'NORMAL'
  maxReceiptsPerProof?: number
}

export async function booksNode (options: BooksNodeOptions = {}): Promise<BooksNode> {
  const identity = options.identity ?? await generateIdentity()
  const db = new Database({ path: options.path ?? ':memory:' })
  return build(db, identity, options.clock ?? { now: 1_700_000_000_000 }, options)
}

/** New instances on the same database, after writing what is pending (a clean stop and start). */
export function restart (node: BooksNode, options: BooksNodeOptions = {}): BooksNode {
  node.escrow.stop()
  node.ledger.stop()
  return build(node.db, node.identity, node.clock, { grant: node.grant, ...options })
}

function build (db: Database, identity: NodeIdentity, clock: Clock, options: BooksNodeOptions): BooksNode {
  const logger = silentLogger()
  const now = (): number => clock.now
  const grant = options.grant ?? 1000 * CREDIT
  const ledger = new Ledger({ db, logger }, { grant, now, ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }) })
  ledger.start()
  const payer = new Payer({ db, ledger, identity, logger }, { now, ...(options.maxReceiptsPerProof === undefined ? {} : { maxReceiptsPerProof: options.maxReceiptsPerProof }) })
  const payee = new Payee({ db, ledger }, { self: identity.peerIdString, now })
  const escrow = new Escrow({ db, ledger, logger, owed: payer }, { now })
  const voids = new SentVoids({ db, ledger, identity }, { now })
  return { db, identity, peerId: identity.peerIdString, clock, ledger, escrow, payer, payee, voids, grant }
}

/**
 * Every balance keeps its sign, the books sum to zero, and — for books made
 * of the postings of docs/market.md (not arbitrary ones) — grant + earned −
 * spent = available + held and settlement = −(Σ payable + Σ receivable), in bigint.
 */
export function assertBooks (ledger: Ledger, label = '', wallet = true): void {
  let total = 0n
  let held = 0n
  let trustLines = 0n
  for (const [account, balance] of ledger.accounts('')) {
    const sign = accountSign(account)
    assert.ok(sign !== undefined, `${label} unknown account ${account}`)
    if (sign === 'positive') assert.ok(balance >= 0, `${label} ${account} = ${balance} < 0`)
    if (sign === 'negative') assert.ok(balance <= 0, `${label} ${account} = ${balance} > 0`)
    total += BigInt(balance)
    if (account.startsWith(HELD_PREFIX)) held += BigInt(balance)
    if (account.startsWith(PAYABLE_PREFIX) || account.startsWith(RECEIVABLE_PREFIX)) trustLines += BigInt(balance)
  }
  assert.equal(total, 0n, `${label} the books sum to zero`)
  if (!wallet) return
  const b = (account: string): bigint => BigInt(ledger.balance(account))
  assert.equal(-b(GRANT) - b(EARNED) - b(SPENT), b(AVAILABLE) + held, `${label} grant + earned − spent = available + held`)
  assert.equal(b(SETTLEMENT), -trustLines, `${label} settlement = −(Σ payable + Σ receivable)`)
  assert.ok(ledger.balance(AVAILABLE) >= 0, `${label} available ≥ 0`)
}

/** Balances as stored on disk equal the sums of their entries, and each entry's balance is the running sum. */
export function assertJournal (db: Database): void {
  const drift = db.sqlite.prepare(`
    SELECT account, balance, running FROM (
      SELECT account, balance, SUM(amount) OVER (PARTITION BY account ORDER BY posting_id) AS running FROM ledger_entries
    ) WHERE balance != running LIMIT 1`).get()
  assert.equal(drift, undefined, `an entry's balance is the running sum: ${JSON.stringify(drift)}`)
  const stale = db.sqlite.prepare(`
    SELECT e.account, e.total, b.balance FROM (SELECT account, SUM(amount) AS total FROM ledger_entries GROUP BY account) e
    LEFT JOIN ledger_balances b ON b.account = e.account
    WHERE COALESCE(b.balance, 0) != e.total LIMIT 1`).get()
  assert.equal(stale, undefined, `ledger_balances = Σ entries: ${JSON.stringify(stale)}`)
}

/** Every balance of a ledger, for "nothing changed" comparisons. */
export function snapshot (ledger: Ledger): Record<string, number> {
  return Object.fromEntries(ledger.accounts('').sort(([a], [b]) => a.localeCompare(b)))
}

/** The payee refuses `envelope` with `code` and the broken `rule`, and nothing changed on its books. */
export function refused (b: BooksNode, envelope: Envelope | Uint8Array, code: string, rule: string): void {
  const before = snapshot(b.ledger)
  assert.throws(() => b.payee.accept(envelope), (err: unknown) => {
    isCode(code)(err)
    assert.equal(refusedRule(err), rule)
    return true
  })
  assert.deepEqual(snapshot(b.ledger), before)
}
