/**
 * Cheaters against real engines, on real nodes: a coordinator runs priced
 * jobs with redundancy 3, each cheater voting beside the two honest
 * workers —
 *   honest: one on the embedded engine (wink vectors; a chat server that
 *     answers each question), one on an OpenAI-compatible server returning
 *     the same vectors with float noise (and a second model's phrasing of
 *     each answer);
 *   cheaters: random vectors; correct except on 10 % of texts; one fixed
 *     chat answer to every prompt.
 * Each cheater is caught (outvoted), the ones that always cheat are never
 * paid, each ends below every honest worker's reputation, and no honest
 * worker is ever outvoted.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { WinkEngine } from '../../src/providers/index.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { parseCredits } from '../../src/market/index.ts'
import type { AgoraEventMap } from '../../src/events.ts'
import type { AgoraNode } from '../../src/node.ts'
import { ANSWERS } from '../../bench/verify-corpus.ts'
import { startFakeOpenAI, type FakeEngine } from '../fixtures/fake-openai.ts'
import { TestSwarm, firstAddress, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, longDocument, waitForJob, waitForOffers } from '../harness/jobs.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'
import type { AgoraConfig } from '../../src/config/index.ts'
import type { DeepPartial } from '../../src/config/types.ts'

const EMBED = 'agora/wink-embed-100d'
const CHAT = 'test/chat'
const PRICE = '0.1'

const config = (over: Record<string, unknown> = {}): DeepPartial<AgoraConfig> => mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, {
  market: { paymentEveryReceipts: 4, paymentEveryMs: 200 },
  verify: { canaryRate: 0 },
  ...over
}) as DeepPartial<AgoraConfig>

/** A seeded gaussian, so every run perturbs the same way. */
function noise (seed: string, i: number): number {
  const h = createHash('sha256').update(`${seed}:${i}`).digest()
  const u1 = (h.readUInt32BE(0) + 1) / 2 ** 32
  const u2 = h.readUInt32BE(4) / 2 ** 32
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/** 1 text in 10 (by its hash): where the occasional cheat lies. */
const unlucky = (text: string): boolean => createHash('sha256').update(text).digest()[0] as number < 26

/** The answer each chat worker gives: the corpus answer (honest engine 1), its paraphrase (honest engine 2), or one canned line. */
function answerer (kind: 'answer' | 'paraphrase' | 'canned'): (messages: Array<{ role: string, content: string }>) => string[] {
  return messages => {
    if (kind === 'canned') return ['I am sorry, but I cannot help with that request right now.']
    const question = messages.at(-1)?.content ?? ''
    const found = ANSWERS.find(a => question.includes(a.answer.slice(0, 24))) ?? ANSWERS[0]
    return [(kind === 'answer' ? found?.answer : found?.paraphrase) ?? '']
  }
}

describe('cheaters on real engines are caught, not paid, and sink below every honest worker', () => {
  const swarm = new TestSwarm()
  const dir = tempDir('agora-cheaters-')
  const wink = new WinkEngine({ logger: silentLogger() }, { cacheDir: dir })
  const servers: FakeEngine[] = []
  let coordinator: AgoraNode
  let honest: AgoraNode[]
  let cheats: { random: AgoraNode, sometimes: AgoraNode, canned: AgoraNode }
  const verified: Array<AgoraEventMap['subtask:verified']> = []

  const vectors = async (texts: string[]): Promise<number[][]> => (await wink.embed(texts)).vectors.map(v => Array.from(v))
  async function serving (embeddingsFor: ((inputs: string[]) => Promise<number[][]>) | undefined, chat: 'answer' | 'paraphrase' | 'canned' | undefined): Promise<FakeEngine> {
    const models = [...(embeddingsFor === undefined ? [] : [{ name: EMBED, kind: 'embedding' as const }]), ...(chat === undefined ? [] : [{ name: CHAT, kind: 'chat' as const }])]
    const server = await startFakeOpenAI({ models, ...(embeddingsFor === undefined ? {} : { embeddingsFor }), ...(chat === undefined ? {} : { replyFor: answerer(chat) }) })
    servers.push(server)
    return server
  }

  before(async () => {
    coordinator = await swarm.add({ config: config({ jobs: { slots: 0 } }) })
    const bootstrap = { network: { bootstrap: [firstAddress(coordinator)] } }
    const worker = (winkOn: boolean): DeepPartial<AgoraConfig> => config({ ...bootstrap, jobs: { slots: 8 }, offers: { prices: { perTask: PRICE } }, providers: { wink: { enabled: winkOn } } })
    const [h1, h2, random, sometimes, canned] = await Promise.all([worker(true), worker(false), worker(false), worker(false), worker(false)].map(async c => await swarm.add({ config: c })))
    honest = [h1 as AgoraNode, h2 as AgoraNode]
    cheats = { random: random as AgoraNode, sometimes: sometimes as AgoraNode, canned: canned as AgoraNode }
    const add = async (node: AgoraNode, server: FakeEngine): Promise<void> => { await node.components.providers.add({ name: 'engine', kind: 'openai', url: server.url }) }
    // honest 1: the embedded engine for vectors, a chat server answering each question
    await add(honest[0] as AgoraNode, await serving(undefined, 'answer'))
    // honest 2: another engine — the same vectors through float32 with noise — and a second model's phrasing
    await add(honest[1] as AgoraNode, await serving(async inputs => (await vectors(inputs)).map((v, i) => v.map((x, k) => Math.fround(x + 1e-3 * noise(`${inputs[i] ?? ''}`, k)))), 'paraphrase'))
    await add(cheats.random, await serving(async inputs => inputs.map((text, i) => Array.from({ length: 100 }, (_, k) => noise(`${text}:${i}`, k))), undefined))
    await add(cheats.sometimes, await serving(async inputs => {
      const right = await vectors(inputs)
      return right.map((v, i) => unlucky(inputs[i] ?? '') ? v.map((_, k) => noise(`cheat:${inputs[i] ?? ''}`, k)) : v)
    }, undefined))
    await add(cheats.canned, await serving(undefined, 'canned'))
    coordinator.components.events.on('subtask:verified', e => { verified.push(e) })
    const all = [...honest, cheats.random, cheats.sometimes, cheats.canned]
    await waitForOffers(coordinator, [...honest, cheats.random, cheats.sometimes], 'text.embed')
    await waitForOffers(coordinator, [...honest, cheats.canned], 'batch.chat')
    await Promise.all(all.map(async n => { await modelsOffered(n) }))
  })
  after(async () => {
    await swarm.stop()
    for (const server of servers) await server.close()
    await wink.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** The coordinator's offers list the worker's models (so the router can pick it for them). */
  async function modelsOffered (node: AgoraNode): Promise<void> {
    await waitFor(`${node.peerId.slice(-6)}'s models in its offer`, () => coordinator.components.offers.list().some(o => o.node === node.peerId && o.models.length > 0), { timeoutMs: 20_000 })
  }

  test('embeddings and chat with redundancy 3: every cheater outvoted, no honest worker ever; cheaters unpaid for what was outvoted and below every honest reputation', async () => {
    // each cheater meets the two honest workers on every subtask (constraints.workers): redundancy 3 is then a vote of the three
    const trio = (cheat: AgoraNode): string[] => [...honest.map(n => n.peerId), cheat.peerId]
    const document = longDocument(24_000, 7)
    // one job at a time: replicas need the workers' slots free (a replica refused for capacity leaves a result unverified)
    const specs = [
      { type: 'text.embed', input: { kind: 'text' as const, text: document }, params: { model: EMBED, chunkChars: 400, chunksPerSubtask: 2 }, constraints: { budget: '50', redundancy: 3, workers: trio(cheats.random) } },
      { type: 'text.embed', input: { kind: 'text' as const, text: document }, params: { model: EMBED, chunkChars: 400, chunksPerSubtask: 2 }, constraints: { budget: '50', redundancy: 3, workers: trio(cheats.sometimes) } },
      { type: 'batch.chat', input: { kind: 'items' as const, items: ANSWERS.map(a => `${a.answer.slice(0, 24)}… — say it in one sentence.`) }, params: { model: CHAT, perSubtask: 1 }, constraints: { budget: '50', redundancy: 3, workers: trio(cheats.canned) } }
    ]
    for (const spec of specs) {
      const job = await coordinator.components.jobs.submit(spec)
      const done = await waitForJob(coordinator, job.id, 120_000)
      assert.equal(done.state, 'completed', `${job.type}: ${JSON.stringify(done.error)}`)
      assert.ok(verified.filter(e => e.jobId === job.id).every(e => e.verdict !== 'unverified'), 'every result was checked')
    }
    const outvoted = (node: AgoraNode): number => verified.filter(e => e.outliers.includes(node.peerId)).length
    for (const [name, node] of Object.entries(cheats)) assert.ok(outvoted(node) >= 1, `${name} was outvoted at least once`)
    for (const node of honest) assert.equal(outvoted(node), 0, `honest ${node.peerId.slice(-6)} never outvoted`)
    // the ones that always cheat never earned: every result of theirs was outvoted
    const wallet = coordinator.components.market.wallet()
    const payable = (node: AgoraNode): number => wallet.peers.find(p => p.peer === node.peerId)?.payable ?? 0
    assert.equal(payable(cheats.random), 0)
    assert.equal(payable(cheats.canned), 0)
    for (const node of honest) assert.ok(payable(node) >= parseCredits(PRICE), `honest ${node.peerId.slice(-6)} was paid`)
    const reputation = (node: AgoraNode): number => coordinator.components.peerBook.view(node.peerId)?.reputation ?? 0.5
    const floor = Math.min(...honest.map(reputation))
    for (const [name, node] of Object.entries(cheats)) assert.ok(reputation(node) < floor, `${name} ${reputation(node)} < every honest worker's (${floor})`)
  })
})
