/**
 * How the coordinator routes and recovers, between real nodes: a worker at
 * its slot limit refuses without losing reputation, a failing worker is
 * chosen less (once the router has learnt it) and its reputation falls, a malformed result is rejected and
 * reassigned, cancel stops subtasks on the workers, a deadline fails the
 * job with partial results, and summarize runs on chat models that only
 * two peers serve (real HTTP upstreams speaking the OpenAI wire format).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { TestSwarm, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, longDocument, waitForJob, waitForOffers } from '../harness/jobs.ts'
import { waitFor } from '../harness/wait.ts'
import { startFakeOpenAI, type FakeEngine } from '../fixtures/fake-openai.ts'
import type { AgoraNode } from '../../src/node.ts'
import type { AgoraConfig } from '../../src/config/index.ts'
import type { DeepPartial } from '../../src/config/types.ts'

const config = (over: Record<string, unknown> = {}): DeepPartial<AgoraConfig> => mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, over) as DeepPartial<AgoraConfig>

async function metric (node: AgoraNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await node.components.metrics.getSingleMetric(name)?.get())?.values ?? []
  return values.filter(v => Object.entries(labels).every(([k, value]) => v.labels[k] === value)).reduce((sum, v) => sum + v.value, 0)
}

/** A coordinator that runs nothing itself (every subtask crosses the network) and three workers: two with one slot, one with four. */
async function routingSwarm (swarm: TestSwarm): Promise<[AgoraNode, AgoraNode, AgoraNode, AgoraNode]> {
  const coordinator = await swarm.add({ config: config({ jobs: { slots: 0 } }) })
  const bootstrap = { network: { bootstrap: [coordinator.components.libp2p.getMultiaddrs()[0]?.toString()] } }
  const workers = await Promise.all([1, 1, 4].map(async slots => await swarm.add({ config: config({ ...bootstrap, jobs: { slots } }) })))
  await waitForOffers(coordinator, workers, 'debug.sleep')
  return [coordinator, ...workers] as [AgoraNode, AgoraNode, AgoraNode, AgoraNode]
}

describe('jobs: routing, refusals, failures, cancel, deadline', () => {
  const swarm = new TestSwarm()
  let coordinator: AgoraNode
  let small: AgoraNode
  let other: AgoraNode
  let flaky: AgoraNode

  before(async () => { [coordinator, small, other, flaky] = await routingSwarm(swarm) })

  after(async () => { await swarm.stop() })

  test('a worker at its slot limit refuses; the router goes elsewhere; refusals cost no reputation', async () => {
    const before = [small, other].map(n => coordinator.components.peerBook.view(n.peerId))
    // flaky fails everything here, so the work lands on the two one-slot workers, more at once than they have slots
    const job = await coordinator.components.jobs.submit({ type: 'debug.sleep', input: { kind: 'items', items: [] }, params: { count: 8, ms: 150, failOn: [flaky.peerId] } })
    const done = await waitForJob(coordinator, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const refused = await metric(small, 'agora_jobs_worker_refused_total', { reason: 'slots' }) + await metric(other, 'agora_jobs_worker_refused_total', { reason: 'slots' })
    assert.ok(refused > 0, 'the one-slot workers refused offers over their limit')
    for (const [i, node] of [small, other].entries()) {
      const view = coordinator.components.peerBook.view(node.peerId)
      assert.equal(view?.failures, before[i]?.failures ?? 0, 'no failure recorded for a refusal')
      assert.ok((view?.reputation ?? 0) >= (before[i]?.reputation ?? 0), 'reputation did not fall')
    }
    const subtasks = coordinator.components.jobs.subtasks(job.id)
    assert.ok(subtasks.every(s => s.state === 'committed' && s.worker !== flaky.peerId))
  })

  test('a malformed result is rejected, counted against the worker, and the subtask reassigned', async () => {
    const invalidBefore = coordinator.components.peerBook.view(small.peerId)?.invalids ?? 0
    const job = await coordinator.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 6, malformedOn: [small.peerId], failOn: [flaky.peerId] } })
    const done = await waitForJob(coordinator, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const subtasks = coordinator.components.jobs.subtasks(job.id)
    assert.ok(subtasks.every(s => s.worker === other.peerId), 'every result came from the honest worker')
    assert.ok(await metric(coordinator, 'agora_jobs_subtask_attempts_total', { outcome: 'invalid' }) > 0)
    assert.ok((coordinator.components.peerBook.view(small.peerId)?.invalids ?? 0) > invalidBefore)
  })

  test('cancel stops the subtasks running on the workers', async () => {
    const job = await coordinator.components.jobs.submit({ type: 'debug.sleep', input: { kind: 'items', items: [] }, params: { count: 4, ms: 60_000 } })
    const running = async (): Promise<number> => {
      let sum = 0
      for (const node of [small, other, flaky]) sum += await metric(node, 'agora_jobs_worker_running')
      return sum
    }
    await waitFor('subtasks running on the workers', async () => await running() >= 2, { timeoutMs: 15_000 })
    const cancelled = await coordinator.components.jobs.cancel(job.id)
    assert.equal(cancelled.state, 'cancelled')
    assert.equal(cancelled.error?.code, 'E1066')
    await waitFor('workers idle', async () => await running() === 0, { timeoutMs: 10_000 })
    assert.ok(coordinator.components.jobs.subtasks(job.id).every(s => s.state === 'cancelled'))
  })

  test('a deadline that passes fails the job with E1063 and keeps the partial results', async () => {
    // the first 4 subtasks end at once; the other 8 are held on their workers until the deadline ends the job
    const job = await coordinator.components.jobs.submit({
      type: 'debug.sleep',
      input: { kind: 'items', items: [] },
      params: { count: 12, ms: 0, holdFrom: 4 },
      constraints: { deadline: Date.now() + 3000 }
    })
    const done = await waitForJob(coordinator, job.id)
    assert.equal(done.state, 'failed')
    assert.equal(done.error?.code, 'E1063')
    const result = coordinator.components.jobs.result(job.id)
    assert.equal(result.partial, true)
    // held subtasks never commit; a quick one refused by a busy worker may wait behind them (retries queue last)
    const committed = coordinator.components.jobs.subtasks(job.id).filter(s => s.state === 'committed').map(s => s.id)
    assert.ok(committed.length >= 1 && committed.every(id => ['sleep-0000', 'sleep-0001', 'sleep-0002', 'sleep-0003'].includes(id)), committed.join(', '))
    assert.deepEqual(result.result, { count: 12, committed: committed.length })
  })
})

