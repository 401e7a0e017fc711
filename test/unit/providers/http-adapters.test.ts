/**
 * The Ollama and OpenAI-compatible adapters against real HTTP fakes of the
 * two wire formats: the same behaviours, one table of both.
 */
import { test, describe, before, after } from 'node:test'
import { createServer, type AddressInfo } from 'node:net'
import assert from 'node:assert/strict'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { collectChat, OllamaProvider, OpenAICompatibleProvider, type ChatEvent, type HttpProvider, type HttpProviderInit, type ToolCall } from '../../../src/providers/index.ts'
import { joinToolCalls } from '../../../src/providers/inference.ts'
import { DEFAULT_BEHAVIOUR, fakeVector, type FakeEngine } from '../../fixtures/fake-engine.ts'
import { startFakeOllama } from '../../fixtures/fake-ollama.ts'
import { startFakeOpenAI } from '../../fixtures/fake-openai.ts'
import { waitFor } from '../../harness/wait.ts'
import { drain } from '../../harness/checks.ts'

interface Flavour {
  name: string
  start: typeof startFakeOllama
  create: (init: HttpProviderInit) => HttpProvider
  /** What its chat model offers beyond text (Ollama: JSON by grammar, tools when /api/show says so; logprobs never). */
  features: string[]
}

const flavours: Flavour[] = [
  { name: 'ollama', start: startFakeOllama, create: init => new OllamaProvider({ logger: silentLogger() }, init), features: ['json', 'json_schema'] },
  { name: 'openai-compatible', start: startFakeOpenAI, create: init => new OpenAICompatibleProvider({ logger: silentLogger() }, init), features: ['tools', 'json', 'json_schema', 'logprobs'] }
]

const chat = { model: 'fake-chat', messages: [{ role: 'user' as const, content: 'say hello to the world' }] }

function code (expected: string, check?: (err: AgoraError) => void): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof AgoraError, `expected an AgoraError, got ${String(err)}`)
    assert.equal(err.code, expected, err.format())
    check?.(err)
    return true
  }
}

