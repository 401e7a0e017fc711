/**
 * The gateway end to end, with the official `openai` client against node A:
 * models served only by B and C (real HTTP servers speaking the Ollama and
 * OpenAI wire formats), embeddings from A's own embedded engine, failover
 * when the chosen node dies before its first token, and a client abort on A
 * that stops the generation on the serving node's upstream.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import type { AgoraNode } from '../../src/node.ts'
import { TestSwarm, firstAddress, waitForPeers } from '../harness/nodes.ts'
import { waitFor } from '../harness/wait.ts'
import { cosine } from '../harness/checks.ts'
import { startFakeOllama, type FakeEngine } from '../fixtures/fake-ollama.ts'
import { startFakeOpenAI } from '../fixtures/fake-openai.ts'

const MODEL = 'llama-test'
const REPLY = ['The', ' answer', ' is', ' 42', '.']

describe('gateway: OpenAI API on A, models on B and C', () => {
  const swarm = new TestSwarm()
  let a: AgoraNode
  let b: AgoraNode
  let c: AgoraNode
  let upstreamB: FakeEngine
  let upstreamC: FakeEngine
  let client: OpenAI

  before(async () => {
    upstreamB = await startFakeOllama({ models: [{ name: MODEL, kind: 'chat' }], reply: REPLY })
    upstreamC = await startFakeOpenAI({ models: [{ name: MODEL, kind: 'chat' }], reply: REPLY })
    // B and C serve any peer that is not banned; short timers so offers and failover move fast
    const serving = { access: { trustMode: 'public' as const }, offers: { reannounceMs: 1000 } }
    a = await swarm.add({ config: { gateway: { backoffMs: 10, timeouts: { firstTokenMs: 10_000 } } } })
    b = await swarm.add({ config: { ...serving, network: { bootstrap: [firstAddress(a)] } } })
    c = await swarm.add({ config: { ...serving, network: { bootstrap: [firstAddress(a)] } } })
    await b.components.providers.add({ name: 'fake-ollama', kind: 'ollama', url: upstreamB.url })
    await c.components.providers.add({ name: 'fake-openai', kind: 'openai', url: upstreamC.url })
    await waitForPeers(a, 2)
    await waitFor(`A to learn that B and C serve ${MODEL}`, () => {
      const owners = a.components.gateway.models().filter(m => m.id === MODEL).map(m => m.ownedBy)
      return owners.includes(b.peerId) && owners.includes(c.peerId)
    }, { timeoutMs: 15_000 })
    client = new OpenAI({ baseURL: `${a.apiUrl}/v1`, apiKey: 'sk-local', maxRetries: 0 })
  })

  after(async () => {
    await swarm.stop()
    await upstreamB.close()
    await upstreamC.close()
  })

  test('/v1/models on A lists B\'s and C\'s model once, served by both, and A\'s embedded model', async () => {
    const models = await client.models.list()
    const served = models.data.filter(m => m.id === MODEL)
    assert.equal(served.length, 1, 'one entry per model id')
    const servedBy = (served[0] as unknown as { agora: { servedBy: Array<{ node: string }> } }).agora.servedBy
    assert.deepEqual(servedBy.map(s => s.node).sort(), [b.peerId, c.peerId].sort())
    assert.ok(models.data.some(m => m.id === 'agora/wink-embed-100d' && m.owned_by === a.peerId))
  })

  test('chat through A, non-streaming and streaming, served by a peer', async () => {
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'What is the answer?' }] })
    assert.equal(answer.choices[0]?.message.content, REPLY.join(''))
    assert.ok((answer.usage?.completion_tokens ?? 0) > 0)

    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Again?' }], stream: true, stream_options: { include_usage: true } })
    let text = ''
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.usage != null) usage = chunk.usage
    }
    assert.equal(text, REPLY.join(''))
    assert.ok((usage?.total_tokens ?? 0) > 0)
    const rows = a.components.metering.list({ model: MODEL })
    assert.ok(rows.some(r => r.outcome === 'ok' && (r.server === b.peerId || r.server === c.peerId)), 'metered with the serving peer')
  })

  test('model@peer pins the serving node', async () => {
    const { data, response } = await client.chat.completions.create({ model: `${MODEL}@${c.peerId}`, messages: [{ role: 'user', content: 'hi' }] }).withResponse()
    assert.equal(data.choices[0]?.message.content, REPLY.join(''))
    assert.equal(response.headers.get('x-agora-server'), c.peerId)
  })

  test('embeddings from A\'s embedded engine: deterministic, 100-d, unit length, similar closer than unrelated', async () => {
    const input = ['The cat sat on the mat.', 'A kitten was sitting on the rug.', 'Interest rates rose sharply in the bond market.']
    const first = await client.embeddings.create({ model: 'agora/wink-embed-100d', input })
    const again = await client.embeddings.create({ model: 'agora/wink-embed-100d', input })
    const vectors = first.data.map(d => d.embedding)
    assert.deepEqual(again.data.map(d => d.embedding), vectors)
    for (const v of vectors) {
      assert.equal(v.length, 100)
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-4)
    }
    assert.ok(cosine(vectors[0] as number[], vectors[1] as number[]) > cosine(vectors[0] as number[], vectors[2] as number[]))
  })

  test('client abort on A stops the generation upstream of the serving node', async () => {
    upstreamB.setBehaviour({ tokenDelayMs: 100, reply: Array.from({ length: 100 }, (_, i) => ` t${i}`) })
    upstreamC.setBehaviour({ tokenDelayMs: 100, reply: Array.from({ length: 100 }, (_, i) => ` t${i}`) })
    const abortedBefore = upstreamB.stats.aborted + upstreamC.stats.aborted
    const controller = new AbortController()
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'count' }], stream: true }, { signal: controller.signal })
    let received = 0
    try {
      for await (const chunk of stream) {
        if ((chunk.choices[0]?.delta.content ?? '') !== '') received++
        if (received === 2) controller.abort()
      }
    } catch (err) {
      assert.ok(err instanceof OpenAI.APIUserAbortError, `aborted, not ${String(err)}`)
    }
    assert.ok(received < 10, 'the stream stopped soon after the abort')
    await waitFor('the upstream call to be cancelled', () => upstreamB.stats.aborted + upstreamC.stats.aborted > abortedBefore, { timeoutMs: 10_000 })
    upstreamB.setBehaviour({ tokenDelayMs: 0, reply: REPLY })
    upstreamC.setBehaviour({ tokenDelayMs: 0, reply: REPLY })
  })

  test('the chosen node dies before its first token: A fails over and the client sees one clean answer', async () => {
    // both upstreams hold back their first token; whichever node gets the request is stopped
    upstreamB.setBehaviour({ tokenDelayMs: 800 })
    upstreamC.setBehaviour({ tokenDelayMs: 800 })
    const seenB = upstreamB.stats.byRoute['POST /api/chat'] ?? 0
    const seenC = upstreamC.stats.byRoute['POST /v1/chat/completions'] ?? 0
    const pending = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'failover?' }] }).withResponse()
    const victim = await waitFor('a node to receive the request', () => {
      if ((upstreamB.stats.byRoute['POST /api/chat'] ?? 0) > seenB) return b
      if ((upstreamC.stats.byRoute['POST /v1/chat/completions'] ?? 0) > seenC) return c
      return undefined
    })
    const survivor = victim === b ? c : b
    await victim.stop('killed by the test before its first token')
    const { data, response } = await pending
    assert.equal(data.choices[0]?.message.content, REPLY.join(''))
    assert.equal(response.headers.get('x-agora-server'), survivor.peerId)
    assert.equal(response.headers.get('x-agora-attempts'), '2')
  })
})
