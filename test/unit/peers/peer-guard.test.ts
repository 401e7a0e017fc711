import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay } from '../../../src/peers/index.ts'

test('peers: reconnect backoff doubles from the minimum up to the maximum, with bounded jitter', () => {
  const mid = [0, 1, 2, 3, 4, 5, 6, 10].map(attempt => backoffDelay(attempt, 1000, 60_000, 0.5))
  assert.deepEqual(mid, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000])
  assert.equal(backoffDelay(0, 1000, 60_000, 0), 800, 'jitter −20%')
  assert.equal(backoffDelay(0, 1000, 60_000, 1), 1200, 'jitter +20%')
  assert.equal(backoffDelay(20, 1000, 60_000, 1), 60_000, 'never above the maximum')
  for (let i = 0; i < 100; i++) {
    const delay = backoffDelay(3, 100, 1000, Math.random())
    assert.ok(delay >= 640 && delay <= 960, `${delay}`)
  }
})
