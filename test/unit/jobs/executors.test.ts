import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AgoraError } from '../../../src/errors.ts'
import { estimatePromptTokens } from '../../../src/gateway/access/index.ts'
import { WinkEngine, WINK_EMBED_MODEL } from '../../../src/providers/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import {
  EXECUTORS, executorTable, parseTask, reduceCapacity, textChunkExecutor, textEmbedExecutor, textEntitiesExecutor,
  textSentimentExecutor, llmMapExecutor, llmReduceExecutor, batchChatExecutor, debugNoopExecutor, debugSleepExecutor,
  type AnyExecutor
} from '../../../src/jobs/executors/index.ts'
import { isCode } from '../../harness/checks.ts'
import { checkResult } from '../../../src/jobs/dispatch/verify.ts'
import { writeEmbeddingsFixture } from '../providers/wink-fixture.ts'
import { fakeContext, markers, userText } from './plan-fixtures.ts'

/** Runs an executor as a worker would: input and params checked first. */
async function run (executor: AnyExecutor, input: unknown, params: unknown, context = fakeContext()): Promise<unknown> {
  const parsed = parseTask(executor, input, params)
  const output: unknown = await executor.run(parsed.input, parsed.params, context)
  return executor.output.parse(output)
}

describe('executor table', () => {
  test('one executor per type; debug ones only when enabled', () => {
    const types = EXECUTORS.map(e => e.type)
    assert.equal(new Set(types).size, types.length)
    assert.deepEqual([...executorTable({ debugTasks: false }).keys()].sort(),
      ['batch.chat', 'llm.map', 'llm.reduce', 'text.chunk', 'text.embed', 'text.entities', 'text.sentiment'])
    assert.deepEqual([...executorTable({ debugTasks: true }).keys()].filter(t => t.startsWith('debug.')).sort(), ['debug.noop', 'debug.sleep'])
  })

  test('models(params): the embedding or chat model, none for wink-only and debug types', () => {
    const models = (e: AnyExecutor, params: unknown): string[] => e.models?.(e.params.parse(params)) ?? []
    assert.deepEqual(models(textEmbedExecutor, {}), [WINK_EMBED_MODEL])
    assert.deepEqual(models(textEmbedExecutor, { model: 'nomic-embed-text' }), ['nomic-embed-text'])
    assert.deepEqual(models(llmMapExecutor, { model: 'llama3', prompt: '{{input}}' }), ['llama3'])
    assert.deepEqual(models(llmReduceExecutor, { model: 'qwen', prompt: '{{input}}' }), ['qwen'])
    assert.deepEqual(models(batchChatExecutor, { model: 'phi' }), ['phi'])
    for (const e of [textChunkExecutor, textSentimentExecutor, textEntitiesExecutor, debugNoopExecutor, debugSleepExecutor]) assert.deepEqual(models(e, {}), [])
  })
})