for (const flavour of flavours) {
  describe(`${flavour.name} adapter`, () => {
    let fake: FakeEngine
    let provider: HttpProvider

    before(async () => {
      fake = await flavour.start()
      provider = flavour.create({ id: 'under-test', url: fake.url })
    })
    after(async () => {
      await provider.stop()
      await fake.close()
    })
    const reset = (): void => { fake.setBehaviour({ ...DEFAULT_BEHAVIOUR, models: [...DEFAULT_BEHAVIOUR.models] }) }

    test('health and the model list (kind, context length), cached with a TTL', async () => {
      reset()
      assert.equal(provider.health().status, 'unhealthy', 'not checked yet')
      assert.deepEqual(provider.models(), [])
      assert.equal((await provider.checkHealth()).status, 'healthy')
      const models = await provider.refreshModels()
      assert.deepEqual(models, [
        { name: 'fake-chat', provider: 'under-test', kind: 'chat', contextLength: 4096, features: flavour.features },
        { name: 'fake-embed', provider: 'under-test', kind: 'embedding', contextLength: 512 }
      ])
      assert.deepEqual(provider.models(), models)
      assert.deepEqual(provider.capacity(), { slotsTotal: 4, slotsIdle: 4 })
      fake.setBehaviour({ models: [{ name: 'other' }] })
      assert.deepEqual(await provider.refreshModels(), models, 'served from the cache within the TTL')
      assert.deepEqual((await provider.refreshModels({ force: true })).map(m => m.name), ['other'])
      reset()
      await provider.refreshModels({ force: true })
    })

    test('tools pass through and a call comes back whole (arguments joined), finish reason tool_calls; JSON formats pass through', async () => {
      reset()
      if (flavour.name === 'ollama') fake.setBehaviour({ models: [{ name: 'fake-chat', kind: 'chat', tools: true }] })
      const models = await provider.refreshModels({ force: true })
      assert.ok(models[0]?.features?.includes('tools'), 'tools offered')
      fake.setBehaviour({ toolCall: { name: 'get_weather', arguments: { city: 'Oslo', days: 2 } } })
      const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
      const history = [
        { role: 'user' as const, content: 'weather?' },
        { role: 'assistant' as const, content: '', tool_calls: [{ id: 'call_0', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool' as const, content: '{"c":20}', tool_call_id: 'call_0' }
      ]
      const events = await drain(provider.chatStream({ model: 'fake-chat', messages: history, tools }))
      const calls: ToolCall[] = []
      for (const e of events) if (e.type === 'tool_calls') joinToolCalls(calls, e.calls)
      assert.equal(calls.length, 1)
      assert.equal(calls[0]?.function.name, 'get_weather')
      assert.deepEqual(JSON.parse(calls[0]?.function.arguments ?? ''), { city: 'Oslo', days: 2 })
      assert.ok((calls[0]?.id ?? '').length > 0, 'an id for the client to answer with')
      assert.deepEqual((events.at(-1) as { finishReason: string }).finishReason, 'tool_calls')
      const sent = fake.stats.lastBody as { tools?: unknown, messages: Array<{ tool_calls?: Array<{ function: { arguments: unknown } }> }> }
      assert.deepEqual(sent.tools, tools, 'the tools reached the engine as sent')
      // the history's call: JSON text for OpenAI, an object for Ollama
      assert.deepEqual(sent.messages[1]?.tool_calls?.[0]?.function.arguments, flavour.name === 'ollama' ? { city: 'Rome' } : '{"city":"Rome"}')
      const json = await collectChat(provider.chatStream({ model: 'fake-chat', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' } } } }))
      assert.deepEqual(JSON.parse(json.content), { answer: 42 })
      const asked = fake.stats.lastBody as { format?: unknown, response_format?: unknown }
      if (flavour.name === 'ollama') assert.deepEqual(asked.format, { type: 'object' }, 'the schema itself as format')
      else assert.deepEqual(asked.response_format, { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' } } })
    })

    test('chat streams the deltas, then one done with the usage', async () => {
      reset()
      const events = await drain(provider.chatStream(chat))
      assert.deepEqual(events, [
        ...DEFAULT_BEHAVIOUR.reply.map(text => ({ type: 'delta', text })),
        { type: 'done', finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 4 } }
      ])
      fake.setBehaviour({ finishReason: 'length', reply: ['a', 'b'] })
      assert.deepEqual(await collectChat(provider.chatStream({ ...chat, max_tokens: 2, temperature: 0.2, stop: 'x' })), { content: 'ab', finishReason: 'length', usage: { promptTokens: 5, completionTokens: 2 } })
      const sent = fake.stats.lastBody as Record<string, unknown>
      if (flavour.name === 'ollama') assert.deepEqual(sent.options, { temperature: 0.2, num_predict: 2, stop: ['x'] })
      else assert.deepEqual([sent.max_tokens, sent.temperature, sent.stop, sent.stream, sent.stream_options], [2, 0.2, 'x', true, { include_usage: true }])
    })

    test('answers read to their end leave their connection to the engine open for the next calls (keep-alive)', async () => {
      reset()
      const fresh = await flavour.start()
      const own = flavour.create({ id: 'keep-alive', url: fresh.url })
      try {
        for (let i = 0; i < 10; i++) assert.equal((await collectChat(own.chatStream(chat))).content, DEFAULT_BEHAVIOUR.reply.join(''))
        // the next call may start while the last one's end of body is still being drained: then a second connection opens, no more
        assert.ok(fresh.stats.connections <= 2, `10 answers over ${fresh.stats.connections} connections`)
      } finally {
        await own.stop()
        await fresh.close()
      }
    })

    test('embeddings: one vector per input, in order, with the usage', async () => {
      reset()
      const result = await provider.embeddings({ model: 'fake-embed', input: ['one two', 'three'] })
      assert.deepEqual(result.vectors, [fakeVector('one two', 4), fakeVector('three', 4)])
      assert.deepEqual(result.usage, { promptTokens: 3 })
    })

    test('a garbage line mid-stream fails with E705 after the first delta, and degrades the provider', async () => {
      reset()
      await provider.checkHealth()
      fake.setBehaviour({ garbage: true })
      const seen: ChatEvent[] = []
      await assert.rejects(async () => { for await (const e of provider.chatStream(chat)) seen.push(e) }, code('E705'))
      assert.deepEqual(seen, [{ type: 'delta', text: 'Hello' }])
      assert.equal(provider.health().status, 'degraded')
      assert.match(provider.health().lastError ?? '', /E705/)
      reset()
      await collectChat(provider.chatStream(chat))
      assert.equal(provider.health().status, 'healthy', 'a good answer heals')
    })

    test('a connection closed mid-stream fails with E706', async () => {
      reset()
      fake.setBehaviour({ closeMidStream: true, misbehaveAfter: 2 })
      const seen: ChatEvent[] = []
      await assert.rejects(async () => { for await (const e of provider.chatStream(chat)) seen.push(e) }, code('E706'))
      assert.equal(seen.length, 2)
    })

    test('aborting while waiting for the first token cancels the upstream request (E703)', async () => {
      reset()
      fake.setBehaviour({ neverFirstToken: true })
      const before = fake.stats.aborted
      const controller = new AbortController()
      const pending = collectChat(provider.chatStream(chat, { signal: controller.signal }))
      await waitFor('the request to reach the fake', () => fake.stats.byRoute[flavour.name === 'ollama' ? 'POST /api/chat' : 'POST /v1/chat/completions'])
      setTimeout(() => controller.abort(), 20)
      await assert.rejects(pending, code('E703'))
      await waitFor('the fake to see the client go away', () => fake.stats.aborted === before + 1)
      assert.equal(provider.capacity().slotsIdle, 4, 'the slot is free again')
    })

    test('an abort with an AgoraError reason surfaces that error; leaving the loop early aborts upstream', async () => {
      reset()
      fake.setBehaviour({ tokenDelayMs: 30, reply: ['a', 'b', 'c', 'd', 'e', 'f'] })
      const timeout = new AgoraError('E936', 'no first token')
      await assert.rejects(collectChat(provider.chatStream(chat, { signal: AbortSignal.abort(timeout) })), err => err === timeout)
      const before = fake.stats.aborted
      for await (const event of provider.chatStream(chat)) {
        assert.deepEqual(event, { type: 'delta', text: 'a' })
        break
      }
      await waitFor('the fake to see the client go away', () => fake.stats.aborted === before + 1)
    })

    test('HTTP errors: 500 is E707 with the status and degrades; 404 (unknown model) is E707 and does not', async () => {
      reset()
      await provider.checkHealth()
      await assert.rejects(collectChat(provider.chatStream({ ...chat, model: 'nope' })), code('E707', err => {
        assert.equal(err.details?.status, 404)
        assert.match(err.why ?? '', /not (found|exist)/)
      }))
      assert.equal(provider.health().status, 'healthy')
      fake.setBehaviour({ httpError: 500 })
      await assert.rejects(provider.embeddings({ model: 'fake-embed', input: ['x'] }), code('E707', err => {
        assert.equal(err.details?.status, 500)
        assert.match(err.why ?? '', /fake failure 500/)
      }))
      assert.equal(provider.health().status, 'degraded')
    })
  })
}

describe('adapters: unreachable engines and OpenAI specifics', () => {
  test('an unreachable engine: E708 on calls; the health check says unhealthy with the error; no models advertised', async () => {
    const fake = await startFakeOllama()
    const url = fake.url
    await fake.close()
    for (const flavour of flavours) {
      const provider = flavour.create({ id: 'gone', url, probeTimeoutMs: 2000 })
      await assert.rejects(collectChat(provider.chatStream(chat)), code('E708', err => assert.match(err.why ?? '', /ECONNREFUSED/)))
      await assert.rejects(provider.embeddings({ model: 'm', input: ['x'] }), code('E708'))
      const health = await provider.checkHealth()
      assert.equal(health.status, 'unhealthy')
      assert.match(health.lastError ?? '', /E708/)
      assert.deepEqual(provider.models(), [])
      assert.deepEqual(provider.capacity(), { slotsTotal: 0, slotsIdle: 0 })
      await assert.rejects(provider.refreshModels(), code('E708'))
      await provider.stop()
    }
  })

  test('a health check past its time limit is E708-unhealthy, never a hang', async () => {
    // an engine that accepts the connection and never answers
    const silent = createServer(socket => { socket.on('error', () => {}) })
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    const provider = new OpenAICompatibleProvider({ logger: silentLogger() }, { id: 'slow', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, probeTimeoutMs: 50 })
    try {
      const health = await provider.checkHealth()
      assert.equal(health.status, 'unhealthy')
      assert.match(health.lastError ?? '', /within 50 ms/)
    } finally {
      await provider.stop()
      silent.close()
    }
  })

  test('a long answer whose body ends a little after [DONE] still leaves its connection for the next call', async () => {
    const reply = Array.from({ length: 600 }, (_, i) => ` word${i}`)
    const fake = await startFakeOpenAI({ reply, endAfterDoneMs: 5 })
    const provider = new OpenAICompatibleProvider({ logger: silentLogger() }, { id: 'lm', url: fake.url })
    try {
      for (let i = 0; i < 10; i++) assert.equal((await collectChat(provider.chatStream(chat))).content, reply.join(''))
      assert.ok(fake.stats.connections <= 2, `10 answers of ~90 KB over ${fake.stats.connections} connections`)
    } finally {
      await provider.stop()
      await fake.close()
    }
  })

  test('an engine that never ends its body after [DONE]: the answer is complete, and its connection is given up soon, not kept', async () => {
    const fake = await startFakeOpenAI({ endAfterDoneMs: Number.POSITIVE_INFINITY })
    const provider = new OpenAICompatibleProvider({ logger: silentLogger() }, { id: 'lm', url: fake.url })
    try {
      for (let i = 0; i < 3; i++) assert.equal((await collectChat(provider.chatStream(chat))).content, DEFAULT_BEHAVIOUR.reply.join(''))
      // each answer held its connection (the body never ended); those three are given up after drainMs (undici may
      // open fresh idle ones, closed after keepAliveMs), instead of staying held until the provider stops
      await waitFor('the unfinished answers\' connections to be closed', () => fake.stats.closedConnections >= 3, { timeoutMs: 4000 })
    } finally {
      await provider.stop()
      await fake.close()
    }
  })

  test('no usage from the server: tokens are estimated (~4 characters each)', async () => {
    const fake = await startFakeOpenAI({ usage: false, reply: ['12345678'] })
    const provider = new OpenAICompatibleProvider({ logger: silentLogger() }, { id: 'lm', url: fake.url })
    try {
      const answer = await collectChat(provider.chatStream(chat))
      assert.deepEqual(answer.usage, { promptTokens: Math.ceil('say hello to the world'.length / 4), completionTokens: 2 })
    } finally {
      await provider.stop()
      await fake.close()
    }
  })

  test('the bearer key is read from the named environment variable; a missing one degrades with a clear error', async () => {
    const fake = await startFakeOpenAI({ apiKey: 'sk-secret' })
    const env: Record<string, string | undefined> = {}
    const provider = new OpenAICompatibleProvider({ logger: silentLogger() }, { id: 'vllm', url: `${fake.url}/v1/`, apiKeyEnv: 'VLLM_KEY', env })
    try {
      assert.equal(provider.base, `${fake.url}/v1`)
      const health = await provider.checkHealth()
      assert.equal(health.status, 'unhealthy')
      assert.match(health.lastError ?? '', /HTTP 401.*Incorrect API key/)
      env.VLLM_KEY = 'sk-secret'
      assert.equal((await provider.checkHealth()).status, 'healthy')
      assert.equal(fake.stats.lastHeaders.authorization, 'Bearer sk-secret')
      assert.equal((await collectChat(provider.chatStream(chat))).content, 'Hello, world!')
      fake.setBehaviour({ apiKey: undefined })
      delete env.VLLM_KEY
      const degraded = await provider.checkHealth()
      assert.equal(degraded.status, 'degraded')
      assert.match(degraded.lastError ?? '', /VLLM_KEY is not set/)
    } finally {
      await provider.stop()
      await fake.close()
    }
  })

  test('a stopped provider fails calls in flight with E700', async () => {
    const fake = await startFakeOllama({ neverFirstToken: true })
    const provider = new OllamaProvider({ logger: silentLogger() }, { id: 'o', url: fake.url })
    try {
      const failed = assert.rejects(collectChat(provider.chatStream(chat)), err => isAgoraError(err, 'E700'))
      await waitFor('the request to reach the fake', () => fake.stats.byRoute['POST /api/chat'])
      await provider.stop()
      await failed
    } finally {
      await fake.close()
    }
  })
})
