import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ResultCache, type CachedResult } from '../../../src/jobs/worker/index.ts'

function entry (coordinator: string, key: string, bytes: number): CachedResult {
  return { coordinator, key, type: 't', utf8: Buffer.from('x'.repeat(bytes)), bytes, hash: key.padEnd(64, '0'), price: 0, startedAt: 1, finishedAt: 2 }
}

describe('jobs worker: result cache (idempotency)', () => {
  test('bounded by entries: the least recently used goes first', () => {
    const cache = new ResultCache({ maxEntries: 3, maxBytes: 1000 })
    for (const key of ['a', 'b', 'c']) cache.set(entry('C', key, 10))
    assert.ok(cache.get('C', 'a'), 'a is now the most recently used')
    cache.set(entry('C', 'd', 10))
    assert.equal(cache.get('C', 'b'), undefined, 'b was the least recently used')
    assert.deepEqual(['a', 'c', 'd'].map(k => cache.get('C', k) !== undefined), [true, true, true])
    assert.equal(cache.size, 3)
  })

  test('bounded by bytes; a result larger than the bound is not kept', () => {
    const cache = new ResultCache({ maxEntries: 100, maxBytes: 100 })
    cache.set(entry('C', 'a', 40))
    cache.set(entry('C', 'b', 40))
    cache.set(entry('C', 'c', 40))
    assert.equal(cache.get('C', 'a'), undefined)
    assert.equal(cache.bytes, 80)
    assert.equal(cache.set(entry('C', 'huge', 101)), false)
    assert.equal(cache.get('C', 'huge'), undefined)
    assert.equal(cache.bytes, 80)
  })

  test('replacing a key does not count it twice', () => {
    const cache = new ResultCache({ maxEntries: 10, maxBytes: 100 })
    cache.set(entry('C', 'a', 60))
    cache.set(entry('C', 'a', 30))
    assert.equal(cache.bytes, 30)
    assert.equal(cache.size, 1)
  })

  test('keys are scoped by coordinator', () => {
    const cache = new ResultCache()
    cache.set(entry('A', 'A/job/s1', 5))
    assert.ok(cache.get('A', 'A/job/s1'))
    assert.equal(cache.get('B', 'A/job/s1'), undefined)
  })
})