describe('jobs: a worker that keeps failing (its own swarm, the router trained first)', () => {
  const swarm = new TestSwarm()
  let coordinator: AgoraNode
  let small: AgoraNode
  let other: AgoraNode
  let flaky: AgoraNode
  let reputationBefore: number

  before(async () => {
    ;[coordinator, small, other, flaky] = await routingSwarm(swarm)
    reputationBefore = coordinator.components.peerBook.view(flaky.peerId)?.reputation ?? 0.5
    // the router learns by doing: a first job where flaky fails everything (with 4 idle slots it is tried a lot at first)
    const training = await coordinator.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 30, failOn: [flaky.peerId] } })
    assert.equal((await waitForJob(coordinator, training.id)).state, 'completed')
  })

  after(async () => { await swarm.stop() })

  test('a worker that keeps failing is chosen less and its reputation falls', async () => {
    const assigned = new Map<string, number>()
    const onAssigned = (e: { worker: string }): void => { assigned.set(e.worker, (assigned.get(e.worker) ?? 0) + 1) }
    coordinator.components.events.on('subtask:assigned', onAssigned)
    try {
      const job = await coordinator.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 60, failOn: [flaky.peerId] } })
      const done = await waitForJob(coordinator, job.id)
      assert.equal(done.state, 'completed', JSON.stringify(done.error))
    } finally {
      coordinator.components.events.off('subtask:assigned', onAssigned)
    }
    const toFlaky = assigned.get(flaky.peerId) ?? 0
    const toOthers = (assigned.get(small.peerId) ?? 0) + (assigned.get(other.peerId) ?? 0)
    assert.ok(toFlaky < toOthers / 2, `flaky got ${toFlaky} attempts, the others ${toOthers}`)
    const view = coordinator.components.peerBook.view(flaky.peerId)
    assert.ok((view?.failures ?? 0) > 0)
    assert.ok((view?.reputation ?? 1) < reputationBefore, `reputation ${view?.reputation}, ${reputationBefore} before it failed`)
  })
})

describe('jobs: summarize on chat models two peers serve', () => {
  const swarm = new TestSwarm()
  const upstreams: FakeEngine[] = []

  after(async () => {
    await swarm.stop()
    await Promise.all(upstreams.map(async u => { await u.close() }))
  })

  test('chunk → map on both peers → reduce tree → one summary', async () => {
    // the fake model "summarises" a chunk as 1 and a combination as the sum of its parts: the summary counts the chunks
    const replyFor = (messages: Array<{ content: string }>): string[] => {
      const prompt = messages.at(-1)?.content ?? ''
      if (!prompt.startsWith('Combine:')) return ['1']
      return [String((prompt.match(/\d+/g) ?? []).reduce((sum, n) => sum + Number(n), 0))]
    }
    for (let i = 0; i < 2; i++) upstreams.push(await startFakeOpenAI({ replyFor, models: [{ name: 'fake-chat', kind: 'chat', contextLength: 4096 }] }))
    const coordinator = await swarm.add({ config: config() })
    const bootstrap = { network: { bootstrap: [coordinator.components.libp2p.getMultiaddrs()[0]?.toString()] } }
    const peers = await Promise.all([0, 1].map(async () => await swarm.add({ config: config(bootstrap) })))
    for (const [i, peer] of peers.entries()) await peer.components.providers.add({ name: `fake-${i}`, kind: 'openai', url: `${upstreams[i]?.url}/v1` })
    await waitFor('both peers offer fake-chat', () => coordinator.components.offers.list({ model: 'fake-chat' }).length === 2, { timeoutMs: 20_000 })

    const text = longDocument(30_000, 7)
    const job = await coordinator.components.jobs.submit({
      type: 'summarize',
      input: { kind: 'text', text },
      params: { model: 'fake-chat', chunkChars: 1500, mapPrompt: 'Summarise: {{input}}', reducePrompt: 'Combine: {{input}}', fanIn: 4 }
    })
    const done = await waitForJob(coordinator, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const subtasks = coordinator.components.jobs.subtasks(job.id)
    const maps = subtasks.filter(s => s.type === 'llm.map')
    const reduces = subtasks.filter(s => s.type === 'llm.reduce')
    assert.ok(maps.length >= 15 && reduces.length >= 2, `${maps.length} maps, ${reduces.length} reduces`)
    assert.deepEqual(new Set(subtasks.map(s => s.worker)), new Set(peers.map(p => p.peerId)), 'the coordinator has no chat model: both peers did the work')
    const result = coordinator.components.jobs.result(job.id).result as { summary: string, chunks: number }
    assert.equal(result.chunks, maps.length)
    assert.equal(result.summary, String(maps.length))
    assert.ok(upstreams.every(u => u.stats.completed > 0))
  })
})
