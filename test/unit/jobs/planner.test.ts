import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import type { AgoraError } from '../../../src/errors.ts'
import { EXECUTORS } from '../../../src/jobs/executors/index.ts'
import {
  PLANNERS, PLANNER_LIMITS, parseJobParams, planJob, plannerTable, topologicalOrder, validateDag,
  type PlanInput, type PlannedSubtask
} from '../../../src/jobs/planner/index.ts'
import { jobSpecSchema, type JobSpec } from '../../../src/jobs/types.ts'
import { isCode } from '../../harness/checks.ts'
import { document, fakeContext, pureChunk, pureTools, runPlan } from './plan-fixtures.ts'

const text = (t: string): PlanInput => ({ kind: 'text', text: t })
const items = (i: unknown[]): PlanInput => ({ kind: 'items', items: i })

function spec (type: string, params: Record<string, unknown>, input: PlanInput): JobSpec {
  return jobSpecSchema.parse({ type, params, input })
}

async function plan (type: string, params: Record<string, unknown>, input: PlanInput, options: { debugTasks?: boolean, maxSubtasks?: number } = {}) {
  return await planJob(spec(type, params, input), input, pureTools, { debugTasks: options.debugTasks ?? false, maxSubtasks: options.maxSubtasks })
}

/** Embeddings that spell out where a chunk is, so a merged result shows its order. */
const offsetEmbed = fakeContext({ embed: async (_model, texts) => texts.map(t => [t.length, 1]) })

describe('planner table and params', () => {
  test('every non-debug task type is a job type, plus summarize; debug ones only when enabled', () => {
    const off = [...plannerTable({ debugTasks: false }).keys()].sort()
    const tasks = EXECUTORS.filter(e => e.debug !== true).map(e => e.type)
    assert.deepEqual(off, [...tasks, 'summarize'].sort())
    assert.deepEqual([...plannerTable({ debugTasks: true }).keys()].sort(), [...off, 'debug.noop', 'debug.sleep'].sort())
    assert.equal(new Set(PLANNERS.map(p => p.type)).size, PLANNERS.length)
  })

  test('E1000 for an unknown type lists the known ones (debug ones only when enabled)', () => {
    assert.throws(() => parseJobParams('text.translate', {}, { debugTasks: false }), (err: unknown) => {
      isCode('E1000')(err)
      assert.match((err as AgoraError).what, /text\.translate.*known: .*text\.embed.*summarize/)
      assert.doesNotMatch((err as AgoraError).what, /debug/)
      return true
    })
    assert.throws(() => parseJobParams('debug.noop', {}, { debugTasks: false }), isCode('E1000'))
    assert.equal(parseJobParams('debug.noop', {}, { debugTasks: true }).planner.type, 'debug.noop')
  })

  const bad: Array<[string, Record<string, unknown>, string, RegExp?]> = [
    ['text.embed', { chunkChars: 0 }, 'params.chunkChars'],
    ['text.embed', { chunkChars: 80 }, 'params.overlapChars', /less than chunkChars/],
    ['text.sentiment', { chunksPerSubtask: 1.5 }, 'params.chunksPerSubtask'],
    ['text.entities', { colour: 'red' }, 'params.colour', /Unrecognized key/],
    ['llm.map', { prompt: '{{input}}' }, 'params.model'],
    ['llm.map', { model: 'm', prompt: 'Summarize' }, 'params.prompt', /\{\{input\}\}/],
    ['llm.reduce', { model: 'm', prompt: '{{input}}', maxTokens: 9000 }, 'params.contextTokens'],
    ['batch.chat', { model: 'm', perSubtask: 0 }, 'params.perSubtask'],
    ['summarize', { model: 'm', fanIn: 1 }, 'params.fanIn'],
    ['summarize', { model: 'm', reducePrompt: `${'long '.repeat(4000)}{{input}}` }, 'params.contextTokens', /no room/],
    ['summarize', { model: 42 }, 'params.model', /expected string/],
    ['debug.noop', { count: PLANNER_LIMITS.maxDebugCount + 1 }, 'params.count']
  ]
  for (const [type, params, field, why] of bad) {
    test(`E1001 ${type}: ${field}`, () => {
      assert.throws(() => parseJobParams(type, params, { debugTasks: true }), (err: unknown) => {
        isCode('E1001')(err)
        assert.ok((err as AgoraError).what.includes(field), `"${(err as AgoraError).what}" names ${field}`)
        if (why !== undefined) assert.match((err as AgoraError).why ?? '', why)
        return true
      })
    })
  }

  test('defaults: overlap 100 for text.embed, 0 for the others; 8 chunks per subtask', () => {
    assert.deepEqual(parseJobParams('text.embed', {}, { debugTasks: false }).params,
      { model: 'agora/wink-embed-100d', chunkChars: 1000, overlapChars: 100, chunksPerSubtask: 8 })
    assert.deepEqual(parseJobParams('text.sentiment', {}, { debugTasks: false }).params, { chunkChars: 1000, overlapChars: 0, chunksPerSubtask: 8 })
  })
})

