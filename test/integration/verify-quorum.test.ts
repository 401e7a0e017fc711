/**
 * Verifiers on the network, on real nodes: with two verifiers of
 * `text.embed` online the network leaves bootstrap mode (K = 2 here), and a
 * coordinator's results to be cross-checked go to them instead of replicas
 * it compares itself. Each re-runs the subtask on its own engine, compares,
 * and ATTESTs over gossip; the coordinator DECIDEs once both revealed the
 * result valid. An honest worker's results stand verified by the quorum,
 * not provisional, every node holding the DECIDE; a worker returning random
 * vectors is outvoted by the verifiers, never paid, and blamed.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { VERIFY_TOPIC } from '../../src/p2p/index.ts'
import type { AgoraEventMap } from '../../src/events.ts'
import type { AgoraNode } from '../../src/node.ts'
import { startFakeOpenAI, type FakeEngine } from '../fixtures/fake-openai.ts'
import { TestSwarm, firstAddress, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, longDocument, waitForJob, waitForOffers } from '../harness/jobs.ts'
import { waitFor } from '../harness/wait.ts'
import type { AgoraConfig } from '../../src/config/index.ts'
import type { DeepPartial } from '../../src/config/types.ts'

const EMBED = 'agora/wink-embed-100d'

const config = (over: Record<string, unknown> = {}): DeepPartial<AgoraConfig> => mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, {
  market: { paymentEveryReceipts: 4, paymentEveryMs: 200 },
  // two verifiers are enough to leave bootstrap mode here, at once, with K = 2
  verify: { canaryRate: 0, bootstrapMinVerifiers: 2, bootstrapStableMs: 0, alpha: 1, kTarget: 2, revealAfterMs: 500 },
  ...over
}) as DeepPartial<AgoraConfig>

function noise (seed: string, i: number): number {
  const h = createHash('sha256').update(`${seed}:${i}`).digest()
  return h.readUInt32BE(0) / 2 ** 31 - 1
}

describe('verifiers on the network check a coordinator\'s results in quorum mode', () => {
  const swarm = new TestSwarm()
  let coordinator: AgoraNode
  let verifiers: AgoraNode[]
  let honest: AgoraNode
  let cheat: AgoraNode
  let server: FakeEngine
  const verified: Array<AgoraEventMap['subtask:verified']> = []

  before(async () => {
    coordinator = await swarm.add({ config: config({ jobs: { slots: 0, maxAttempts: 2 } }) })
    const bootstrap = { network: { bootstrap: [firstAddress(coordinator)] } }
    const node = async (over: Record<string, unknown>): Promise<AgoraNode> => await swarm.add({ config: config({ ...bootstrap, jobs: { slots: 4 }, offers: { prices: { perTask: '0.1' } }, ...over }) })
    verifiers = [await node({ verify: { verifies: ['text.embed'] } }), await node({ verify: { verifies: ['text.embed'] } })]
    honest = await node({})
    cheat = await node({ providers: { wink: { enabled: false } } })
    server = await startFakeOpenAI({ models: [{ name: EMBED, kind: 'embedding' }], embeddingsFor: async inputs => inputs.map((text, i) => Array.from({ length: 100 }, (_, k) => noise(`${text}:${i}`, k))) })
    await cheat.components.providers.add({ name: 'engine', kind: 'openai', url: server.url })
    coordinator.components.events.on('subtask:verified', e => { verified.push(e) })
    await waitForOffers(coordinator, [...verifiers, honest, cheat], 'text.embed')
    await waitFor('the cheat\'s model in its offer', () => coordinator.components.offers.list({ taskType: 'text.embed' }).some(o => o.node === cheat.peerId && o.models.some(m => m.name === EMBED)), { timeoutMs: 20_000 })
    await waitFor('quorum mode, K = 2', () => coordinator.components.verify.status().mode === 'quorum' && coordinator.components.verify.status().k === 2, { timeoutMs: 20_000 })
    await waitFor('the verifiers and the coordinator in one gossip mesh', () => [coordinator, ...verifiers].every(n => n.components.gossip.topicPeers(VERIFY_TOPIC).length >= 2), { timeoutMs: 30_000 })
  })
  after(async () => {
    await swarm.stop()
    await server.close()
  })

  const spec = (worker: AgoraNode): Parameters<AgoraNode['components']['jobs']['submit']>[0] => ({
    type: 'text.embed',
    input: { kind: 'text', text: longDocument(3_200, 3) },
    params: { model: EMBED, chunkChars: 400, chunksPerSubtask: 2 },
    constraints: { budget: '10', redundancy: 2, workers: [worker.peerId] }
  })

  test('an honest worker\'s results stand verified by the quorum (not provisional), the DECIDE on every node; no replica ran', async () => {
    const job = await coordinator.components.jobs.submit(spec(honest))
    const done = await waitForJob(coordinator, job.id, 120_000)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const mine = verified.filter(e => e.jobId === job.id)
    assert.ok(mine.length >= 2, `${mine.length} results checked`)
    assert.deepEqual([...new Set(mine.map(e => `${e.method} ${e.verdict} ${e.replicas}`))], ['quorum agreed 2'])
    const subtasks = coordinator.components.jobs.subtasks(job.id)
    for (const s of subtasks) assert.deepEqual(s.verification, { method: 'quorum', verdict: 'agreed', replicas: 2, agreeing: 3, outliers: [], provisional: false })
    // the DECIDE of each subtask's thread reached every node that verifies, by gossip
    for (const s of subtasks) {
      const thread = `${coordinator.peerId}/${job.id}/${s.id}`
      await waitFor(`the DECIDE of ${s.id} everywhere`, () => [coordinator, ...verifiers].every(n => n.components.verify.decisions.get(thread)?.winner.result === s.resultHash), { timeoutMs: 20_000 })
    }
    // each DECIDE holds the worker's pay, set aside from the job's budget: nothing is owed before FINALIZE
    const payable = (node: AgoraNode): number => coordinator.components.market.wallet().peers.find(p => p.peer === node.peerId)?.payable ?? 0
    assert.equal(payable(honest), 0)
    assert.equal(coordinator.components.market.wallet().held, done.spent, 'the decisions hold what the job spent')
    for (const s of subtasks) assert.equal(await coordinator.components.verify.finalize(`${coordinator.peerId}/${job.id}/${s.id}`), 'finalized')
    // FINALIZE captured it: the honest worker alone worked and is paid; verifiers re-ran for free
    assert.equal(payable(honest), done.spent)
    for (const v of verifiers) assert.equal(payable(v), 0)
    for (const s of subtasks) {
      const thread = `${coordinator.peerId}/${job.id}/${s.id}`
      await waitFor(`the FINALIZE of ${s.id} everywhere`, () => verifiers.every(n => n.components.verify.decisions.get(thread)?.finalized === true), { timeoutMs: 20_000 })
    }
  })

  test('random vectors are outvoted by the verifiers: never paid, the worker blamed, E1208', async () => {
    const job = await coordinator.components.jobs.submit(spec(cheat))
    const done = await waitForJob(coordinator, job.id, 120_000)
    assert.equal(done.state, 'failed', 'only the cheat may run it, and each of its results is invalid')
    const mine = verified.filter(e => e.jobId === job.id)
    assert.ok(mine.length >= 1)
    for (const e of mine) assert.deepEqual([e.method, e.verdict, e.outliers], ['quorum', 'outvoted', [cheat.peerId]])
    const failedWith = coordinator.components.jobs.subtasks(job.id).map(s => s.error?.code).filter(c => c !== undefined)
    assert.ok(failedWith.includes('E1208'), `subtask errors: ${failedWith.join(', ')}`)
    assert.equal(coordinator.components.market.wallet().peers.find(p => p.peer === cheat.peerId)?.payable ?? 0, 0)
  })
})
