/**
 * Redundant execution between real nodes (docs/verification.md): a priced
 * job with redundancy 3 runs every subtask on three distinct workers over
 * /agora/task/1, compares their results and commits the agreed one; every
 * replica is paid like an attempt (its own receipt), so the buyer spends
 * three times the price per subtask and each worker's books agree with the
 * buyer's to the micro-credit.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { parseCredits } from '../../src/market/index.ts'
import { TestSwarm, clientOf, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, waitForJob, waitForOffers } from '../harness/jobs.ts'
import { waitFor } from '../harness/wait.ts'
import type { AgoraNode } from '../../src/node.ts'
import type { AgoraConfig } from '../../src/config/index.ts'
import type { DeepPartial } from '../../src/config/types.ts'
import type { AgoraEventMap } from '../../src/events.ts'

const config = (over: Record<string, unknown> = {}): DeepPartial<AgoraConfig> => mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, {
  market: { paymentEveryReceipts: 4, paymentEveryMs: 200 },
  ...over,
  // these tests follow each receipt's whole price; held-back pay of provisional results is tested in verify-audits
  verify: { holdback: 0, ...(over.verify as Record<string, unknown> | undefined) }
}) as DeepPartial<AgoraConfig>

describe('jobs with redundancy 3 on real nodes', () => {
  const swarm = new TestSwarm()
  let buyer: AgoraNode
  let workers: AgoraNode[]
  const verified: Array<AgoraEventMap['subtask:verified']> = []

  before(async () => {
    // debug.sleep is checked by two workers whatever its jobs ask (verify.redundancy)
    buyer = await swarm.add({ config: config({ jobs: { slots: 0 }, verify: { redundancy: { 'debug.sleep': 2 } } }) })
    buyer.components.events.on('subtask:verified', e => { verified.push(e) })
    const bootstrap = { network: { bootstrap: [buyer.components.libp2p.getMultiaddrs()[0]?.toString()] } }
    workers = await Promise.all([1, 2, 3].map(async () => await swarm.add({ config: config({ ...bootstrap, jobs: { slots: 4 }, offers: { prices: { perTask: '0.1' } } }) })))
    await waitForOffers(buyer, workers, 'debug.noop')
  })
  after(async () => { await swarm.stop() })

  test('each subtask runs on three workers, the results agree, every replica is paid, the books agree', async () => {
    const job = await buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 4 }, constraints: { budget: '5', redundancy: 3 } })
    const done = await waitForJob(buyer, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const mine = verified.filter(e => e.jobId === job.id)
    assert.equal(mine.length, 4)
    for (const e of mine) {
      assert.equal(e.verdict, 'agreed')
      assert.equal(e.replicas, 2)
      assert.deepEqual(e.outliers, [])
    }
    // the subtask view says so too, and the checks metric counts them
    for (const s of buyer.components.jobs.subtasks(job.id)) assert.deepEqual(s.verification, { method: 'replicas', verdict: 'agreed', replicas: 2, agreeing: 3, outliers: [], provisional: true })
    const detail = await clientOf(buyer).job(job.id)
    assert.deepEqual(detail.verification, { checked: 4, replicas: { agreed: 4, outvoted: 0, inconclusive: 0, unverified: 0 }, canaries: { agreed: 0, outvoted: 0, inconclusive: 0, unverified: 0 }, quorum: { agreed: 0, outvoted: 0, inconclusive: 0, unverified: 0 }, provisional: true })
    const checks = (await buyer.components.metrics.getSingleMetric('agora_verify_checks_total')?.get())?.values ?? []
    assert.equal(checks.find(v => v.labels.type === 'debug.noop' && v.labels.method === 'replicas' && v.labels.verdict === 'agreed')?.value, 4)
    const price = parseCredits('0.1')
    assert.equal(done.spent, 4 * 3 * price, 'three paid runs per subtask')
    const wallet = await clientOf(buyer).wallet()
    assert.equal(parseCredits(wallet.spent), done.spent)
    assert.equal(parseCredits(wallet.held), 0)
    const owedTotal = wallet.peers.reduce((sum, p) => sum + parseCredits(p.payable), 0)
    assert.equal(owedTotal, done.spent)
    // three workers, three distinct ones per subtask: each ran every subtask once, and is paid what the buyer booked for it
    for (const worker of workers) {
      const owed = parseCredits(wallet.peers.find(p => p.peer === worker.peerId)?.payable ?? '0')
      assert.equal(owed, 4 * price, `${worker.peerId.slice(-6)}`)
      await waitFor(`${worker.peerId.slice(-6)} to be paid ${owed}`, async () => {
        const theirs = await clientOf(worker).wallet()
        return parseCredits(theirs.peers.find(p => p.peer === buyer.peerId)?.receivable ?? '0') === owed && parseCredits(theirs.earned) === owed
      }, { timeoutMs: 20_000 })
    }
  })

  test('a task type\'s default redundancy (verify.redundancy) applies to a job that asks for none', async () => {
    const job = await buyer.components.jobs.submit({ type: 'debug.sleep', input: { kind: 'items', items: [] }, params: { count: 3, ms: 0 }, constraints: { budget: '5' } })
    const done = await waitForJob(buyer, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const subtasks = buyer.components.jobs.subtasks(job.id)
    assert.equal(subtasks.length, 3)
    for (const s of subtasks) assert.deepEqual(s.verification, { method: 'replicas', verdict: 'agreed', replicas: 1, agreeing: 2, outliers: [], provisional: true })
    assert.equal(done.spent, 3 * 2 * parseCredits('0.1'), 'two paid runs per subtask')
    const plain = await buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 2 }, constraints: { budget: '5' } })
    assert.equal((await waitForJob(buyer, plain.id)).spent, 2 * parseCredits('0.1'), 'other types run once')
  })
})