describe('planJob: bad input', () => {
  test('E1004 for a blank text or no items', async () => {
    await assert.rejects(plan('text.embed', {}, text('  \n ')), isCode('E1004'))
    await assert.rejects(plan('batch.chat', { model: 'm' }, items([])), isCode('E1004'))
    await assert.rejects(plan('summarize', { model: 'm' }, text('')), isCode('E1004'))
  })

  test('E1009 for the wrong kind of input, or an item the task type cannot take (named)', async () => {
    await assert.rejects(plan('text.embed', {}, items(['a'])), isCode('E1009'))
    await assert.rejects(plan('batch.chat', { model: 'm' }, text('hello')), isCode('E1009'))
    await assert.rejects(plan('batch.chat', { model: 'm' }, items(['fine', { messages: 'nope' }])), (err: unknown) => {
      isCode('E1009')(err)
      assert.match((err as AgoraError).what, /chat-0001.*input\.prompts\.0/)
      return true
    })
  })

  test('E1010 when the plan has more subtasks than allowed', async () => {
    await assert.rejects(plan('debug.noop', { count: 11 }, items([1]), { debugTasks: true, maxSubtasks: 10 }), isCode('E1010'))
    // and by default (docs/api.md: 100,000): a text chunked a character at a time may not plan 100,001
    const tiny = { kind: 'text' as const, text: 'a. '.repeat(100_001) }
    await assert.rejects(plan('text.embed', { chunkChars: 1, overlapChars: 0, chunksPerSubtask: 1 }, tiny), isCode('E1010'))
  })

  test('debug types take any input, even an empty one', async () => {
    assert.equal((await plan('debug.sleep', { count: 3, ms: 5 }, items([]), { debugTasks: true })).subtasks.length, 3)
  })

  test('debug.sleep holdFrom: the subtasks from that index on hold until the job ends', async () => {
    const job = await plan('debug.sleep', { count: 4, ms: 5, holdFrom: 2 }, items([]), { debugTasks: true })
    assert.deepEqual(job.subtasks.map(s => s.params.hold === true), [false, false, true, true])
  })
})

