import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ReadyQueue } from '../../../src/jobs/coordinator/ready-queue.ts'

function drain (queue: ReadyQueue): string[] {
  const out: string[] = []
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) out.push(id)
  return out
}

describe('ReadyQueue', () => {
  test('first in, first out; ids put back come first again, in their order', () => {
    const queue = new ReadyQueue(['a', 'b', 'c', 'd'])
    assert.equal(queue.shift(), 'a')
    assert.equal(queue.shift(), 'b')
    assert.equal(queue.shift(), 'c')
    queue.push('e')
    queue.unshiftAll(['a', 'c'])
    assert.equal(queue.size, 4)
    assert.deepEqual(drain(queue), ['a', 'c', 'd', 'e'])
    assert.equal(queue.size, 0)
  })

  test('keeps its order across compaction, and takes back more than it gave', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `s-${i}`)
    const queue = new ReadyQueue([...ids])
    const taken = Array.from({ length: 3000 }, () => queue.shift() as string)
    assert.deepEqual(taken, ids.slice(0, 3000))
    queue.unshiftAll(['x', 'y', ...taken.slice(-2)])
    assert.deepEqual(drain(queue), ['x', 'y', 's-2998', 's-2999', ...ids.slice(3000)])
  })
})

describe('ReadyQueue by task type', () => {
  test('knows whether it holds a type outside the blocked ones, as ids come and go', () => {
    const typeOf = (id: string): string => id.startsWith('m') ? 'map' : 'reduce'
    const queue = new ReadyQueue(['m1', 'm2', 'r1'], typeOf)
    const blocked = new Set(['map'])
    assert.equal(queue.holdsOtherThan(blocked), true)
    assert.equal(queue.shift(), 'm1')
    assert.equal(queue.shift(), 'm2')
    assert.equal(queue.holdsOtherThan(blocked), true, 'r1 is still there')
    assert.equal(queue.shift(), 'r1')
    assert.equal(queue.holdsOtherThan(new Set()), false)
    queue.unshiftAll(['m1', 'm2'])
    assert.equal(queue.holdsOtherThan(blocked), false, 'only blocked maps left')
    queue.push('r2')
    assert.equal(queue.holdsOtherThan(blocked), true)
  })
})
