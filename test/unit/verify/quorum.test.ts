/** K = min(kTarget, floor(active × alpha)) and bootstrap mode: entered below 10 verifiers, left only after the count held for the stable period. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Quorum, quorumSize, VERIFY_DEFAULTS } from '../../../src/verify/index.ts'

const HOUR = 60 * 60_000

test('the defaults are the documented ones: kTarget 5, alpha 0.3, 10 verifiers stable for 24 h, trust after 10, pMin 0.05', () => {
  assert.equal(VERIFY_DEFAULTS.kTarget, 5)
  assert.equal(VERIFY_DEFAULTS.alpha, 0.3)
  assert.equal(VERIFY_DEFAULTS.bootstrapMinVerifiers, 10)
  assert.equal(VERIFY_DEFAULTS.bootstrapStableMs, 24 * HOUR)
  assert.equal(VERIFY_DEFAULTS.trustAfter, 10)
  assert.equal(VERIFY_DEFAULTS.pMin, 0.05)
})

test('K = min(5, floor(active × 0.3)), at least 1: 10 → 3, 16 → 4, 17 → 5, 100 → 5, 3 → 1', () => {
  assert.deepEqual([0, 3, 9, 10, 13, 14, 16, 17, 100].map(n => quorumSize(n)), [1, 1, 2, 3, 3, 4, 4, 5, 5])
  assert.equal(quorumSize(40, 7, 0.5), 7)
  assert.throws(() => quorumSize(-1), RangeError)
  assert.throws(() => quorumSize(2.5), RangeError)
})

test('property: K never passes kTarget nor floor(active × alpha) (when that is ≥ 1), and never falls as verifiers join', () => {
  fc.assert(fc.property(fc.nat(10_000), fc.integer({ min: 1, max: 20 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (active, kTarget, alpha) => {
    const k = quorumSize(active, kTarget, alpha)
    assert.ok(k >= 1 && k <= kTarget)
    if (Math.floor(active * alpha) >= 1) assert.ok(k <= Math.floor(active * alpha))
    assert.ok(quorumSize(active + 1, kTarget, alpha) >= k)
  }))
})

test('bootstrap mode: K = 1 and provisional below 10 verifiers, and at 10 until they held 24 h; then K from the formula', () => {
  const q = new Quorum()
  assert.deepEqual(q.observe(4, 0), { mode: 'bootstrap', k: 1, active: 4, stableSince: undefined, provisional: true })
  const at10 = q.observe(10, 1000)
  assert.equal(at10.mode, 'bootstrap')
  assert.equal(at10.k, 1)
  assert.equal(at10.stableSince, 1000)
  assert.equal(q.observe(12, 1000 + 24 * HOUR - 1).mode, 'bootstrap', 'one millisecond short')
  const left = q.observe(12, 1000 + 24 * HOUR)
  assert.deepEqual(left, { mode: 'quorum', k: 3, active: 12, stableSince: undefined, provisional: false })
  assert.equal(q.observe(20, 2000 + 24 * HOUR).k, 5)
})

test('a dip below 10 during the stable period starts it again; a drop after leaving enters bootstrap mode again', () => {
  const q = new Quorum({ stableMs: 100 })
  q.observe(10, 0)
  q.observe(9, 50)
  assert.equal(q.observe(10, 120).mode, 'bootstrap', 'the clock restarted at 120')
  assert.equal(q.observe(10, 219).mode, 'bootstrap')
  assert.equal(q.observe(10, 220).mode, 'quorum')
  assert.equal(q.observe(11, 10_000).mode, 'quorum', 'staying up keeps it')
  const dropped = q.observe(6, 10_001)
  assert.equal(dropped.mode, 'bootstrap')
  assert.equal(dropped.k, 1)
  assert.equal(q.observe(10, 10_002).mode, 'bootstrap', 'and it must hold again')
})

test('bad settings are refused', () => {
  assert.throws(() => new Quorum({ kTarget: 0 }), RangeError)
  assert.throws(() => new Quorum({ alpha: 0 }), RangeError)
  assert.throws(() => new Quorum({ alpha: 1.5 }), RangeError)
  assert.throws(() => new Quorum().observe(-1, 0), RangeError)
})
