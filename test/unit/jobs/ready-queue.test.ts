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