describe('schemas name the field at fault (E1006)', () => {
  const chunk = { text: 'Hello.', start: 0, end: 6 }
  const cases: Array<[AnyExecutor, unknown, unknown, string]> = [
    [textChunkExecutor, { text: 'Hi.' }, { chunkChars: 0 }, 'params.chunkChars'],
    [textChunkExecutor, { text: 'Hi.' }, { chunkChars: 100, overlapChars: 100 }, 'params.overlapChars'],
    [textChunkExecutor, { text: 'Hi.' }, { chunkSize: 100 }, 'params.chunkSize'],
    [textChunkExecutor, { text: 42 }, {}, 'input.text'],
    [textEmbedExecutor, { chunks: [{ ...chunk, start: -1 }] }, {}, 'input.chunks.0.start'],
    [textEmbedExecutor, { chunks: [chunk] }, { model: '' }, 'params.model'],
    [textEmbedExecutor, { chunks: [{ ...chunk, end: 3, start: 5 }] }, {}, 'input.chunks.0.end'],
    [textSentimentExecutor, { chunks: [] }, {}, 'input.chunks'],
    [textEntitiesExecutor, { chunks: [chunk], extra: true }, {}, 'input.extra'],
    [llmMapExecutor, { items: ['a'] }, { prompt: '{{input}}' }, 'params.model'],
    [llmMapExecutor, { items: ['a'] }, { model: 'm', prompt: 'no placeholder' }, 'params.prompt'],
    [llmMapExecutor, { items: ['a'] }, { model: 'm', prompt: '{{input}}', temperature: 3 }, 'params.temperature'],
    [llmMapExecutor, { items: [1] }, { model: 'm', prompt: '{{input}}' }, 'input.items.0'],
    [llmReduceExecutor, { texts: ['a'] }, { model: 'm', prompt: '{{input}}', maxTokens: 512, contextTokens: 256 }, 'params.contextTokens'],
    [llmReduceExecutor, { texts: [] }, { model: 'm', prompt: '{{input}}' }, 'input.texts'],
    [batchChatExecutor, { prompts: [{ messages: [{ role: 'bot', content: 'x' }] }] }, { model: 'm' }, 'input.prompts.0'],
    [batchChatExecutor, { prompts: ['x'] }, { model: 'm', maxTokens: 0 }, 'params.maxTokens'],
    [debugSleepExecutor, null, { ms: 600_001 }, 'params.ms'],
    [debugNoopExecutor, null, { x: 1 }, 'params.x']
  ]
  for (const [executor, input, params, field] of cases) {
    test(`${executor.type}: ${field}`, () => {
      assert.throws(() => parseTask(executor, input, params), (err: unknown) => {
        isCode('E1006')(err)
        assert.ok((err as AgoraError).what.includes(field), `${(err as AgoraError).what} names ${field}`)
        return true
      })
    })
  }

  test('a prompt without {{input}} says so', () => {
    assert.throws(() => parseTask(llmMapExecutor, { items: ['a'] }, { model: 'm', prompt: 'x' }), (err: unknown) => /\{\{input\}\}/.test((err as AgoraError).why ?? ''))
  })

  test('defaults are filled in', () => {
    assert.deepEqual(parseTask(textChunkExecutor, { text: 'a' }, {}).params, { chunkChars: 1000, overlapChars: 0, offset: 0 })
    assert.deepEqual(parseTask(llmReduceExecutor, { texts: ['a'] }, { model: 'm', prompt: '{{input}}' }).params,
      { model: 'm', prompt: '{{input}}', maxTokens: 256, temperature: 0, contextTokens: 4096 })
  })
})

describe('text.chunk', () => {
  test('offsets relative to the input, moved by offset; progress reaches 1', async () => {
    const text = 'First sentence here. Second one follows. Third is the last one.'
    const context = fakeContext()
    const out = await run(textChunkExecutor, { text }, { chunkChars: 45, offset: 1000 }, context) as { chunks: Array<{ start: number, end: number }> }
    assert.ok(out.chunks.length >= 2)
    assert.equal(out.chunks[0]?.start, 1000)
    assert.equal(out.chunks.at(-1)?.end, 1000 + text.length)
    for (const c of out.chunks) assert.ok(c.end - c.start <= 45)
    assert.equal(context.progressed.at(-1), 1)
  })
})