describe('DAG checks', () => {
  const node = (id: string, ...deps: string[]): PlannedSubtask => ({ id, type: 'debug.noop', params: {}, input: null, deps })

  test('E1003 on a cycle, naming its ids', () => {
    assert.throws(() => validateDag([node('a'), node('b', 'a', 'd'), node('c', 'b'), node('d', 'c'), node('e', 'd')]), (err: unknown) => {
      isCode('E1003')(err)
      const ids = (err as AgoraError).details?.ids as string[]
      assert.deepEqual(new Set(ids), new Set(['b', 'c', 'd']))
      assert.equal(ids[0], ids.at(-1), 'the cycle closes')
      assert.match((err as AgoraError).what, /cycle: .* → .*/)
      return true
    })
    assert.throws(() => validateDag([node('a', 'a')]), isCode('E1003'))
  })

  test('E1003 on an unknown dependency or a duplicate id, naming them', () => {
    assert.throws(() => validateDag([node('a'), node('b', 'zz')]), (err: unknown) => /b depends on unknown subtask zz/.test((err as AgoraError).what))
    assert.throws(() => validateDag([node('a'), node('a')]), (err: unknown) => /duplicate subtask id a/.test((err as AgoraError).what))
  })

  test('topological order: dependencies first, independent subtasks in plan order', () => {
    const order = topologicalOrder([node('r', 'x', 'y'), node('x'), node('y', 'x'), node('z')]).map(s => s.id)
    assert.deepEqual(order, ['x', 'z', 'y', 'r'])
  })

  test('a 10,000-long chain (no recursion depth limit) and a 100,000-wide fan-in (no quadratic step) check', () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => node(`n${i}`, ...(i === 0 ? [] : [`n${i - 1}`])))
    const wide = [...Array.from({ length: 100_000 }, (_, i) => node(`w${i}`)), node('root', ...Array.from({ length: 100_000 }, (_, i) => `w${i}`))]
    const started = performance.now()
    assert.deepEqual(topologicalOrder([...chain].reverse()).map(s => s.id), chain.map(s => s.id))
    validateDag(wide)
    assert.equal(topologicalOrder(wide).at(-1)?.id, 'root')
    // a hang guard (~0.4 s here; bench/planner.bench.ts measures it): a quadratic check of 100,000 would take minutes
    assert.ok(performance.now() - started < 10_000)
  })
})

describe('per-chunk job types', () => {
  const doc = document(300)

  test('text.embed: stable ids, chunksPerSubtask chunks each, text and offsets from the document, overlapping chunks', async () => {
    const a = await plan('text.embed', { chunksPerSubtask: 5 }, text(doc))
    const b = await plan('text.embed', { chunksPerSubtask: 5 }, text(doc))
    assert.deepEqual(a.subtasks, b.subtasks, 'same input and params, same plan')
    const chunks = pureChunk(doc, { targetChars: 1000, overlapChars: 100 })
    assert.equal(a.subtasks.length, Math.ceil(chunks.length / 5))
    assert.deepEqual(a.subtasks.map(s => s.id).slice(0, 3), ['embed-0000', 'embed-0001', 'embed-0002'])
    const planned = a.subtasks.flatMap(s => (s.input as { chunks: Array<{ text: string, start: number, end: number }> }).chunks)
    assert.deepEqual(planned, chunks)
    for (const c of planned) assert.equal(doc.slice(c.start, c.end), c.text)
    assert.ok(planned.some((c, i) => i > 0 && c.start < (planned[i - 1]?.end ?? 0)), 'neighbours overlap')
    assert.deepEqual(a.subtasks[0]?.params, { model: 'agora/wink-embed-100d' })
  })

  test('text.embed: the aggregate merges vectors in document order; partial keeps what exists', async () => {
    const job = await plan('text.embed', { chunksPerSubtask: 3 }, text(doc))
    const { result } = await runPlan(job, offsetEmbed)
    const merged = result as { model: string, dimensions: number, chunks: Array<{ start: number, end: number, vector: number[] }> }
    const chunks = pureChunk(doc, { targetChars: 1000, overlapChars: 100 })
    assert.equal(merged.dimensions, 2)
    assert.deepEqual(merged.chunks.map(c => [c.start, c.end]), chunks.map(c => [c.start, c.end]))
    assert.deepEqual(merged.chunks.map(c => c.vector[0]), chunks.map(c => c.end - c.start))
    const partial = await runPlan(job, offsetEmbed, { skip: id => id === 'embed-0001' })
    const p = partial.result as { chunks: unknown[], missing: string[] }
    assert.deepEqual(p.missing, ['embed-0001'])
    assert.equal(p.chunks.length, chunks.length - 3)
  })

  test('a result missing outside a partial aggregation is E1008', async () => {
    const job = await plan('text.sentiment', {}, text(doc))
    const results = job.subtasks.map(s => ({ id: s.id, type: s.type, result: null }))
    assert.throws(() => job.planner.aggregate(results, job.params, false), isCode('E1008'))
  })

  test('text.sentiment: chunks in order and a length-weighted score', async () => {
    const job = await plan('text.sentiment', {}, text(doc))
    const results = job.subtasks.map((s, i) => {
      const chunks = (s.input as { chunks: Array<{ start: number, end: number }> }).chunks
      return { id: s.id, type: s.type, result: { chunks: chunks.map(c => ({ start: c.start, end: c.end, score: i === 0 ? 1 : 0, sentences: [] })) } }
    })
    const out = job.planner.aggregate(results, job.params, false) as { chunks: Array<{ start: number, end: number }>, score: number }
    const firstLength = (job.subtasks[0]?.input as { chunks: Array<{ start: number, end: number }> }).chunks.reduce((n, c) => n + c.end - c.start, 0)
    const total = out.chunks.reduce((n, c) => n + c.end - c.start, 0)
    assert.ok(Math.abs(out.score - firstLength / total) < 1e-12)
  })

  test('text.entities: sorted by start, entities seen by two overlapping chunks kept once', async () => {
    const job = await plan('text.entities', { overlapChars: 200, chunksPerSubtask: 1 }, text(doc))
    const e = (start: number, end: number, type = 'CARDINAL'): { value: string, type: string, start: number, end: number } => ({ value: doc.slice(start, end), type, start, end })
    const results = [
      { id: 'entities-0001', type: 'text.entities', result: { chunks: [{ start: 0, end: 10, entities: [e(50, 52), e(5, 9, 'DATE')] }] } },
      { id: 'entities-0000', type: 'text.entities', result: { chunks: [{ start: 0, end: 10, entities: [e(50, 52), e(50, 51), e(5, 9)] }] } }
    ]
    const out = job.planner.aggregate(results, job.params, false) as { entities: Array<{ start: number, end: number, type: string }> }
    assert.deepEqual(out.entities.map(x => [x.start, x.end, x.type]), [[5, 9, 'CARDINAL'], [5, 9, 'DATE'], [50, 52, 'CARDINAL']])
  })
})

