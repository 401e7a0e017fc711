/**
 * Property: the ledger against a bigint model, over random postings —
 * balanced or not, crossing signs or not, near the safe range, keys reused
 * (the same posting: a duplicate; different entries: E1103) — with group
 * commits, restarts and failed commits (memory back to what is on disk)
 * mixed in. After every step the balances equal the model's and the books
 * hold their invariants.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { isAgoraError } from '../../../src/errors.ts'
import { MAX_MICRO } from '../../../src/market/amount.ts'
import { accountSign, AVAILABLE, Ledger, type Entry, type PostingInput } from '../../../src/market/ledger/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database } from '../../../src/store/index.ts'
import { assertBooks, assertJournal, CREDIT } from './books-nodes.ts'

const ACCOUNTS = ['available', 'spent', 'earned', 'grant', 'settlement', 'held:a', 'held:b', 'held:c', 'payable:p', 'payable:q', 'receivable:p', 'receivable:q']
const GRANT = 1000 * CREDIT
const OPS_PER_RUN = 200
const RUNS = 160

type Op =
  | { t: 'post', key: number, moves: Array<[number, number, number]>, skew: number }
  | { t: 'replay', pick: number } | { t: 'flush' } | { t: 'restart' } | { t: 'fail' }

const amount = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 40 * CREDIT }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, MAX_MICRO, MAX_MICRO - 1, MAX_MICRO + 1, 0.5) }
)
const account = fc.nat(ACCOUNTS.length - 1)
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      t: fc.constant('post' as const),
      // mostly fresh keys; a reused one with other entries must be refused
      key: fc.nat(2000),
      // one or two moves of x from an account to another: entries −x and +x
      moves: fc.array(fc.tuple(account, account, amount), { minLength: 1, maxLength: 2 }),
      // mostly balanced; sometimes off by one micro-credit
      skew: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, -1) })
    })
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('replay' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'fail' as const }) }
)

/** The posting an op describes: its moves merged per account (an account named twice is its own rule, covered in ledger-rules). */
function postingOf (o: Extract<Op, { t: 'post' }>): PostingInput {
  const byAccount = new Map<string, number>()
  for (const [from, to, x] of o.moves) {
    byAccount.set(ACCOUNTS[from] as string, (byAccount.get(ACCOUNTS[from] as string) ?? 0) - x)
    byAccount.set(ACCOUNTS[to] as string, (byAccount.get(ACCOUNTS[to] as string) ?? 0) + x)
  }
  const entries: Entry[] = [...byAccount].map(([name, a]) => ({ account: name, amount: a }))
  const first = entries[0] as Entry
  first.amount += o.skew
  return { key: `k${o.key}`, kind: 'test', entries }
}

/** What the ledger must answer, computed in bigint. */
function expected (model: Map<string, bigint>, keys: Map<string, string>, posting: PostingInput): 'applied' | 'duplicate' | string {
  const entries = posting.entries.filter(e => e.amount !== 0)
  if (posting.entries.some(e => !Number.isSafeInteger(e.amount))) return 'E1100'
  const signature = JSON.stringify([...entries].sort((x, y) => x.account.localeCompare(y.account)))
  const before = keys.get(posting.key)
  if (before !== undefined) return before === signature ? 'duplicate' : 'E1103'
  if (entries.reduce((sum, e) => sum + BigInt(e.amount), 0n) !== 0n) return 'E1103'
  for (const e of entries) {
    const next = (model.get(e.account) ?? 0n) + BigInt(e.amount)
    if (next > BigInt(MAX_MICRO) || next < -BigInt(MAX_MICRO)) return 'E1100'
    const sign = accountSign(e.account)
    if ((sign === 'positive' && next < 0n) || (sign === 'negative' && next > 0n)) return e.account === AVAILABLE ? 'E1101' : 'E1103'
  }
  for (const e of entries) model.set(e.account, (model.get(e.account) ?? 0n) + BigInt(e.amount))
  keys.set(posting.key, signature)
  return 'applied'
}

test(`ledger property: ${RUNS} runs × ${OPS_PER_RUN} random postings, restarts and failed commits against a bigint model`, async (t) => {
  let operations = 0
  const outcomes = new Map<string, number>()
  const started = performance.now()
  fc.assert(fc.property(fc.array(op, { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN }), ops => {
    const db = new Database({ path: ':memory:' })
    const open = (): Ledger => {
      const ledger = new Ledger({ db, logger: silentLogger() }, { grant: GRANT })
      ledger.start()
      return ledger
    }
    let ledger = open()
    const sent: PostingInput[] = []
    // model: what memory holds (pending included) and what is committed
    let model = new Map<string, bigint>([['grant', -BigInt(GRANT)], ['available', BigInt(GRANT)]])
    let keys = new Map<string, string>([['grant', JSON.stringify([{ account: 'available', amount: GRANT }, { account: 'grant', amount: -GRANT }])]])
    ledger.flush()
    let committed = { model: new Map(model), keys: new Map(keys) }
    for (const o of ops) {
      operations++
      if (o.t === 'flush') {
        ledger.flush()
        committed = { model: new Map(model), keys: new Map(keys) }
      } else if (o.t === 'restart') {
        ledger.stop()
        committed = { model: new Map(model), keys: new Map(keys) }
        ledger = open()
      } else if (o.t === 'fail') {
        ledger.write(() => { throw new Error('injected I/O error') })
        ledger.flush()
        model = new Map(committed.model)
        keys = new Map(committed.keys)
      } else {
        // a replay repeats a posting sent before, verbatim (applied then: a duplicate now)
        const posting = o.t === 'replay' ? sent[o.pick % sent.length] : postingOf(o)
        if (posting === undefined) continue
        sent.push(posting)
        const want = expected(model, keys, posting)
        let got: string
        try {
          got = ledger.post(posting)
        } catch (err) {
          if (!isAgoraError(err)) throw err
          got = err.code
        }
        assert.equal(got, want, `posting ${JSON.stringify(posting)}`)
        outcomes.set(got, (outcomes.get(got) ?? 0) + 1)
      }
      for (const account of ACCOUNTS) assert.equal(BigInt(ledger.balance(account)), model.get(account) ?? 0n, account)
      // arbitrary postings: the sum and the signs hold; the wallet identity needs the postings of docs/market.md (escrow and books properties)
      assertBooks(ledger, '', false)
    }
    ledger.flush()
    assertJournal(db)
    db.close()
  }), { numRuns: RUNS })
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(`${operations} operations in ${seconds.toFixed(1)} s; postings: ${JSON.stringify(Object.fromEntries(outcomes))}`)
  assert.ok(operations >= RUNS * OPS_PER_RUN)
})
