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
const OLLAMA_ONLY = 'ollama-only'
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
    // B's Ollama model has no tools capability (JSON output only); C's OpenAI-compatible engine offers everything
    upstreamB = await startFakeOllama({ models: [{ name: MODEL, kind: 'chat' }, { name: OLLAMA_ONLY, kind: 'chat' }], reply: REPLY })
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
      return owners.includes(b.peerId) && owners.includes(c.peerId) && a.components.gateway.models().some(m => m.id === OLLAMA_ONLY)
    }, { timeoutMs: 15_000 })
    client = new OpenAI({ baseURL: `${a.apiUrl}/v1`, apiKey: 'sk-local', maxRetries: 0 })
  })

  after(async () => {
    await swarm.stop()
    await upstreamB.close()
    await upstreamC.close()
  })

  test('tools, log-probabilities and structured output go to the engine that offers them, across a peer, as OpenAI clients expect', async () => {
    upstreamB.setBehaviour({ toolCall: { name: 'get_weather', arguments: { city: 'Oslo' } } })
    upstreamC.setBehaviour({ toolCall: { name: 'get_weather', arguments: { city: 'Oslo' } } })
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', description: 'current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }]
    const ask = [{ role: 'user' as const, content: 'weather in Oslo?' }]
    // only C offers tools: every such request goes there (B would be picked half the time otherwise)
    for (let i = 0; i < 3; i++) {
      const { data, response } = await client.chat.completions.create({ model: MODEL, messages: ask, tools }).withResponse()
      assert.equal(response.headers.get('x-agora-server'), c.peerId)
      const choice = data.choices[0]
      assert.equal(choice?.finish_reason, 'tool_calls')
      const call = choice?.message.tool_calls?.[0] as { id: string, function: { name: string, arguments: string } } | undefined
      assert.equal(call?.function.name, 'get_weather')
      assert.deepEqual(JSON.parse(call?.function.arguments ?? ''), { city: 'Oslo' })
      assert.deepEqual((upstreamC.stats.lastBody as { tools?: unknown }).tools, tools, 'the tools reached the engine as sent')
    }
    // streamed: the call arrives in pieces the client puts together; then the tool's answer goes back
    const stream = await client.chat.completions.create({ model: MODEL, messages: ask, tools, stream: true })
    let args = ''
    let name = ''
    let id = ''
    let finish: string | null = null
    for await (const chunk of stream) {
      for (const piece of chunk.choices[0]?.delta.tool_calls ?? []) {
        id += piece.id ?? ''
        name += piece.function?.name ?? ''
        args += piece.function?.arguments ?? ''
      }
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    assert.deepEqual([name, JSON.parse(args), finish], ['get_weather', { city: 'Oslo' }, 'tool_calls'])
    const followUp = await client.chat.completions.create({
      model: MODEL,
      tools,
      messages: [...ask, { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name, arguments: args } }] }, { role: 'tool', tool_call_id: id, content: '{"celsius": 3}' }]
    })
    assert.equal(followUp.choices[0]?.finish_reason, 'tool_calls', 'the fake calls again whenever it has tools')
    const history = (upstreamC.stats.lastBody as { messages: Array<{ role: string, tool_call_id?: string, tool_calls?: unknown[] }> }).messages
    assert.deepEqual([history[1]?.tool_calls?.length, history[2]?.tool_call_id], [1, id], 'the tool turn reached the engine')

    // log-probabilities: C only, one per token with the alternatives asked for
    const probed = await client.chat.completions.create({ model: MODEL, messages: ask, logprobs: true, top_logprobs: 2 })
    const content = probed.choices[0]?.logprobs?.content ?? []
    assert.equal(content.length, REPLY.length)
    assert.deepEqual(content.map(t => t.token), REPLY)
    assert.equal(content[0]?.top_logprobs.length, 2)
    // structured output: both offer it
    const structured = await client.chat.completions.create({ model: MODEL, messages: ask, response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } } })
    assert.deepEqual(JSON.parse(structured.choices[0]?.message.content ?? ''), { answer: 42 })

    // a model whose only engine cannot: 400 naming the option, never answered without it
    await assert.rejects(client.chat.completions.create({ model: OLLAMA_ONLY, messages: ask, logprobs: true }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err))
      assert.equal(err.code, 'E962')
      assert.equal(err.param, 'logprobs')
      return true
    })
    assert.equal((await client.chat.completions.create({ model: OLLAMA_ONLY, messages: ask, response_format: { type: 'json_object' } })).choices[0]?.message.content, '{"answer": 42}')
    upstreamB.setBehaviour({ toolCall: undefined })
    upstreamC.setBehaviour({ toolCall: undefined })
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
