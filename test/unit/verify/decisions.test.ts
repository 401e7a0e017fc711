/** Epochs: the order of decisions, merging both sides of a healed partition, one decision per decider and epoch, one FINALIZE per thread. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compareDecisions, DecisionBook, resolveThread, type Decision } from '../../../src/verify/index.ts'
import { isCode } from '../../harness/checks.ts'
import { Database } from '../../../src/store/index.ts'
import { DecisionsRepository } from '../../../src/verify/decisions-repository.ts'

const d = (epoch: number, lamport: number, decider: string, result: string, thread = 'job-1'): Decision => ({ thread, epoch, lamport, decider, result })

test('order: epoch first, then Lamport time, then decider id', () => {
  assert.ok(compareDecisions(d(2, 1, 'a', 'x'), d(1, 99, 'z', 'y')) > 0)
  assert.ok(compareDecisions(d(1, 5, 'a', 'x'), d(1, 4, 'z', 'y')) > 0)
  assert.ok(compareDecisions(d(1, 5, 'b', 'x'), d(1, 5, 'a', 'y')) > 0)
  assert.equal(compareDecisions(d(1, 5, 'a', 'x'), d(1, 5, 'a', 'x')), 0)
})

test('resolve: the highest decision wins; losers that named another result are orphaned, agreeing ones are not', () => {
  const { winner, orphaned } = resolveThread([d(1, 3, 'a', 'x'), d(2, 1, 'b', 'y'), d(1, 9, 'c', 'y'), d(2, 1, 'a', 'x')])
  assert.deepEqual(winner, d(2, 1, 'b', 'y'))
  assert.deepEqual(orphaned, [d(1, 3, 'a', 'x'), d(2, 1, 'a', 'x')])
  assert.throws(() => resolveThread([]), RangeError)
  assert.throws(() => resolveThread([d(1, 1, 'a', 'x'), d(1, 1, 'a', 'x', 'job-2')]), RangeError)
})

test('property: two sides of a partition that exchange their decisions in any order agree on the winner of every thread', () => {
  const decision = fc.record({
    thread: fc.constantFrom('t1', 't2', 't3'),
    epoch: fc.nat(5),
    lamport: fc.nat(20),
    decider: fc.constantFrom('peerA', 'peerB', 'peerC', 'peerD'),
    result: fc.constantFrom('r1', 'r2', 'r3')
  })
  fc.assert(fc.property(fc.uniqueArray(decision, { selector: x => `${x.thread} ${x.decider} ${x.epoch}` }), fc.nat(), (all, seed) => {
    const left = new DecisionBook()
    const right = new DecisionBook()
    const shuffled = [...all].sort((x, y) => ((seed + x.lamport * 31 + x.epoch * 7) % 13) - ((seed + y.lamport * 31 + y.epoch * 7) % 13))
    for (const x of all) left.offer(x)
    for (const x of shuffled) right.offer(x)
    for (const thread of ['t1', 't2', 't3']) {
      const mine = all.filter(x => x.thread === thread)
      if (mine.length === 0) continue
      assert.deepEqual(left.get(thread)?.winner, resolveThread(mine).winner)
      assert.deepEqual(right.get(thread)?.winner, left.get(thread)?.winner)
    }
  }))
})

test('the book: a newer decision displaces the winner (orphaning it when it named another result); an older one loses', () => {
  const book = new DecisionBook()
  assert.deepEqual(book.offer(d(1, 1, 'a', 'x')), { outcome: 'won', orphaned: [] })
  assert.deepEqual(book.offer(d(1, 1, 'a', 'x')), { outcome: 'duplicate' })
  assert.deepEqual(book.offer(d(2, 1, 'b', 'y')), { outcome: 'won', orphaned: [d(1, 1, 'a', 'x')] })
  assert.deepEqual(book.offer(d(1, 50, 'c', 'x')), { outcome: 'lost', orphaned: true }, 'an older epoch never wins, whatever its Lamport time')
  assert.deepEqual(book.offer(d(1, 60, 'e', 'y')), { outcome: 'lost', orphaned: false })
  assert.deepEqual(book.offer(d(2, 2, 'c', 'y')), { outcome: 'won', orphaned: [] }, 'same result, newer: nothing to reconcile')
  assert.deepEqual(book.get('job-1'), { winner: d(2, 2, 'c', 'y'), epoch: 2, finalized: false })
})

test('a decider that decides one thread twice in an epoch, differently → E1201, nothing changes', () => {
  const book = new DecisionBook()
  book.offer(d(3, 1, 'a', 'x'))
  assert.throws(() => book.offer(d(3, 2, 'a', 'y')), isCode('E1201'))
  assert.deepEqual(book.get('job-1')?.winner, d(3, 1, 'a', 'x'))
})

test('FINALIZE: once, for the winner only — a loser or a fenced-off epoch → E1200; after it a decision for another result → E1200', () => {
  const book = new DecisionBook()
  assert.throws(() => book.finalize(d(1, 1, 'a', 'x')), isCode('E1200'), 'nothing decided')
  book.offer(d(1, 1, 'a', 'x'))
  book.offer(d(2, 1, 'b', 'y'))
  assert.throws(() => book.finalize(d(1, 1, 'a', 'x')), isCode('E1200'), 'epoch 1 is fenced off by epoch 2')
  assert.equal(book.finalize(d(2, 1, 'b', 'y')), true)
  assert.equal(book.finalize(d(2, 1, 'b', 'y')), false, 'never two FINALIZEs')
  assert.throws(() => book.offer(d(3, 1, 'c', 'x')), isCode('E1200'))
  assert.deepEqual(book.offer(d(3, 1, 'c', 'y')), { outcome: 'won', orphaned: [] }, 'a newer decision for the same result is harmless')
})

test('a malformed decision → E1202', () => {
  const book = new DecisionBook()
  assert.throws(() => book.offer(d(-1, 1, 'a', 'x')), isCode('E1202'))
  assert.throws(() => book.offer(d(1, 1.5, 'a', 'x')), isCode('E1202'))
  assert.throws(() => book.offer(d(1, 1, '', 'x')), isCode('E1202'))
  assert.throws(() => book.offer(d(1, 1, 'a', '', '')), isCode('E1202'))
})

test('a finalized decision is kept final on disk: load says so after a restart', () => {
  const db = new Database({ path: ':memory:' })
  const repo = new DecisionsRepository(db)
  const d = { thread: 't', epoch: 1, lamport: 1, decider: 'd', result: 'x' }
  repo.insert(d, 1000)
  repo.insert({ ...d, thread: 'u' }, 1000)
  repo.markFinalized(d, 2000)
  assert.deepEqual(repo.load(0).map(r => [r.thread, r.finalized]), [['t', true], ['u', false]])
})
