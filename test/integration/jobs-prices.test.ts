/**
 * Prices between real nodes, in micro-credits: a worker's offers.prices.perTask
 * travels as a six-decimal string in its signed offer, the assignment's
 * maxPrice and the receipt's price likewise, and the coordinator adds them
 * up exactly — a budget of 0.3 pays three subtasks at 0.1, one micro-credit
 * less pays two.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../src/errors.ts'
import { decodeReceipt } from '../../src/jobs/protocol/index.ts'
import { TestSwarm, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, waitForJob, waitForOffers } from '../harness/jobs.ts'
import type { AgoraNode } from '../../src/node.ts'
import type { AgoraConfig } from '../../src/config/index.ts'
import type { DeepPartial } from '../../src/config/types.ts'

const config = (over: Record<string, unknown> = {}): DeepPartial<AgoraConfig> => mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, over) as DeepPartial<AgoraConfig>

describe('jobs: prices in micro-credits between nodes', () => {
  const swarm = new TestSwarm()
  let coordinator: AgoraNode
  let worker: AgoraNode
  const noop = (count: number, constraints: Record<string, unknown>): Parameters<AgoraNode['components']['jobs']['submit']>[0] =>
    ({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count }, constraints })

  before(async () => {
    // the coordinator runs nothing itself: every subtask is bought from the worker
    coordinator = await swarm.add({ config: config({ jobs: { slots: 0 } }) })
    const bootstrap = { network: { bootstrap: [coordinator.components.libp2p.getMultiaddrs()[0]?.toString()] } }
    worker = await swarm.add({ config: config({ ...bootstrap, jobs: { slots: 4 }, offers: { prices: { perTask: '0.1' } } }) })
    await waitForOffers(coordinator, [worker], 'debug.noop')
  })

  after(async () => { await swarm.stop() })

  test('the worker\'s offer carries its price as a six-decimal string', () => {
    assert.deepEqual(coordinator.components.offers.get(worker.peerId)?.prices, { perTask: '0.100000', per1kPromptTokens: '0.000000', per1kCompletionTokens: '0.000000', currency: 'credits' })
  })

  test('a budget of 0.3 pays three subtasks at 0.1 exactly; each receipt asks "0.100000"', async () => {
    const job = await coordinator.components.jobs.submit(noop(3, { budget: '0.3', maxPricePerSubtask: 0.1 }))
    assert.deepEqual(job.constraints, { budget: 300_000, maxPricePerSubtask: 100_000, redundancy: 1 })
    const done = await waitForJob(coordinator, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    assert.equal(done.spent, 300_000)
    const subtasks = coordinator.components.jobs.subtasks(job.id)
    assert.deepEqual(subtasks.map(s => [s.worker, s.price]), Array.from({ length: 3 }, () => [worker.peerId, 100_000]))
    const rows = coordinator.components.store.db.prepare('SELECT receipt FROM subtasks WHERE job_id = ?').all(job.id) as Array<{ receipt: string }>
    assert.deepEqual(rows.map(r => decodeReceipt(r.receipt).receipt.price), ['0.100000', '0.100000', '0.100000'])
  })

  test('a budget one micro-credit short pays two subtasks; the third finds nobody it can afford (E1021)', async () => {
    const job = await coordinator.components.jobs.submit(noop(3, { budget: '0.299999' }))
    const done = await waitForJob(coordinator, job.id)
    assert.equal(done.state, 'failed')
    assert.equal(done.error?.code, 'E1021', JSON.stringify(done.error))
    assert.equal(done.spent, 200_000)
  })

  test('a max price one micro-credit under the worker\'s price is refused at submit (E1021), naming both', async () => {
    await assert.rejects(coordinator.components.jobs.submit(noop(1, { maxPricePerSubtask: '0.099999' })),
      err => isAgoraError(err, 'E1021') && (err.why ?? '').includes('0.100000') && (err.why ?? '').includes('0.099999'))
  })
})
