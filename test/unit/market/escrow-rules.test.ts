/** Escrow's rules: holds, captures (all or nothing, once per receipt), releases and expiry (exactly once, across a restart). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_MICRO } from '../../../src/market/amount.ts'
import { Escrow } from '../../../src/market/escrow/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { isCode } from '../../harness/checks.ts'
import { waitFor } from '../../harness/wait.ts'
import { assertBooks, assertJournal, booksNode, CREDIT, restart, snapshot } from './books-nodes.ts'

const SELLER = '12D3KooWSeLLerSeLLerSeLLerSeLLerSeLLerSeLLerSeLLer'

test('a hold moves credits from available to held:<hold>', async () => {
  const { escrow, ledger } = await booksNode({ grant: 100 * CREDIT })
  assert.equal(escrow.hold('job:1', 30 * CREDIT, { ref: 'job:1', expiresAt: 5e12 }), 'applied')
  assert.equal(ledger.balance('available'), 70 * CREDIT)
  assert.equal(escrow.remaining('job:1'), 30 * CREDIT)
  assert.equal(escrow.isOpen('job:1'), true)
  assert.deepEqual(escrow.list().map(h => [h.id, h.remaining, h.expiresAt, h.ref]), [['job:1', 30 * CREDIT, 5e12, 'job:1']])
  assertBooks(ledger)
})

test('a hold is idempotent per id; the same id with another amount → E1103', async () => {
  const { escrow, ledger } = await booksNode({ grant: 100 * CREDIT })
  escrow.hold('h', 10 * CREDIT)
  const before = snapshot(ledger)
  assert.equal(escrow.hold('h', 10 * CREDIT), 'duplicate')
  assert.throws(() => escrow.hold('h', 11 * CREDIT), isCode('E1103'))
  assert.deepEqual(snapshot(ledger), before)
})

test('a hold the wallet cannot cover → E1101 naming the balance, the amount and the fix', async () => {
  const { escrow, ledger } = await booksNode({ grant: 10 * CREDIT })
  escrow.hold('a', 4 * CREDIT)
  assert.throws(() => escrow.hold('b', 7 * CREDIT), (err: unknown) => {
    isCode('E1101')(err)
    const text = (err as Error & { format(): string }).format()
    assert.match(text, /cannot cover 7\.000000 credits/)
    assert.match(text, /available is 6\.000000 credits/)
    assert.match(text, /lower the amount .* or wait for holds to be released/)
    return true
  })
  assert.equal(escrow.isOpen('b'), false)
  assert.equal(ledger.balance('available'), 6 * CREDIT)
})

test('a negative hold → E1100', async () => {
  const { escrow } = await booksNode()
  assert.throws(() => escrow.hold('h', -1), isCode('E1100'))
})

test('a hold of a fraction of a micro-credit (more than six decimals) → E1100', async () => {
  const { escrow } = await booksNode()
  assert.throws(() => escrow.hold('h', 0.5), isCode('E1100'))
})

test('a hold past the safe range → E1100', async () => {
  const { escrow } = await booksNode()
  assert.throws(() => escrow.hold('h', MAX_MICRO + 2), isCode('E1100'))
})

test('a capture books held −x, spent +x, payable:<seller> −x, settlement +x, and owes the receipt to the seller', async () => {
  const { escrow, ledger, payer } = await booksNode({ grant: 100 * CREDIT })
  escrow.hold('h', 10 * CREDIT)
  assert.equal(escrow.capture({ holdId: 'h', receiptId: 'r1', seller: SELLER, amount: 3 * CREDIT }), 'applied')
  assert.equal(escrow.remaining('h'), 7 * CREDIT)
  assert.equal(ledger.balance('spent'), 3 * CREDIT)
  assert.equal(ledger.balance(`payable:${SELLER}`), -3 * CREDIT)
  assert.equal(ledger.balance('settlement'), 3 * CREDIT)
  const owed = payer.state(SELLER)
  assert.equal(owed.unlisted, 1)
  assert.equal(owed.unlistedAmount, 3 * CREDIT)
  assertBooks(ledger)
})

test('a capture applies once per receiptId, even after the hold is drained or released', async () => {
  const { escrow, ledger, payer } = await booksNode({ grant: 100 * CREDIT })
  escrow.hold('h', 5 * CREDIT)
  const input = { holdId: 'h', receiptId: 'r1', seller: SELLER, amount: 5 * CREDIT }
  escrow.capture(input)
  const before = snapshot(ledger)
  assert.equal(escrow.capture(input), 'duplicate')
  escrow.release('h')
  await ledger.durable()
  assert.equal(escrow.capture(input), 'duplicate')
  assert.equal(payer.state(SELLER).unlisted, 1, 'owed once')
  assert.equal(snapshot(ledger)['held:h'], undefined)
  assert.equal(before.spent, ledger.balance('spent'))
})

test('a receipt id captured again for another amount → E1103', async () => {
  const { escrow } = await booksNode()
  escrow.hold('h', 5 * CREDIT)
  escrow.capture({ holdId: 'h', receiptId: 'r1', seller: SELLER, amount: CREDIT })
  assert.throws(() => escrow.capture({ holdId: 'h', receiptId: 'r1', seller: SELLER, amount: 2 * CREDIT }), isCode('E1103'))
})

test('a capture above what is still held → E1104, nothing booked (all or nothing)', async () => {
  const { escrow, ledger, payer } = await booksNode({ grant: 100 * CREDIT })
  escrow.hold('h', 5 * CREDIT)
  escrow.capture({ holdId: 'h', receiptId: 'r1', seller: SELLER, amount: 4 * CREDIT })
  const before = snapshot(ledger)
  assert.throws(() => escrow.capture({ holdId: 'h', receiptId: 'r2', seller: SELLER, amount: 1 * CREDIT + 1 }), (err: unknown) => {
    isCode('E1104')(err)
    assert.match((err as Error & { format(): string }).format(), /holds 1\.000000 credits/)
    return true
  })
  assert.deepEqual(snapshot(ledger), before)
  assert.equal(ledger.has('capture:r2'), false)
  assert.equal(payer.state(SELLER).unlisted, 1)
})

test('a capture from a released hold → E1104', async () => {
  const { escrow } = await booksNode()
  escrow.hold('h', 5 * CREDIT)
  escrow.release('h')
  assert.throws(() => escrow.capture({ holdId: 'h', receiptId: 'r', seller: SELLER, amount: 1 }), isCode('E1104'))
})

test('a capture from a hold never placed → E1104', async () => {
  const { escrow } = await booksNode()
  assert.throws(() => escrow.capture({ holdId: 'nope', receiptId: 'r', seller: SELLER, amount: 1 }), isCode('E1104'))
})

test('a negative capture → E1100', async () => {
  const { escrow } = await booksNode()
  escrow.hold('h', 5 * CREDIT)
  assert.throws(() => escrow.capture({ holdId: 'h', receiptId: 'r', seller: SELLER, amount: -1 }), isCode('E1100'))
})

test('a release gives back what is left, exactly once', async () => {
  const { escrow, ledger } = await booksNode({ grant: 100 * CREDIT })
  escrow.hold('h', 10 * CREDIT)
  escrow.capture({ holdId: 'h', receiptId: 'r1', seller: SELLER, amount: 3 * CREDIT })
  assert.deepEqual(escrow.release('h'), { outcome: 'applied', amount: 7 * CREDIT })
  assert.deepEqual(escrow.release('h'), { outcome: 'duplicate', amount: 0 })
  await ledger.durable()
  assert.deepEqual(escrow.release('h'), { outcome: 'duplicate', amount: 0 })
  assert.deepEqual(escrow.release('never'), { outcome: 'unknown', amount: 0 })
  assert.equal(ledger.balance('available'), 97 * CREDIT)
  assert.equal(escrow.isOpen('h'), false)
  assert.equal(escrow.get('h')?.releasedAt, 1_700_000_000_000)
  assertBooks(ledger)
})

test('expiry releases holds past expiresAt once; a release racing it finds it done', async () => {
  const node = await booksNode({ grant: 100 * CREDIT })
  const { escrow, ledger, clock } = node
  const expired: string[] = []
  escrow.onExpired(hold => expired.push(hold.id))
  escrow.hold('soon', 10 * CREDIT, { expiresAt: clock.now + 1000 })
  escrow.hold('later', 10 * CREDIT, { expiresAt: clock.now + 5000 })
  escrow.hold('never', 10 * CREDIT)
  assert.equal(escrow.expire(), 0)
  clock.now += 1000
  assert.equal(escrow.expire(), 1)
  assert.equal(escrow.expire(), 0)
  assert.deepEqual(escrow.release('soon'), { outcome: 'duplicate', amount: 0 })
  // the other order: an explicit release first, then the sweep
  escrow.release('later')
  clock.now += 10_000
  assert.equal(escrow.expire(), 0)
  assert.deepEqual(expired, ['soon'])
  assert.equal(ledger.balance('available'), 90 * CREDIT)
  assert.equal(ledger.history({ account: 'held:soon' }).filter(e => e.kind === 'expire').length, 1)
  assertBooks(ledger)
})

test('the sweep timer releases an expired hold (timers unref\'d, stopped by stop())', async () => {
  const node = await booksNode({ grant: 100 * CREDIT })
  const { escrow, ledger, clock } = node
  escrow.hold('h', 10 * CREDIT, { expiresAt: clock.now + 50 })
  escrow.stop()
  await ledger.durable()
  const timed = new Escrow({ db: node.db, ledger, logger: silentLogger() }, { sweepMs: 10, now: () => clock.now })
  timed.start()
  try {
    clock.now += 100
    await waitFor('the sweep to release the hold', () => ledger.balance('available') === 100 * CREDIT, { timeoutMs: 5000 })
  } finally {
    timed.stop()
  }
})

test('after a restart, holds that expired while the node was down are released at start, once', async () => {
  const node = await booksNode({ grant: 100 * CREDIT })
  node.escrow.hold('h', 10 * CREDIT, { expiresAt: node.clock.now + 1000 })
  node.escrow.capture({ holdId: 'h', receiptId: 'r', seller: SELLER, amount: 2 * CREDIT })
  await node.ledger.durable()
  node.clock.now += 60_000
  const again = restart(node)
  again.escrow.start()
  again.escrow.stop()
  assert.equal(again.ledger.balance('available'), 98 * CREDIT)
  const third = restart(again)
  third.escrow.start()
  third.escrow.stop()
  assert.equal(third.ledger.balance('available'), 98 * CREDIT)
  assert.equal(third.ledger.history({ account: 'held:h' }).length, 3, 'hold, capture, expire')
  assertJournal(third.db)
})

test('a failed commit drops the hold it carried: escrow reloads from disk with the ledger', async () => {
  const { escrow, ledger, db } = await booksNode({ grant: 100 * CREDIT })
  escrow.hold('kept', 10 * CREDIT)
  await ledger.durable()
  db.sqlite.exec("CREATE TRIGGER fail BEFORE INSERT ON escrow_holds WHEN NEW.id = 'lost' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
  escrow.hold('lost', 10 * CREDIT)
  assert.equal(escrow.isOpen('lost'), true)
  await assert.rejects(ledger.durable(), isCode('E400'))
  assert.equal(escrow.isOpen('lost'), false)
  assert.equal(escrow.isOpen('kept'), true)
  assert.throws(() => escrow.capture({ holdId: 'lost', receiptId: 'r', seller: SELLER, amount: 1 }), isCode('E1104'))
  assert.equal(ledger.balance('available'), 90 * CREDIT)
  assertBooks(ledger)
})
