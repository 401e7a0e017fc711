/** The decisions table as the catch-up serves it (src/verify/decisions-repository.ts): DECIDEs and FINALIZEs in one keeping order, paged after a cursor. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Database } from '../../../src/store/index.ts'
import { DecisionsRepository, type DecisionCursor } from '../../../src/verify/decisions-repository.ts'
import type { Decision } from '../../../src/verify/decisions.ts'

const START: DecisionCursor = { at: 0, thread: '', decider: '', epoch: 0 }
const d = (thread: string, epoch = 1): Decision => ({ thread, decider: 'alice', epoch, lamport: epoch, result: 'a'.repeat(64) })
/** Every row after `cursor`, asked `limit` at a time, as `envelope@at`. */
function pages (repo: DecisionsRepository, limit: number, cursor = START): string[][] {
  const out: string[][] = []
  for (;;) {
    const page = repo.after(cursor, limit)
    if (page.length === 0) return out
    assert.ok(page.length <= limit, 'a page holds at most `limit` rows')
    out.push(page.map(r => `${r.envelope}@${r.at}`))
    const last = page[page.length - 1] as DecisionCursor
    cursor = { at: last.at, thread: last.thread, decider: last.decider, epoch: last.epoch }
  }
}

test('DECIDEs and FINALIZEs come in one order — a FINALIZE at the time it was kept, never before its DECIDE — and pages of any size add up to it', () => {
  const repo = new DecisionsRepository(new Database({ path: ':memory:' }))
  repo.insert(d('t1'), 1000, 'D1')
  repo.insert(d('t2'), 1000, 'D2')
  repo.insert(d('t3'), 1001, 'D3')
  // kept in the same millisecond as its DECIDE: placed one after, so the two never share a place in the order
  assert.equal(repo.keepFinalize(d('t1'), 'F1', 1000), true)
  assert.equal(repo.keepFinalize(d('t2'), 'F2', 5000), true)
  const all = ['D1@1000', 'D2@1000', 'F1@1001', 'D3@1001', 'F2@5000']
  assert.deepEqual(pages(repo, 10), [all])
  for (const limit of [1, 2, 3]) assert.deepEqual(pages(repo, limit).flat(), all, `pages of ${limit}`)
  // a pull that ended at D3 gets only the FINALIZE kept since
  assert.deepEqual(pages(repo, 10, { at: 1001, thread: 't3', decider: 'alice', epoch: 1 }), [['F2@5000']])
})

test('a FINALIZE is kept once, only for a stored decision; it marks the decision final across a restart; pruning drops both', () => {
  const db = new Database({ path: ':memory:' })
  const repo = new DecisionsRepository(db)
  repo.insert(d('t1'), 1000, 'D1')
  assert.equal(repo.keepFinalize(d('t1'), 'F1', 2000), true)
  assert.equal(repo.keepFinalize(d('t1'), 'F1-again', 3000), false, 'kept already: unchanged')
  assert.equal(repo.keepFinalize(d('t9'), 'F9', 2000), false, 'no such decision stored')
  assert.deepEqual(pages(repo, 10).flat(), ['D1@1000', 'F1@2000'])
  assert.deepEqual(new DecisionsRepository(db).load(0).map(r => [r.thread, r.finalized]), [['t1', true]])
  repo.prune(1001)
  assert.deepEqual(pages(repo, 10), [])
})

test('a decision stored without its DECIDE (booked before envelopes were kept) still hands on its FINALIZE', () => {
  const repo = new DecisionsRepository(new Database({ path: ':memory:' }))
  repo.insert(d('t1'), 1000)
  repo.insert(d('t2'), 1000)
  repo.keepFinalize(d('t1'), 'F1', 1500)
  assert.deepEqual(pages(repo, 10).flat(), ['F1@1500'])
})
