/**
 * The OpenAI-compatible API against a scripted gateway: the official
 * `openai` client on a real loopback socket (models, chat with and without
 * streaming, embeddings in its default base64 encoding, errors it must
 * recognise, cancelling mid-stream), and `inject` for the wire details.
 */
import { describe, test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import OpenAI from 'openai'
import { AgoraError } from '../../../src/errors.ts'
import type { ChatEvent } from '../../../src/providers/index.ts'
import { buildTestApi, chatRun, listen, scripted, sseData, PEER, type TestApi } from './fake-gateway.ts'
import { waitFor } from '../../harness/wait.ts'

const host = { host: '127.0.0.1' }

describe('/v1 through the openai client', () => {
  let api: TestApi
  let client: OpenAI

  before(async () => {
    api = await buildTestApi()
    client = new OpenAI({ baseURL: `${await listen(api.app)}/v1`, apiKey: 'sk-local-anything', maxRetries: 0, timeout: 10_000 })
  })
  after(async () => { await api.close() })
  beforeEach(() => {
    api.gateway.chats.length = 0
    api.gateway.onChat = () => chatRun(scripted(['Hello', ', world']))
  })

  test('models list each model id once, local first, with every node that serves it (agora.servedBy)', async () => {
    const models = []
    for await (const model of client.models.list()) models.push(model)
    assert.deepEqual(models.map(m => [m.id, m.owned_by]), [['llama3.2:3b', '12D3KooWSelf'], ['agora/wink-embed-100d', '12D3KooWSelf']], 'no duplicate ids')
    const llama = models[0] as unknown as { object: string, agora: Record<string, unknown> }
    assert.equal(llama.object, 'model')
    assert.deepEqual(llama.agora, {
      kind: 'chat',
      price: '0.000000',
      latencyMs: 0,
      local: true,
      // what one of them does at least (logprobs only the peer's engine)
      features: ['json', 'json_schema', 'logprobs', 'tools'],
      servedBy: [
        { node: '12D3KooWSelf', provider: 'ollama', price: '0.000000', latencyMs: 0, local: true, features: ['json', 'json_schema', 'tools'] },
        { node: PEER, provider: 'lmstudio', price: '1.500000', latencyMs: 12.5, local: false, features: ['json', 'json_schema', 'logprobs', 'tools'] }
      ]
    })
  })

  test('a chat completion: content, finish reason, usage and where it ran', async () => {
    api.gateway.onChat = () => chatRun(scripted(['Hello', ', world'], 'length', { promptTokens: 9, completionTokens: 2 }), { id: 'abc', server: PEER, attempts: 2 })
    const { data, response } = await client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'developer', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_tokens: 5 }).withResponse()
    assert.equal(data.id, 'chatcmpl-abc')
    assert.equal(data.object, 'chat.completion')
    assert.equal(data.choices[0]?.message.content, 'Hello, world')
    assert.equal(data.choices[0]?.message.role, 'assistant')
    assert.equal(data.choices[0]?.finish_reason, 'length')
    assert.deepEqual(data.usage && { p: data.usage.prompt_tokens, c: data.usage.completion_tokens, t: data.usage.total_tokens }, { p: 9, c: 2, t: 11 })
    assert.equal(response.headers.get('x-agora-server'), PEER)
    assert.equal(response.headers.get('x-agora-attempts'), '2')
    const sent = api.gateway.chats[0]
    assert.deepEqual(sent?.request, { model: 'llama3.2:3b', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], max_tokens: 5 })
    assert.deepEqual(sent?.ctx.requester, { kind: 'local', keyId: null })
  })

  test('a streamed chat: role first, deltas, finish reason, usage the client parses', async () => {
    api.gateway.onChat = () => chatRun(scripted(['Hel', 'lo', '!'], 'stop', { promptTokens: 4, completionTokens: 3 }))
    const stream = await client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    assert.equal(chunks[0]?.choices[0]?.delta.role, 'assistant')
    assert.equal(chunks.map(c => c.choices[0]?.delta.content ?? '').join(''), 'Hello!')
    assert.deepEqual(chunks.map(c => c.choices[0]?.finish_reason).filter(r => r != null), ['stop'])
    const usage = chunks.find(c => c.usage != null)?.usage
    assert.deepEqual(usage && [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens], [4, 3, 7])
    assert.ok(chunks.every(c => c.object === 'chat.completion.chunk' && c.id === 'chatcmpl-run-1'))
  })

  test('embeddings in the client\'s default base64 encoding decode to the right floats', async () => {
    const result = await client.embeddings.create({ model: 'agora/wink-embed-100d', input: ['a', 'b'] })
    assert.deepEqual(result.data.map(d => d.embedding), [[0.5, -1.25, 0], [0.5, -1.25, 1]])
    assert.deepEqual(result.data.map(d => d.index), [0, 1])
    assert.deepEqual(result.usage, { prompt_tokens: 6, total_tokens: 6 })
    const floats = await client.embeddings.create({ model: 'agora/wink-embed-100d', input: 'one', encoding_format: 'float' })
    assert.deepEqual(floats.data[0]?.embedding, [0.5, -1.25, 0])
    assert.deepEqual(api.gateway.embeds.at(-1)?.request, { model: 'agora/wink-embed-100d', input: ['one'] })
  })

  test('an unknown model is NotFoundError whose message lists the close matches', async () => {
    api.gateway.onChat = () => { throw new AgoraError('E930', 'no provider or peer serves \'llama3.2:3\'', { details: { suggestions: ['llama3.2:3b', 'llama3.1:8b'] } }) }
    await assert.rejects(client.chat.completions.create({ model: 'llama3.2:3', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err))
      assert.equal(err.code, 'E930')
      assert.match(err.message, /llama3\.2:3b/)
      assert.match(err.message, /llama3\.1:8b/)
      return true
    })
  })

  test('a gateway error after the first delta ends the stream with an error chunk the client raises', async () => {
    api.gateway.onChat = () => chatRun((async function * (): AsyncGenerator<ChatEvent> {
      yield { type: 'delta', text: 'partial' }
      throw new AgoraError('E937', 'the answer went silent')
    })())
    const stream = await client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }], stream: true })
    const seen: string[] = []
    await assert.rejects((async () => { for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '') })(), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError, String(err))
      assert.equal(err.code, 'E937')
      return true
    })
    assert.deepEqual(seen, ['partial'])
  })

  test('a client that stops reading mid-stream aborts the request signal (the generation is cancelled)', async () => {
    let upstreamCancelled = false
    api.gateway.onChat = (_request, ctx) => chatRun((async function * (): AsyncGenerator<ChatEvent> {
      yield { type: 'delta', text: 'first' }
      // a provider that streams until cancelled
      await new Promise<void>(resolve => { ctx.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
      upstreamCancelled = true
      throw ctx.signal.reason
    })())
    const controller = new AbortController()
    const stream = await client.chat.completions.create({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: controller.signal })
    for await (const chunk of stream) {
      assert.equal(chunk.choices[0]?.delta.content, 'first')
      controller.abort()
      break
    }
    const ctx = api.gateway.chats[0]?.ctx
    await waitFor('the request signal aborted', () => ctx?.signal.aborted, { timeoutMs: 5000 })
    await waitFor('the upstream generator saw the cancel', () => upstreamCancelled, { timeoutMs: 5000 })
  })
})

