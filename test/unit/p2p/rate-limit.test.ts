import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedRateLimiter, TokenBucket } from '../../../src/p2p/index.ts'

describe('p2p: token buckets', () => {
  test('a bucket allows its burst, then refills at perSecond', () => {
    let now = 0
    const bucket = new TokenBucket({ perSecond: 2, burst: 3, now: () => now })
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false])
    now += 499
    assert.equal(bucket.take(), false, 'just under one token after 499 ms at 2/s')
    now += 1
    assert.equal(bucket.take(), true)
    now += 60_000
    assert.equal(bucket.isFull(), true)
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false], 'never more than the burst')
  })

  test('the default burst is one second worth', () => {
    const bucket = new TokenBucket({ perSecond: 5, now: () => 0 })
    const taken = Array.from({ length: 7 }, () => bucket.take()).filter(Boolean).length
    assert.equal(taken, 5)
  })

  test('keys have separate buckets and their number stays bounded', () => {
    let now = 0
    const limiter = new KeyedRateLimiter({ perSecond: 1, burst: 1, maxKeys: 3, now: () => now })
    assert.equal(limiter.take('a'), true)
    assert.equal(limiter.take('a'), false)
    assert.equal(limiter.take('b'), true, 'another key is not affected')
    limiter.take('c')
    limiter.take('d')
    limiter.take('e')
    assert.ok(limiter.size <= 3, `tracks ${limiter.size} keys`)
    now += 10_000
    for (let i = 0; i < 100; i++) limiter.take(`k${i}`)
    assert.ok(limiter.size <= 3)
  })
})