describe('with the real wink engine (fixture embeddings)', () => {
  let dir: string
  let engine: WinkEngine
  let context: ReturnType<typeof fakeContext>

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agora-'))
    const fixture = writeEmbeddingsFixture(dir)
    engine = new WinkEngine({ logger: silentLogger() }, { cacheDir: join(dir, 'models'), sourcePath: fixture.path })
    context = fakeContext({
      wink: { chunk: engine.chunk.bind(engine), sentiment: engine.sentiment.bind(engine), entities: engine.entities.bind(engine) },
      embed: async (model, texts, options) => {
        assert.equal(model, WINK_EMBED_MODEL)
        return (await engine.embed(texts, options)).vectors.map(v => Array.from(v))
      }
    })
  })
  after(async () => {
    await engine.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('text.embed: deterministic, unit-length vectors, offsets carried through', async () => {
    const chunks = [
      { text: 'The king and the queen.', start: 10, end: 33 },
      { text: 'A good movie, a bad fox.', start: 40, end: 64 },
      { text: 'banana', start: 70, end: 76 }
    ]
    type Out = { model: string, dimensions: number, vectors: number[][], chunks: Array<{ start: number, end: number }> }
    const a = await run(textEmbedExecutor, { chunks }, {}, context) as Out
    const b = await run(textEmbedExecutor, { chunks }, {}, context) as Out
    assert.deepEqual(a, b)
    assert.equal(a.model, WINK_EMBED_MODEL)
    assert.equal(a.dimensions, 100)
    assert.deepEqual(a.chunks, chunks.map(c => ({ start: c.start, end: c.end })))
    for (const v of a.vectors) {
      assert.equal(v.length, 100)
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5, 'unit length')
    }
    assert.notDeepEqual(a.vectors[0], a.vectors[1])
  })

  test('text.sentiment: per chunk and sentence, offsets in document coordinates', async () => {
    const doc = 'Ignore this preamble. I love this wonderful movie. This is a terrible, awful day.'
    const start = doc.indexOf('I love')
    const chunk = { text: doc.slice(start), start, end: doc.length }
    const out = await run(textSentimentExecutor, { chunks: [chunk] }, {}, context) as { chunks: Array<{ start: number, score: number, sentences: Array<{ start: number, end: number, score: number }> }> }
    const [c] = out.chunks
    assert.ok(c !== undefined)
    assert.equal(c.sentences.length, 2)
    assert.ok(doc.slice(c.sentences[0]?.start, c.sentences[0]?.end).startsWith('I love'))
    assert.ok(doc.slice(c.sentences[1]?.start, c.sentences[1]?.end).startsWith('This is a terrible'))
    assert.ok((c.sentences[0]?.score ?? 0) > 0 && (c.sentences[1]?.score ?? 0) < 0)
  })

  test('text.entities: offsets in document coordinates (value = document slice)', async () => {
    const doc = 'Intro text. Write to alice@example.org by 12 March 2024, it costs $12.50.'
    const start = doc.indexOf('Write')
    const out = await run(textEntitiesExecutor, { chunks: [{ text: doc.slice(start), start, end: doc.length }] }, {}, context) as { chunks: Array<{ entities: Array<{ value: string, type: string, start: number, end: number }> }> }
    const entities = out.chunks[0]?.entities ?? []
    assert.ok(entities.some(e => e.type === 'EMAIL'))
    for (const e of entities) assert.equal(doc.slice(e.start, e.end), e.value)
  })
})

describe('llm.map and batch.chat', () => {
  test('llm.map: one answer per item in order, template filled, system and sampling passed, usage summed', async () => {
    const context = fakeContext()
    const out = await run(llmMapExecutor, { items: ['S1 first', 'S2 second $& $1', 'S3'] }, { model: 'm', prompt: 'Tag: {{input}}', system: 'be brief', maxTokens: 32 }, context) as { outputs: string[], usage: { promptTokens: number, completionTokens: number } }
    assert.deepEqual(out.outputs, ['m: S1', 'm: S2', 'm: S3'])
    assert.equal(userText(context.requests[1] as never), 'Tag: S2 second $& $1', 'no $ patterns in the template fill')
    assert.deepEqual(context.requests[0]?.messages[0], { role: 'system', content: 'be brief' })
    assert.equal(context.requests[0]?.max_tokens, 32)
    assert.equal(context.requests[0]?.temperature, 0)
    assert.equal(out.usage.promptTokens, context.requests.reduce((n, r) => n + estimatePromptTokens(r), 0))
    assert.deepEqual(context.progressed, [0, 1 / 3, 2 / 3, 1])
  })

  test('batch.chat: string and message prompts; the system message goes first unless the prompt has one', async () => {
    const context = fakeContext()
    const prompts = ['S1 plain', { messages: [{ role: 'user', content: 'S2 chat' }] }, { messages: [{ role: 'system', content: 'own' }, { role: 'user', content: 'S3' }] }]
    const out = await run(batchChatExecutor, { prompts }, { model: 'm', system: 'sys' }, context) as { answers: Array<{ text: string }> }
    assert.deepEqual(out.answers.map(a => a.text), ['m: S1', 'm: S2', 'm: S3'])
    assert.deepEqual(context.requests.map(r => r.messages[0]?.content), ['sys', 'sys', 'own'])
    assert.equal(context.requests[2]?.messages.length, 2)
  })
})

