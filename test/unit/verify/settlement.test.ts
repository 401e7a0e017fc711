/**
 * What decisions pay (src/verify/settlement.ts) on real books (ledger,
 * escrow, payer on SQLite) and a real DecisionBook: the pay is held before
 * the decision is told, captured once when it is finalized, refunded when a
 * later decision orphans it — across restarts, timers and races.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { AgoraEvents, type AgoraEventMap } from '../../../src/events.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { DecisionPayRepository } from '../../../src/verify/decision-pay-repository.ts'
import { DecisionBook, type Decision } from '../../../src/verify/decisions.ts'
import { DecisionSettlement, payHoldId, type DecisionPay } from '../../../src/verify/settlement.ts'
import { isCode } from '../../harness/checks.ts'
import { waitFor } from '../../harness/wait.ts'
import { assertBooks, booksNode, CREDIT, restart, type BooksNode } from '../market/books-nodes.ts'

const PAYEE = '12D3KooWPayeePayeePayeePayeePayeePayeePayeePayee'
const OTHER = '12D3KooWOtherOtherOtherOtherOtherOtherOtherOther'

interface Rig {
  node: BooksNode
  book: DecisionBook
  settlement: DecisionSettlement
  announced: Array<[string, number, string]>
  events: { finalized: Array<AgoraEventMap['verify:finalized']>, reconciled: Array<AgoraEventMap['verify:reconciled']> }
  /** Decide as the network would: book it here (orphans go back to the settlement), return it. */
  decide: (epoch: number, result: string, pay: DecisionPay, lamport?: number) => Promise<Decision | undefined>
}

const THREAD = 'self/job-1'

function rig (node: BooksNode, book = new DecisionBook(), finalizeAfterMs = 60_000): Rig {
  const announced: Rig['announced'] = []
  const events = new AgoraEvents()
  const seen: Rig['events'] = { finalized: [], reconciled: [] }
  events.on('verify:finalized', e => seen.finalized.push(e))
  events.on('verify:reconciled', e => seen.reconciled.push(e))
  const settlement = new DecisionSettlement({
    self: node.peerId,
    repo: new DecisionPayRepository(node.db),
    decisions: book,
    market: {
      hold: (holdId, amount, options) => { node.escrow.hold(holdId, amount, options) },
      setAside: (from, to, amount, options) => { node.escrow.setAside(from, to, amount, options) },
      capture: input => { node.escrow.capture(input) },
      release: holdId => { node.escrow.release(holdId) },
      durable: async () => { await node.ledger.durable() }
    },
    announce: {
      finalized: async d => { announced.push(['FINALIZE', d.epoch, d.result]) },
      reconciled: async d => { announced.push(['RECONCILE', d.epoch, d.result]) }
    },
    events,
    log: silentLogger().forComponent('agora:verify')
  }, { finalizeAfterMs, now: () => node.clock.now })
  settlement.start()
  const decide: Rig['decide'] = async (epoch, result, pay, lamport = epoch) => await settlement.decide(THREAD, epoch, result, pay, async () => {
    const d = { thread: THREAD, epoch, lamport, decider: node.peerId, result }
    const outcome = book.offer(d)
    if (outcome.outcome === 'won') for (const loser of outcome.orphaned) settlement.orphaned(loser)
    return d
  })
  return { node, book, settlement, announced, events: seen, decide }
}

/** The escrow hold of a decision's pay, from its record. */
const holdOf = (r: Rig, epoch: number): string => new DecisionPayRepository(r.node.db).get(THREAD, epoch)?.holdId ?? ''

const pay = (receiptId: string, amount = CREDIT, payee = PAYEE): DecisionPay => ({ payee, receiptId, amount })