describe('/v1 wire details through inject', () => {
  let api: TestApi
  before(async () => { api = await buildTestApi() })
  after(async () => { await api.close() })
  beforeEach(() => {
    api.gateway.chats.length = 0
    api.gateway.onChat = () => chatRun(scripted(['Hello']))
  })

  const chat = async (payload: unknown, headers: Record<string, string> = {}): Promise<ReturnType<TestApi['app']['inject']> extends Promise<infer R> ? R : never> =>
    await api.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...host, ...headers }, payload: payload as Record<string, unknown> })

  test('a body without messages is 400 naming the field, in OpenAI\'s error shape', async () => {
    const res = await chat({ model: 'llama3.2:3b' })
    assert.equal(res.statusCode, 400)
    const { error } = res.json()
    assert.equal(error.type, 'invalid_request_error')
    assert.equal(error.param, 'messages')
    assert.equal(error.code, 'E961')
    assert.match(error.message, /messages/)
    const badRole = await chat({ model: 'm', messages: [{ role: 'wizard', content: 'x' }] })
    assert.equal(badRole.json().error.param, 'messages.0.role')
    assert.equal(api.gateway.chats.length, 0, 'nothing reached the gateway')
  })

  test('a field that takes one of several shapes says which, not only \'Invalid input\'', async () => {
    const stop = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b', 'c', 'd', 'e'] })
    assert.equal(stop.json().error.param, 'stop')
    assert.match(stop.json().error.message, /at most 4 strings/)
    const input = await api.app.inject({ method: 'POST', url: '/v1/embeddings', headers: host, payload: { model: 'e', input: 5 } })
    assert.equal(input.json().error.param, 'input')
    assert.match(input.json().error.message, /an array of 1 to 2048 strings/)
  })

  test('unreadable JSON is 400 in OpenAI\'s shape', async () => {
    const res = await api.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { ...host, 'content-type': 'application/json' }, payload: '{nope' })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'E961')
  })

  test('n > 1 (streamed or not) is 400 E962 naming n', async () => {
    for (const stream of [true, false]) {
      const res = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2, stream })
      assert.equal(res.statusCode, 400)
      assert.equal(res.json().error.param, 'n')
      assert.equal(res.json().error.code, 'E962')
    }
  })

  test('options no engine is asked for are a 400 naming each, never dropped in silence; their neutral values pass', async () => {
    const before = api.gateway.chats.length
    for (const [extra, param, code] of [
      [{ functions: [{ name: 'f' }] }, 'functions', 'E962'],
      [{ logit_bias: { 50256: -100 } }, 'logit_bias', 'E962'],
      [{ presence_penalty: 0.5 }, 'presence_penalty', 'E962'],
      [{ frequency_penalty: -1 }, 'frequency_penalty', 'E962'],
      [{ top_logprobs: 2 }, 'top_logprobs', 'E961'],
      [{ tool_choice: 'required' }, 'tool_choice', 'E961'],
      [{ tools: [{ type: 'retrieval' }] }, 'tools.0.type', 'E961'],
      [{ tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools.0.function.name', 'E961'],
      [{ response_format: { type: 'xml' } }, 'response_format.type', 'E961']
    ] as const) {
      const res = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], ...extra })
      assert.equal(res.statusCode, 400, param)
      assert.equal(res.json().error.code, code, param)
      assert.equal(res.json().error.param, param)
    }
    assert.equal(api.gateway.chats.length, before, 'none reached the gateway')
    const neutral = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'text' }, logprobs: false, presence_penalty: 0, frequency_penalty: 0, tool_choice: 'none' })
    assert.equal(neutral.statusCode, 200)
  })

  test('tools, tool_choice, response_format and logprobs reach the gateway as sent; tool turns keep their calls', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'the weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]
    const history = [
      { role: 'user', content: 'weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"c":3}' }
    ]
    const res = await chat({ model: 'm', messages: history, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, logprobs: true, top_logprobs: 2 })
    assert.equal(res.statusCode, 200)
    const sent = api.gateway.chats.at(-1)?.request
    assert.deepEqual(sent?.tools, tools)
    assert.deepEqual(sent?.tool_choice, { type: 'function', function: { name: 'get_weather' } })
    assert.deepEqual([sent?.logprobs, sent?.top_logprobs], [true, 2])
    assert.deepEqual(sent?.messages[1]?.tool_calls, history[1]?.tool_calls)
    assert.equal(sent?.messages[2]?.tool_call_id, 'call_1')
    const schema = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } }
    assert.equal((await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], response_format: schema })).statusCode, 200)
    assert.deepEqual(api.gateway.chats.at(-1)?.request.response_format, schema)
  })

  test('image content and token-array embeddings are refused as unsupported', async () => {
    const image = await chat({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })
    assert.equal(image.statusCode, 400)
    assert.equal(image.json().error.param, 'messages.0.content.0')
    const textless = await chat({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text' }] }] })
    assert.equal(textless.statusCode, 400)
    assert.equal(textless.json().error.code, 'E961', 'a text part without its text is invalid, not an unsupported kind')
    assert.equal(textless.json().error.param, 'messages.0.content.0.text')
    const tokens = await api.app.inject({ method: 'POST', url: '/v1/embeddings', headers: host, payload: { model: 'e', input: [[1, 2, 3]] } })
    assert.equal(tokens.statusCode, 400)
    assert.equal(tokens.json().error.code, 'E962')
    assert.equal(tokens.json().error.param, 'input')
  })

  test('X-Agora-Target, X-Agora-Max-Price and X-Agora-Strategy reach the request context', async () => {
    const res = await chat({ model: `llama3.2:3b@${PEER}`, messages: [{ role: 'user', content: 'x' }] }, { 'x-agora-target': PEER, 'x-agora-max-price': '2.5', 'x-agora-strategy': 'load-balance' })
    assert.equal(res.statusCode, 200)
    const sent = api.gateway.chats[0]
    assert.equal(sent?.request.model, `llama3.2:3b@${PEER}`, 'model@peer is passed through for the gateway to parse')
    assert.equal(sent?.ctx.target, PEER)
    assert.equal(sent?.ctx.maxPrice, 2_500_000, 'credits in the header, micro-credits to the gateway')
    assert.equal(sent?.ctx.strategy, 'load-balance')
    for (const price of ['cheap', '-1', '0.0000001']) {
      const bad = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, { 'x-agora-max-price': price })
      assert.equal(bad.statusCode, 400)
      assert.equal(bad.json().error.code, 'E1100', price)
      assert.equal(bad.json().error.param, 'X-Agora-Max-Price')
    }
  })

  test('X-Target-Node is X-Agora-Target under another name; a malformed or conflicting target is a 400, never ignored', async () => {
    const before = api.gateway.chats.length
    const res = await chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'x' }] }, { 'x-target-node': PEER })
    assert.equal(res.statusCode, 200)
    assert.equal(api.gateway.chats[before]?.ctx.target, PEER)
    for (const [headers, param] of [
      [{ 'x-target-node': 'not-a-peer' }, 'X-Target-Node'],
      [{ 'x-agora-target': 'banana' }, 'X-Agora-Target'],
      [{ 'x-agora-target': 'local', 'x-target-node': PEER }, 'X-Target-Node']
    ] as const) {
      const bad = await chat({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'x' }] }, headers)
      assert.equal(bad.statusCode, 400, JSON.stringify(headers))
      assert.equal(bad.json().error.code, 'E961')
      assert.equal(bad.json().error.param, param)
    }
    assert.equal(api.gateway.chats.length, before + 1, 'nothing bad reached the gateway')
  })

  test('a peer over its rate limit is 429 with Retry-After in whole seconds', async () => {
    api.gateway.onChat = () => { throw new AgoraError('E904', 'too many requests to the peer', { details: { retryAfterMs: 1200 } }) }
    const res = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
    assert.equal(res.statusCode, 429)
    assert.equal(res.headers['retry-after'], '2')
    assert.equal(res.json().error.type, 'rate_limit_error')
    assert.equal(res.json().error.code, 'E904')
  })

  test('a provider that closes mid-stream or sends garbage gets a clean error event, then the response ends', async () => {
    const cases: Array<[string, () => AsyncGenerator<ChatEvent>, string]> = [
      ['closed without done', async function * () { yield { type: 'delta', text: 'cut' } }, 'E964'],
      ['garbage', async function * () { yield { type: 'delta', text: 'ok' }; throw new SyntaxError('Unexpected token < in JSON') }, 'E964']
    ]
    for (const [name, events, code] of cases) {
      api.gateway.onChat = () => chatRun(events())
      const res = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true })
      assert.equal(res.statusCode, 200, name)
      assert.match(res.headers['content-type'] as string, /text\/event-stream/)
      const data = sseData(res.body)
      assert.equal(JSON.parse(data[0] as string).choices[0].delta.role, 'assistant', name)
      const last = JSON.parse(data.at(-1) as string)
      assert.equal(last.error.code, code, name)
      assert.ok(!data.includes('[DONE]'), name)
    }
  })

  test('a completed stream ends with a usage chunk (empty choices) and [DONE]', async () => {
    const res = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true })
    const data = sseData(res.body)
    assert.equal(res.headers['x-agora-server'], 'local')
    assert.equal(data.at(-1), '[DONE]')
    const usage = JSON.parse(data.at(-2) as string)
    assert.deepEqual(usage.choices, [])
    assert.equal(usage.usage.total_tokens, 8)
    assert.equal(JSON.parse(data.at(-3) as string).choices[0].finish_reason, 'stop')
  })

  test('the gateway failing before the stream starts is a plain HTTP error', async () => {
    api.gateway.onChat = () => { throw new AgoraError('E933', 'every candidate failed') }
    const res = await chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true })
    assert.equal(res.statusCode, 502)
    assert.equal(res.json().error.code, 'E933')
    assert.equal(res.json().error.type, 'server_error')
  })

  test('an unknown /v1 route is 404 in OpenAI\'s shape; the Host guard still applies', async () => {
    const missing = await api.app.inject({ url: '/v1/nope', headers: host })
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json().error.code, 'E503')
    const rebinding = await api.app.inject({ url: '/v1/models', headers: { host: 'evil.example.com' } })
    assert.equal(rebinding.statusCode, 403)
    assert.equal(rebinding.json().error.code, 'E501')
  })
})
