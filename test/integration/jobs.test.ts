/**
 * Jobs across real nodes in one process (libp2p on loopback, real SQLite,
 * the real embedded engine): a document's embeddings spread over the swarm
 * and equal to a single node's, and the bad inputs a submitter can make.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../src/errors.ts'
import { TestSwarm, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, longDocument, waitForJob, waitForOffers } from '../harness/jobs.ts'
import type { AgoraNode } from '../../src/node.ts'

describe('jobs: text.embed over a 5-node swarm', () => {
  const swarm = new TestSwarm()
  let nodes: AgoraNode[]
  let coordinator: AgoraNode
  const document = longDocument(200_000)

  before(async () => {
    nodes = await swarm.addMany(5, { config: mergeDeep(JOBS_NODE_CONFIG, { jobs: { slots: 2 } }) })
    coordinator = nodes[0] as AgoraNode
    await waitForOffers(coordinator, nodes.slice(1), 'text.embed')
  })

  after(async () => { await swarm.stop() })

  test('subtasks spread over at least 3 workers; the result equals a single node\'s', async () => {
    const job = await coordinator.components.jobs.submit({ type: 'text.embed', input: { kind: 'text', text: document }, params: { chunksPerSubtask: 4 } })
    assert.equal(job.state === 'planned' || job.state === 'running', true)
    const done = await waitForJob(coordinator, job.id, 120_000)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const subtasks = coordinator.components.jobs.subtasks(job.id)
    const workers = new Set(subtasks.map(s => s.worker))
    assert.ok(workers.size >= 3, `workers used: ${workers.size}`)
    assert.ok(subtasks.every(s => s.state === 'committed' && s.resultHash !== null))
    const networkResult = coordinator.components.jobs.result(job.id)

    // the same job on a node alone: it runs every subtask itself
    const alone = await swarm.add({ config: JOBS_NODE_CONFIG })
    const solo = await alone.components.jobs.submit({ type: 'text.embed', input: { kind: 'text', text: document }, params: { chunksPerSubtask: 4 } })
    const soloDone = await waitForJob(alone, solo.id, 120_000)
    assert.equal(soloDone.state, 'completed', JSON.stringify(soloDone.error))
    assert.deepEqual(new Set(alone.components.jobs.subtasks(solo.id).map(s => s.worker)), new Set([alone.peerId]))
    assert.deepEqual(alone.components.jobs.result(solo.id).result, networkResult.result)
    const result = networkResult.result as { dimensions: number, chunks: Array<{ start: number, end: number, vector: number[] }> }
    assert.equal(result.dimensions, 100)
    assert.ok(result.chunks.length > 100)
    assert.equal(result.chunks.at(-1)?.end, document.length)
  })

  test('bad input: unknown type, bad params, oversized input, no capable peer, budget, a deadline already passed', async () => {
    const jobs = coordinator.components.jobs
    await assert.rejects(jobs.submit({ type: 'text.translate', input: { kind: 'text', text: 'x' } }),
      err => isAgoraError(err, 'E1000') && err.what.includes('text.embed') && err.what.includes('summarize'))
    await assert.rejects(jobs.submit({ type: 'text.embed', input: { kind: 'text', text: 'x' }, params: { chunkChars: 'big' } }),
      err => isAgoraError(err, 'E1001') && err.what.includes('chunkChars'))
    const limit = coordinator.components.config.jobs.maxInlineInputBytes
    await assert.rejects(jobs.submit({ type: 'text.embed', input: { kind: 'text', text: 'a'.repeat(limit + 1) } }),
      err => isAgoraError(err, 'E1002') && err.what.includes(String(limit)) && err.hint.includes('--file'))
    await assert.rejects(jobs.submit({ type: 'llm.map', input: { kind: 'items', items: ['a'] }, params: { model: 'no-such-model', prompt: 'Say {{input}}' } }),
      err => isAgoraError(err, 'E1020') && (err.why ?? '').includes('no-such-model'))
    await assert.rejects(jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, constraints: { budget: -1 } }),
      err => isAgoraError(err, 'E1001') && err.what.includes('constraints.budget'))
    await assert.rejects(jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, constraints: { deadline: Date.now() - 1000 } }),
      err => isAgoraError(err, 'E1012') && (err.why ?? '').includes('ms ago'))
    assert.equal(jobs.list().filter(j => j.type !== 'text.embed').length, 0, 'nothing refused was stored')
  })
})