describe('other job types', () => {
  test('text.chunk: one subtask for a document, pieces at line breaks for one too long for the engine', async () => {
    const short = await plan('text.chunk', { chunkChars: 200 }, text(document(50)))
    assert.deepEqual(short.subtasks.map(s => [s.id, s.type]), [['chunk-0000', 'text.chunk']])
    const { result } = await runPlan(short, fakeContext())
    assert.deepEqual(result, { chunks: pureChunk(document(50), { targetChars: 200 }).map(c => ({ start: c.start, end: c.end })) })

    const line = `${document(20)}\n`
    const long = line.repeat(Math.ceil(PLANNER_LIMITS.segmentChars * 1.5 / line.length))
    const job = await plan('text.chunk', { chunkChars: 500 }, text(long))
    assert.equal(job.subtasks.length, 2)
    const offset = (job.subtasks[1]?.params as { offset: number }).offset
    assert.equal(long[offset - 1], '\n', 'cut after a line break')
    const out = (await runPlan(job, fakeContext())).result as { chunks: Array<{ start: number, end: number }> }
    for (const c of out.chunks) assert.ok(/^Sentence/.test(long.slice(c.start, c.end)), 'offsets in document coordinates')
    assert.equal(out.chunks.at(-1)?.end, long.length - 1)
  })

  test('llm.map over a text: one chunk per subtask, answers in order, usage summed', async () => {
    const doc = document(40)
    const job = await plan('llm.map', { model: 'm', prompt: 'Tag {{input}}', chunkChars: 300 }, text(doc))
    const chunks = pureChunk(doc, { targetChars: 300 })
    assert.equal(job.subtasks.length, chunks.length)
    assert.equal(job.subtasks[0]?.id, 'map-0000')
    const context = fakeContext()
    const out = (await runPlan(job, context)).result as { outputs: string[], usage: { promptTokens: number, completionTokens: number } }
    assert.deepEqual(out.outputs, chunks.map(c => `m: ${[...c.text.matchAll(/S\d+/g)].map(m => m[0]).join(' ')}`))
    assert.ok(out.usage.promptTokens > 0 && out.usage.completionTokens > 0)
  })

  test('llm.map over items: itemsPerSubtask each; non-strings as JSON; partial leaves nulls', async () => {
    const job = await plan('llm.map', { model: 'm', prompt: '{{input}}', itemsPerSubtask: 2 }, items(['S1', 'S2', { id: 'S3' }, 'S4', 'S5']))
    assert.deepEqual(job.subtasks.map(s => (s.input as { items: string[] }).items), [['S1', 'S2'], ['{"id":"S3"}', 'S4'], ['S5']])
    const full = (await runPlan(job, fakeContext())).result as { outputs: string[] }
    assert.deepEqual(full.outputs, ['m: S1', 'm: S2', 'm: S3', 'm: S4', 'm: S5'])
    const partial = (await runPlan(job, fakeContext(), { skip: id => id === 'map-0001' })).result as { outputs: Array<string | null>, missing: string[] }
    assert.deepEqual(partial.outputs, ['m: S1', 'm: S2', null, null, 'm: S5'])
    assert.deepEqual(partial.missing, ['map-0001'])
  })

  test('llm.reduce: one subtask over the items', async () => {
    const job = await plan('llm.reduce', { model: 'm', prompt: 'All: {{input}}' }, items(['S1', 'S2']))
    assert.deepEqual(job.subtasks.map(s => [s.id, s.input]), [['reduce-0000', { texts: ['S1', 'S2'] }]])
    assert.equal(((await runPlan(job, fakeContext())).result as { text: string }).text, 'm: S1 S2')
  })

  test('batch.chat: perSubtask prompts each, answers in order, usage summed', async () => {
    const prompts = ['S1', { messages: [{ role: 'user', content: 'S2' }] }, 'S3']
    const job = await plan('batch.chat', { model: 'm', perSubtask: 2, system: 'short' }, items(prompts))
    assert.deepEqual(job.subtasks.map(s => s.id), ['chat-0000', 'chat-0001'])
    assert.deepEqual(job.subtasks[0]?.params, { model: 'm', maxTokens: 256, temperature: 0, system: 'short' })
    const out = (await runPlan(job, fakeContext())).result as { answers: Array<{ text: string, usage: { promptTokens: number } }>, usage: { promptTokens: number } }
    assert.deepEqual(out.answers.map(a => a.text), ['m: S1', 'm: S2', 'm: S3'])
    assert.equal(out.usage.promptTokens, out.answers.reduce((n, a) => n + a.usage.promptTokens, 0))
  })

  test('debug.noop: 10,000 subtasks plan; aggregate counts committed', async () => {
    const job = await plan('debug.noop', { count: 10_000 }, items([]), { debugTasks: true })
    assert.equal(job.subtasks.length, 10_000)
    assert.equal(new Set(job.subtasks.map(s => s.id)).size, 10_000)
    assert.equal(job.subtasks[9999]?.id, 'noop-9999')
    const results = job.subtasks.map((s, i) => ({ id: s.id, type: s.type, result: i % 2 === 0 ? { ok: true, echo: null } : null }))
    assert.deepEqual(job.planner.aggregate(results, job.params, true), { count: 10_000, committed: 5000 })
  })

  test('debug.sleep: count subtasks carrying ms', async () => {
    const job = await plan('debug.sleep', { count: 2, ms: 7 }, text('x'), { debugTasks: true })
    assert.deepEqual(job.subtasks.map(s => [s.id, s.params]), [['sleep-0000', { ms: 7 }], ['sleep-0001', { ms: 7 }]])
    assert.deepEqual((await runPlan(job, fakeContext())).result, { count: 2, committed: 2 })
  })
})