describe('llm.reduce', () => {
  const params = { model: 'm', prompt: 'Combine:\n{{input}}', maxTokens: 64, contextTokens: 512 }

  test('texts that fit: one call with the texts joined by blank lines', async () => {
    const context = fakeContext()
    const out = await run(llmReduceExecutor, { texts: ['T1 a', 'T2 b'] }, params, context) as { text: string }
    assert.equal(context.requests.length, 1)
    assert.equal(userText(context.requests[0] as never), 'Combine:\nT1 a\n\nT2 b')
    assert.equal(out.text, 'm: T1 T2')
  })

  test('texts beyond the context: groups that fit, then their answers, until one; nothing lost, every prompt fits', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `T${i} ${'filler words '.repeat(30)}`)
    const context = fakeContext({
      chat: request => {
        assert.ok(estimatePromptTokens(request) <= params.contextTokens - params.maxTokens, `prompt of ${estimatePromptTokens(request)} tokens`)
        return markers(userText(request)).join(' ')
      }
    })
    const out = await run(llmReduceExecutor, { texts }, params, context) as { text: string, usage: { promptTokens: number } }
    assert.deepEqual(markers(out.text), texts.map((_, i) => `T${i}`))
    assert.ok(context.requests.length > 5, `${context.requests.length} calls`)
    assert.equal(out.usage.promptTokens, context.requests.reduce((n, r) => n + estimatePromptTokens(r), 0))
    assert.equal(context.progressed.at(-1), 1)
  })

  test('recursion over several rounds when answers still do not fit together', async () => {
    const texts = Array.from({ length: 30 }, (_, i) => `T${i} ${'x '.repeat(700)}`)
    // every text fills a prompt alone; answers of ~a quarter of a prompt: four fit per call, so it takes rounds
    const capacity = reduceCapacity({ ...params, system: undefined })
    const context = fakeContext({ chat: request => `${markers(userText(request)).join(' ')} ${'y'.repeat(Math.floor(capacity / 3) - 200)}` })
    const out = await run(llmReduceExecutor, { texts }, params, context) as { text: string }
    assert.deepEqual(markers(out.text), texts.map((_, i) => `T${i}`))
    // 30 texts → 30 answers → 8 → 2 → 1
    assert.equal(context.requests.length, 30 + 8 + 2 + 1)
  })

  test('one text too long for any prompt is cut to fit', async () => {
    const context = fakeContext({ chat: request => `${userText(request).length}` })
    const out = await run(llmReduceExecutor, { texts: ['z'.repeat(50_000)] }, params, context) as { text: string }
    assert.equal(context.requests.length, 1)
    assert.ok(estimatePromptTokens(context.requests[0] as never) <= params.contextTokens - params.maxTokens)
    assert.ok(Number(out.text) < 50_000)
  })

  test('E1007 when answers never shrink, or the template leaves no room', async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `T${i} ${'w '.repeat(600)}`)
    const echo = fakeContext({ chat: request => userText(request) + ' and more' })
    await assert.rejects(run(llmReduceExecutor, { texts }, params, echo), isCode('E1007'))
    await assert.rejects(run(llmReduceExecutor, { texts: ['a'] }, { ...params, prompt: `${'p'.repeat(4000)}{{input}}` }), isCode('E1007'))
  })
})

describe('cancellation', () => {
  const hangingChat = (): Promise<string> => new Promise<string>(() => {})

  test('an abort stops llm.map, llm.reduce and batch.chat at once, even when the model ignores the signal', async () => {
    for (const [executor, input, params] of [
      [llmMapExecutor, { items: ['a', 'b'] }, { model: 'm', prompt: '{{input}}' }],
      [llmReduceExecutor, { texts: ['a', 'b'] }, { model: 'm', prompt: '{{input}}' }],
      [batchChatExecutor, { prompts: ['a', 'b'] }, { model: 'm' }]
    ] as const) {
      const controller = new AbortController()
      const context = fakeContext({ chat: hangingChat, signal: controller.signal })
      const started = performance.now()
      setTimeout(() => controller.abort(), 20)
      await assert.rejects(run(executor, input, params, context), isCode('E1005'))
      assert.ok(performance.now() - started < 1000)
      assert.equal(context.requests.length, 1, `${executor.type} made no call after the abort`)
    }
  })

  test('an already aborted signal makes no call; an AgoraError reason is passed on', async () => {
    const controller = new AbortController()
    controller.abort(new AgoraError('E1043', 'too slow'))
    const context = fakeContext({ signal: controller.signal })
    await assert.rejects(run(llmMapExecutor, { items: ['a'] }, { model: 'm', prompt: '{{input}}' }, context), isCode('E1043'))
    assert.equal(context.requests.length, 0)
  })

  test('debug.sleep stops when aborted', async () => {
    const controller = new AbortController()
    const started = performance.now()
    setTimeout(() => controller.abort(), 30)
    await assert.rejects(run(debugSleepExecutor, null, { ms: 60_000 }, fakeContext({ signal: controller.signal })), isCode('E1005'))
    assert.ok(performance.now() - started < 1000)
  })
})