test('the pay is held before the decision is told; a later decision refunds it; the one that stands is captured once', async () => {
  const r = rig(await booksNode())
  await r.decide(1, 'X', pay('rX', 2 * CREDIT))
  const hold1 = holdOf(r, 1)
  assert.ok(hold1.startsWith(`${payHoldId(THREAD, 1)}/`))
  assert.equal(r.node.escrow.remaining(hold1), 2 * CREDIT)
  assert.equal(r.node.ledger.balance('available'), r.node.grant - 2 * CREDIT)

  await r.decide(2, 'Y', pay('rY'))
  await waitFor('epoch 1 refunded', () => r.events.reconciled.length === 1)
  assert.equal(r.node.escrow.remaining(hold1), 0, 'epoch 1 orphaned: its hold released')
  assert.equal(r.node.ledger.balance('available'), r.node.grant - CREDIT)
  assert.deepEqual(r.events.reconciled.map(e => [e.epoch, e.result, e.refund, e.winnerEpoch]), [[1, 'X', '2.000000', 2]])

  assert.equal(await r.settlement.finalize(THREAD), 'finalized')
  assert.equal(await r.settlement.finalize(THREAD), 'nothing-held', 'a second FINALIZE finds nothing held')
  assert.equal(r.node.ledger.balance('spent'), CREDIT, 'only the standing decision paid')
  assert.equal(r.node.ledger.balance(`payable:${PAYEE}`), -CREDIT)
  assert.equal(r.node.payer.state(PAYEE).unlisted, 1, 'the receipt is owed to its payee, paid by proof as any capture')
  assert.equal(r.book.get(THREAD)?.finalized, true)
  assert.deepEqual(r.announced, [['RECONCILE', 1, 'X'], ['FINALIZE', 2, 'Y']])
  assert.deepEqual(r.events.finalized.map(e => [e.epoch, e.result, e.amount]), [[2, 'Y', '1.000000']])
  assert.throws(() => r.book.offer({ thread: THREAD, epoch: 3, lamport: 3, decider: r.node.peerId, result: 'Z' }), isCode('E1200'), 'a finalized result stands')
  assertBooks(r.node.ledger, 'decider')
})

test('finalized by itself once it has stood finalizeAfterMs', async () => {
  const r = rig(await booksNode(), undefined, 30)
  await r.decide(1, 'X', pay('rX'))
  await waitFor('the timer to finalize', () => r.events.finalized.length === 1, { timeoutMs: 5000 })
  assert.equal(r.node.ledger.balance('spent'), CREDIT)
  r.settlement.stop()
})

/** A node decided X at epoch 1 with pay and stopped; it starts again with the book replayed, plus `later` decisions of others. */
async function restartedAfterDeciding (later: Decision[]): Promise<Rig> {
  const node = await booksNode()
  const first = rig(node)
  const decided = await first.decide(1, 'X', pay('rX'))
  first.settlement.stop()
  const book = new DecisionBook()
  for (const d of [decided as Decision, ...later]) book.offer(d)
  return rig(restart(node), book, 0)
}

test('after a restart: a held decision that still stands is finalized when due; one that no longer stands is refunded', async () => {
  const orphaned = await restartedAfterDeciding([{ thread: THREAD, epoch: 2, lamport: 2, decider: OTHER, result: 'Y' }])
  await waitFor('the refund', () => orphaned.events.reconciled.length === 1, { timeoutMs: 5000 })
  assert.equal(orphaned.node.ledger.balance('spent'), 0)
  assert.equal(orphaned.node.ledger.balance('available'), orphaned.node.grant)
  assert.deepEqual(orphaned.announced, [['RECONCILE', 1, 'X']])
  orphaned.settlement.stop()

  const standing = await restartedAfterDeciding([])
  await waitFor('the FINALIZE', () => standing.events.finalized.length === 1, { timeoutMs: 5000 })
  assert.equal(standing.node.ledger.balance('spent'), CREDIT)
  standing.settlement.stop()
})

test('deciding fails, or another decision stands instead (etcd): the hold is released at once', async () => {
  const r = rig(await booksNode())
  await assert.rejects(r.settlement.decide(THREAD, 1, 'X', pay('rX'), async () => { throw new AgoraError('E1203', 'etcd down') }), isCode('E1203'))
  assert.equal(r.node.ledger.balance('available'), r.node.grant)
  assert.equal(await r.settlement.decide(THREAD, 2, 'X', pay('rX'), async () => undefined), undefined)
  assert.equal(r.node.ledger.balance('available'), r.node.grant)
  assert.equal(await r.settlement.finalize(THREAD), 'nothing-held')
  // more than the wallet holds: refused before anything is decided
  let decided = false
  await assert.rejects(r.settlement.decide(THREAD, 3, 'X', pay('rX', r.node.grant + 1), async () => { decided = true; return undefined }), isCode('E1101'))
  assert.equal(decided, false)
})

