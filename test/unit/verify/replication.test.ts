/** Adaptive replication: every result checked until 10 in a row were valid, then max(pMin, 1/n); one invalid result resets n and halves the share. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AdaptiveReplication, escapeProbability, secureRandom } from '../../../src/verify/index.ts'
import { Database } from '../../../src/store/index.ts'
import { StandingsRepository } from '../../../src/verify/index.ts'

test('untrusted until 10 consecutive valid checks: probability 1; then 1/n down to the 0.05 floor', () => {
  const r = new AdaptiveReplication()
  const seen: number[] = []
  for (let n = 0; n < 30; n++) {
    seen.push(r.checkProbability('w', 'text.embed'))
    r.record('w', 'text.embed', true)
  }
  assert.deepEqual(seen.slice(0, 10), Array(10).fill(1))
  assert.equal(seen[10], 1 / 10)
  assert.equal(seen[15], 1 / 15)
  assert.equal(seen[20], 0.05)
  assert.equal(seen[29], 0.05, 'the floor holds')
  assert.equal(r.standing('w', 'text.embed').trusted, true)
  assert.equal(r.checkProbability('w', 'text.chunk'), 1, 'trust is per task type')
  assert.equal(r.checkProbability('other', 'text.embed'), 1, 'and per worker')
})

test('one invalid result resets the streak (checked every time again) and halves the share; valid checks win it back slowly', () => {
  const r = new AdaptiveReplication()
  for (let n = 0; n < 12; n++) r.record('w', 't', true)
  const caught = r.record('w', 't', false)
  assert.equal(caught.streak, 0)
  assert.equal(caught.trusted, false)
  assert.equal(caught.checkProbability, 1)
  assert.equal(caught.share, 0.5)
  assert.equal(r.record('w', 't', false).share, 0.25)
  const after = r.record('w', 't', true)
  assert.ok(after.share > 0.25 && after.share < 0.5, `share ${after.share}`)
  assert.equal(after.checks, 15)
  assert.equal(after.invalid, 2)
})

test('shouldCheck draws against the probability with the given random source', () => {
  let next = 0.07
  const r = new AdaptiveReplication({ random: () => next })
  assert.equal(r.shouldCheck('w', 't'), true, 'untrusted: always, whatever the draw')
  for (let n = 0; n < 20; n++) r.record('w', 't', true)
  assert.equal(r.checkProbability('w', 't'), 0.05)
  assert.equal(r.shouldCheck('w', 't'), false)
  next = 0.049
  assert.equal(r.shouldCheck('w', 't'), true)
})

test('detection arithmetic: always cheating at p = 0.1 escapes 50 tasks with 0.5 %; cheating on 10 % escapes 500 with 0.7 %', () => {
  assert.ok(Math.abs(escapeProbability(0.1, 1, 50) - 0.9 ** 50) < 1e-12)
  assert.ok(escapeProbability(0.1, 1, 50) < 0.01)
  assert.ok(escapeProbability(0.1, 0.1, 500) < 0.01)
  assert.ok(escapeProbability(0.05, 0.1, 500) > 0.05, 'at the floor alone, 10 % cheating needs more tasks')
})

test('bad settings are refused', () => {
  assert.throws(() => new AdaptiveReplication({ trustAfter: 0 }), RangeError)
  assert.throws(() => new AdaptiveReplication({ pMin: 0 }), RangeError)
})

test('the default random source is the OS\'s: uniform in [0, 1)', () => {
  const draws = Array.from({ length: 20_000 }, () => secureRandom())
  assert.ok(draws.every(x => x >= 0 && x < 1))
  const mean = draws.reduce((a, b) => a + b, 0) / draws.length
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`)
  assert.ok(draws.filter(x => x < 0.1).length > 1500 && draws.filter(x => x < 0.1).length < 2500)
})

test('standings survive a restart: a trusted worker stays trusted, a caught one keeps its halved share; old rows are dropped', () => {
  const db = new Database({ path: ':memory:' })
  let now = 1_000_000_000
  const store = new StandingsRepository(db, { now: () => now, retentionMs: 1000 })
  const before = new AdaptiveReplication({ trustAfter: 3, pMin: 0.05, store })
  for (let i = 0; i < 4; i++) before.record('honest', 'text.embed', true)
  before.record('cheat', 'text.embed', false)
  const after = new AdaptiveReplication({ trustAfter: 3, pMin: 0.05, store })
  assert.deepEqual(after.standing('honest', 'text.embed'), before.standing('honest', 'text.embed'))
  assert.equal(after.standing('honest', 'text.embed').trusted, true)
  assert.equal(after.standing('cheat', 'text.embed').share, 0.5)
  assert.equal(after.checkProbability('cheat', 'text.embed'), 1)
  now += 2000
  const later = new AdaptiveReplication({ trustAfter: 3, pMin: 0.05, store })
  assert.equal(later.standing('honest', 'text.embed').checks, 0, 'untouched past the retention: forgotten')
})

test('memory is bounded: past maxStandings the least recently checked standing is forgotten', () => {
  const r = new AdaptiveReplication({ trustAfter: 2, maxStandings: 2 })
  r.record('a', 't', true)
  r.record('b', 't', true)
  r.record('a', 't', true)
  r.record('c', 't', true)
  assert.deepEqual(['a', 'b', 'c'].map(w => r.standing(w, 't').checks), [2, 0, 1])
})
