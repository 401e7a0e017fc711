/**
 * Held-back pay and audits on real nodes (docs/verification.md "Held-back
 * pay and audits"): three nodes in bootstrap mode, a coordinator that can
 * re-run text.embed itself, an honest worker on the embedded engine and a
 * cheat returning random vectors. A priced job's results are provisional:
 * a fifth of each receipt's price waits out the audit window, then every
 * part is audited (auditRate 1) — the honest worker's agree and are paid
 * as the rest of the same receipts, its books matching the buyer's to the
 * micro-credit; the cheat's first audit disagrees, and every part of its
 * still held goes back to the buyer — and the cheat is told with a signed
 * VOID of each part, so its books settle those receipts: nothing unpaid,
 * the fifth shown as voided, both books equal to the micro-credit.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import type { AgoraEventMap } from '../../src/events.ts'
import type { AgoraNode } from '../../src/node.ts'
import { startFakeOpenAI, type FakeEngine } from '../fixtures/fake-openai.ts'
import { TestSwarm, firstAddress, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, longDocument, waitForJob, waitForOffers } from '../harness/jobs.ts'
import { waitFor } from '../harness/wait.ts'
import type { AgoraConfig } from '../../src/config/index.ts'
import type { DeepPartial } from '../../src/config/types.ts'

const EMBED = 'agora/wink-embed-100d'
const WINDOW_MS = 1500

const config = (over: Record<string, unknown> = {}): DeepPartial<AgoraConfig> => mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, {
  market: { paymentEveryReceipts: 4, paymentEveryMs: 200 },
  verify: { canaryRate: 0, holdback: 0.2, auditWindowMs: WINDOW_MS, auditRate: 1 },
  ...over
}) as DeepPartial<AgoraConfig>

function randomVector (text: string): number[] {
  return Array.from({ length: 100 }, (_, k) => createHash('sha256').update(`${text}:${k}`).digest().readInt16BE(0) / 32768)
}

describe('held-back pay of provisional results, audited on real nodes', () => {
  const swarm = new TestSwarm()
  let coordinator: AgoraNode
  let honest: AgoraNode
  let cheat: AgoraNode
  let server: FakeEngine
  const audited: Array<AgoraEventMap['verify:audited']> = []

  before(async () => {
    // the coordinator runs text.embed itself (slots) to re-run what it audits; its jobs name their workers
    coordinator = await swarm.add({ config: config({ jobs: { slots: 2 } }) })
    const bootstrap = { network: { bootstrap: [firstAddress(coordinator)] } }
    const worker = (winkOn: boolean): DeepPartial<AgoraConfig> => config({ ...bootstrap, jobs: { slots: 4 }, offers: { prices: { perTask: '0.1' } }, providers: { wink: { enabled: winkOn } } })
    ;[honest, cheat] = await Promise.all([swarm.add({ config: worker(true) }), swarm.add({ config: worker(false) })]) as [AgoraNode, AgoraNode]
    server = await startFakeOpenAI({ models: [{ name: EMBED, kind: 'embedding' }], embeddingsFor: async inputs => inputs.map(randomVector) })
    await cheat.components.providers.add({ name: 'engine', kind: 'openai', url: server.url })
    await waitForOffers(coordinator, [honest, cheat], 'text.embed')
    await waitFor('the cheat\'s model in its offer', () => coordinator.components.offers.list().some(o => o.node === cheat.peerId && o.models.some(m => m.name === EMBED)), { timeoutMs: 20_000 })
    coordinator.components.events.on('verify:audited', e => { audited.push(e) })
  })
  after(async () => {
    await swarm.stop()
    await server.close()
  })

  const spec = (worker: AgoraNode, seed: number): Parameters<AgoraNode['components']['jobs']['submit']>[0] => ({
    type: 'text.embed',
    input: { kind: 'text', text: longDocument(6_000, seed) },
    params: { model: EMBED, chunkChars: 400, chunksPerSubtask: 2 },
    constraints: { budget: '10', workers: [worker.peerId] }
  })
  const payable = (node: AgoraNode): number => coordinator.components.market.wallet().peers.find(p => p.peer === node.peerId)?.payable ?? 0
  const receivable = (node: AgoraNode): number => node.components.market.wallet().peers.find(p => p.peer === coordinator.peerId)?.receivable ?? 0
  const coordinatorAsSeenBy = (node: AgoraNode): { unpaid: number, voided: number } => {
    const peer = node.components.market.wallet().peers.find(p => p.peer === coordinator.peerId)
    return { unpaid: peer?.unpaid ?? -1, voided: peer?.voided ?? -1 }
  }

  test('an honest worker: four fifths paid at once, the rest after its audits agree; both books end equal', async () => {
    const job = await coordinator.components.jobs.submit(spec(honest, 3))
    const done = await waitForJob(coordinator, job.id, 60_000)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const spent = done.spent
    const subtasks = done.progress.total
    assert.ok(subtasks >= 3 && spent > 0)
    assert.equal(payable(honest), spent * 4 / 5, 'a fifth of each receipt held back while the window runs')
    assert.equal(coordinator.components.jobs.heldBack(job.id).held, spent / 5, 'the job view says what waits')
    await waitFor('every held-back part audited', () => audited.filter(e => e.jobId === job.id).length === subtasks, { timeoutMs: 30_000 })
    assert.deepEqual([...new Set(audited.filter(e => e.jobId === job.id).map(e => `${e.outcome} ${e.audited}`))], ['paid agreed'])
    assert.equal(payable(honest), spent)
    assert.deepEqual(coordinator.components.jobs.heldBack(job.id), { held: 0, paid: spent / 5, forfeited: 0, nextDueAt: null })
    await waitFor('the honest worker holds the proofs of all of it', () => receivable(honest) === spent, { timeoutMs: 20_000 })
  })

  test('a cheat returning random vectors: its audit disagrees, every part of its still held is refunded and voided on its books', async () => {
    const available = coordinator.components.market.wallet().available
    const job = await coordinator.components.jobs.submit(spec(cheat, 5))
    const done = await waitForJob(coordinator, job.id, 60_000)
    assert.equal(done.state, 'completed', 'unchecked results stand until audited')
    const spent = done.spent
    await waitFor('the cheat\'s parts settled', () => audited.filter(e => e.jobId === job.id).length === done.progress.total, { timeoutMs: 30_000 })
    const mine = audited.filter(e => e.jobId === job.id)
    assert.ok(mine.every(e => e.outcome === 'forfeited'), JSON.stringify(mine))
    assert.equal(mine.filter(e => e.audited === 'disagreed').length, 1, 'caught once; the rest forfeited with it')
    assert.equal(payable(cheat), spent * 4 / 5, 'the cheat keeps only what was paid at once')
    assert.equal(coordinator.components.jobs.heldBack(job.id).forfeited, spent / 5)
    assert.equal(coordinator.components.market.wallet().available, available - spent * 4 / 5, 'the buyer got the held-back fifth back')
    // the VOIDs reach the cheat: the fifth is voided on its books, not unpaid; the four fifths proven
    await waitFor('the cheat\'s books settle the voided parts and hold the proofs of the rest', () => {
      const seen = coordinatorAsSeenBy(cheat)
      return seen.unpaid === 0 && seen.voided === spent / 5 && receivable(cheat) === spent * 4 / 5
    }, { timeoutMs: 20_000 })
    assert.equal(coordinator.components.market.wallet().peers.find(p => p.peer === cheat.peerId)?.voidedByUs, spent / 5, 'the buyer shows what it voided')
    const books = await coordinator.components.market.reconcile(cheat.peerId)
    assert.deepEqual(books.differences, [], 'the buyer\'s and the cheat\'s books agree to the micro-credit')
    assert.deepEqual(books.remote.voided, { sent: 0, received: spent / 5 })
    assert.equal(books.remote.receivable, books.local.payable)
  })
})