describe('debug executors', () => {
  test('debug.sleep sleeps about ms, reporting rising progress up to 1', async () => {
    const context = fakeContext()
    const started = performance.now()
    assert.deepEqual(await run(debugSleepExecutor, null, { ms: 120 }, context), { slept: 120 })
    assert.ok(performance.now() - started >= 115)
    assert.ok(context.progressed.length >= 5, `${context.progressed.length} reports`)
    assert.deepEqual([...context.progressed].sort((a, b) => a - b), context.progressed)
    assert.equal(context.progressed.at(-1), 1)
  })

  test('debug.sleep with hold sleeps until cancelled, whatever ms says', async () => {
    const controller = new AbortController()
    const context = fakeContext({ signal: controller.signal })
    let ended = false
    const running = run(debugSleepExecutor, null, { ms: 0, hold: true }, context).finally(() => { ended = true })
    running.catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(ended, false, 'still held after ms')
    assert.deepEqual(context.progressed, [0])
    controller.abort()
    await assert.rejects(running, isCode('E1005'))
  })

  test('debug.noop echoes its input', async () => {
    assert.deepEqual(await run(debugNoopExecutor, { index: 3 }, {}), { ok: true, echo: { index: 3 } })
  })
})

describe('a result must answer its input (checked by the coordinator with the output schema)', () => {
  const chunks = [{ text: 'One.', start: 0, end: 4 }, { text: 'Two.', start: 5, end: 9 }]
  const usage = { promptTokens: 1, completionTokens: 1 }

  test('one answer, output or span per prompt, item or chunk; a result that leaves one out or moves one is named', () => {
    const prompts = ['a', 'b']
    const chat = { model: 'm', maxTokens: 10, temperature: 0 }
    assert.equal(batchChatExecutor.mismatch?.({ prompts }, chat, { answers: [{ text: 'x', usage }, { text: 'y', usage }] }), undefined)
    assert.equal(batchChatExecutor.mismatch?.({ prompts }, chat, { answers: [{ text: 'y', usage }] }), '1 answers for 2 asked')
    assert.equal(llmMapExecutor.mismatch?.({ items: ['a', 'b', 'c'] }, { ...chat, prompt: 'Say {{input}}' }, { outputs: ['x', 'y'], usage }), '2 outputs for 3 asked')
    const spans = chunks.map(c => ({ start: c.start, end: c.end }))
    assert.equal(textEmbedExecutor.mismatch?.({ chunks }, { model: 'm' }, { model: 'm', dimensions: 1, vectors: [[1], [2]], chunks: spans }), undefined)
    assert.equal(textEmbedExecutor.mismatch?.({ chunks }, { model: 'm' }, { model: 'm', dimensions: 1, vectors: [[2]], chunks: spans.slice(1) }), '1 results for 2 chunks')
    assert.equal(textSentimentExecutor.mismatch?.({ chunks }, {}, { chunks: [{ start: 0, end: 4, score: 0, sentences: [] }, { start: 6, end: 9, score: 0, sentences: [] }] }), 'result 1 is for 6..9, the chunk is 5..9')
    assert.equal(textEntitiesExecutor.mismatch?.({ chunks }, {}, { chunks: spans.map(s => ({ ...s, entities: [] })) }), undefined)
  })

  test('the dispatcher\'s check turns a mismatch into E1045 against the worker', () => {
    const prompts = [{ messages: [{ role: 'user', content: 'a' }] }, { messages: [{ role: 'user', content: 'b' }] }]
    const assignment = { key: 'c/j/s', jobId: 'j', subtaskId: 's', attempt: 1, type: batchChatExecutor.type, params: { model: 'm' }, input: { prompts } }
    assert.throws(() => checkResult({ worker: 'w', coordinator: 'c', assignment, executor: batchChatExecutor, result: { answers: [{ text: 'only one', usage }] }, receipt: 'x' }),
      (err: unknown) => isCode('E1045')(err) && /does not answer its input/.test((err as AgoraError).what) && (err as AgoraError).why === '1 answers for 2 asked')
  })
})