test('a decision that lost at once (a later one stood already) is refunded at once; one epoch is decided once', async () => {
  const r = rig(await booksNode())
  r.book.offer({ thread: THREAD, epoch: 5, lamport: 5, decider: OTHER, result: 'Y' })
  await r.decide(1, 'X', pay('rX'))
  assert.deepEqual(r.events.reconciled.map(e => [e.epoch, e.winnerEpoch]), [[1, 5]])
  assert.equal(r.node.ledger.balance('available'), r.node.grant)
  await assert.rejects(r.decide(1, 'Z', pay('rZ')), isCode('E1201'))
})

test('two FINALIZEs at once (the timer and a call) capture once', async () => {
  const r = rig(await booksNode())
  await r.decide(1, 'X', pay('rX'))
  const outcomes = await Promise.all([r.settlement.finalize(THREAD), r.settlement.finalize(THREAD)])
  assert.deepEqual(outcomes, ['finalized', 'finalized'])
  assert.equal(r.events.finalized.length, 1)
  assert.equal(r.node.ledger.balance('spent'), CREDIT)
})

test('the hold and its record are on disk before the decision is told; a try that failed leaves the epoch free for the next, on a hold of its own', async () => {
  const r = rig(await booksNode())
  const onDisk = (): [number, number] => [
    (r.node.db.prepare('SELECT COUNT(*) AS n FROM escrow_holds WHERE released_at IS NULL').get() as { n: number }).n,
    (r.node.db.prepare("SELECT COUNT(*) AS n FROM verify_decision_pay WHERE state = 'held'").get() as { n: number }).n
  ]
  await assert.rejects(r.settlement.decide(THREAD, 1, 'X', pay('rX'), async () => {
    assert.deepEqual(onDisk(), [1, 1], 'held and recorded before deciding')
    throw new AgoraError('E1203', 'etcd timed out')
  }), isCode('E1203'))
  assert.deepEqual(onDisk(), [0, 0])
  const first = holdOf(r, 1)
  await r.decide(1, 'X', pay('rX'))
  assert.notEqual(holdOf(r, 1), first, 'a released hold\'s key is spent: the retry holds under another')
  assert.equal(r.node.escrow.remaining(holdOf(r, 1)), CREDIT)
  // two at once for one epoch: the second is refused before it holds anything
  await assert.rejects(Promise.all([r.decide(2, 'Y', pay('rY')), r.decide(2, 'Z', pay('rZ'))]), isCode('E1201'))
})

test('a standing decision whose hold is gone (expired while the node was down) is refunded at finalize, not left held', async () => {
  const r = rig(await booksNode())
  await r.decide(1, 'X', pay('rX'))
  r.node.escrow.release(holdOf(r, 1))
  assert.equal(await r.settlement.finalize(THREAD), 'refunded')
  assert.equal(r.node.ledger.balance('spent'), 0)
  assert.equal(new DecisionPayRepository(r.node.db).get(THREAD, 1)?.state, 'refunded')
})

test('pay set aside from a job\'s hold: the job\'s hold gives it, FINALIZE captures it; refunded, it goes to available', async () => {
  const r = rig(await booksNode())
  r.node.escrow.hold('job:j1', 5 * CREDIT)
  const available = r.node.ledger.balance('available')
  await r.decide(1, 'X', { ...pay('rX'), from: 'job:j1' })
  assert.equal(r.node.escrow.remaining('job:j1'), 4 * CREDIT)
  assert.equal(r.node.escrow.remaining(holdOf(r, 1)), CREDIT)
  assert.equal(r.node.ledger.balance('available'), available, 'nothing new held from available')
  await r.decide(2, 'Y', { ...pay('rY'), from: 'job:j1' })
  await waitFor('epoch 1 refunded', () => r.events.reconciled.length === 1)
  assert.equal(r.node.ledger.balance('available'), available + CREDIT, 'the orphaned pay went back to available')
  assert.equal(await r.settlement.finalize(THREAD), 'finalized')
  assert.equal(r.node.ledger.balance('spent'), CREDIT)
  assert.equal(r.node.escrow.remaining('job:j1'), 3 * CREDIT)
  assertBooks(r.node.ledger, 'decider')
})
