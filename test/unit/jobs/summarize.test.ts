import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { CHARS_PER_TOKEN } from '../../../src/gateway/access/index.ts'
import { effectiveFanIn, parseJobParams, planJob, type PlanInput, type PlannedSubtask } from '../../../src/jobs/planner/index.ts'
import { jobSpecSchema } from '../../../src/jobs/types.ts'
import type { SummarizeParams } from '../../../src/jobs/planner/summarize.ts'
import { isCode } from '../../harness/checks.ts'
import { document, fakeContext, markers, pureChunk, pureTools, runPlan, userText } from './plan-fixtures.ts'

async function plan (params: Record<string, unknown>, input: PlanInput) {
  const spec = jobSpecSchema.parse({ type: 'summarize', params, input })
  return await planJob(spec, input, pureTools, { debugTasks: false })
}

const chunksOf = (n: number): PlanInput => ({ kind: 'items', items: Array.from({ length: n }, (_, i) => `S${i} is chunk number ${i}.`) })

/** The map ids under a subtask, left to right. */
function leaves (id: string, byId: Map<string, PlannedSubtask>): string[] {
  const node = byId.get(id) as PlannedSubtask
  return node.deps.length === 0 ? [id] : node.deps.flatMap(d => leaves(d, byId))
}

/** Checks the tree's shape and returns its reduce count per level. */
function checkTree (subtasks: PlannedSubtask[], n: number, fanIn: number): number[] {
  const maps = subtasks.filter(s => s.type === 'llm.map')
  const reduces = subtasks.filter(s => s.type === 'llm.reduce')
  assert.equal(maps.length, n)
  assert.deepEqual(maps.map(m => m.id), Array.from({ length: n }, (_, i) => `map-${String(i).padStart(4, '0')}`))
  for (const r of reduces) {
    assert.match(r.id, /^reduce-\d+-\d{4}$/)
    assert.equal(r.input, null, 'bound from the deps')
    assert.ok(r.deps.length >= 2 && r.deps.length <= fanIn, `${r.id} has ${r.deps.length} children`)
  }
  const root = subtasks.at(-1) as PlannedSubtask
  const parents = new Map<string, number>()
  for (const s of subtasks) for (const d of s.deps) parents.set(d, (parents.get(d) ?? 0) + 1)
  for (const s of subtasks) assert.equal(parents.get(s.id) ?? 0, s === root ? 0 : 1, `${s.id} has one parent (the root none)`)
  const byId = new Map(subtasks.map(s => [s.id, s]))
  assert.deepEqual(leaves(root.id, byId), maps.map(m => m.id), 'every map under the root, in order')
  const levels: number[] = []
  for (const r of reduces) {
    const level = Number(r.id.split('-')[1])
    levels[level - 1] = (levels[level - 1] ?? 0) + 1
  }
  return levels
}

describe('summarize: the tree', () => {
  const fanIn = 4

  test('1 chunk: one map, no reduce; the summary is its answer', async () => {
    const job = await plan({ model: 'm', fanIn }, chunksOf(1))
    assert.deepEqual(job.subtasks.map(s => s.id), ['map-0000'])
    const { result } = await runPlan(job, fakeContext())
    assert.deepEqual(result, { summary: 'm: S0', chunks: 1, usage: (result as { usage: unknown }).usage })
  })

  test('fanIn chunks: one reduce over all maps', async () => {
    const job = await plan({ model: 'm', fanIn }, chunksOf(fanIn))
    assert.deepEqual(checkTree(job.subtasks, fanIn, fanIn), [1])
    assert.deepEqual(job.subtasks.at(-1)?.deps, ['map-0000', 'map-0001', 'map-0002', 'map-0003'])
  })

  test('fanIn + 1 chunks: two balanced reduces, then the root', async () => {
    const job = await plan({ model: 'm', fanIn }, chunksOf(fanIn + 1))
    assert.deepEqual(checkTree(job.subtasks, fanIn + 1, fanIn), [2, 1])
    assert.deepEqual(job.subtasks.filter(s => s.id.startsWith('reduce-1-')).map(s => s.deps.length), [3, 2])
    assert.deepEqual(job.subtasks.at(-1)?.deps, ['reduce-1-0000', 'reduce-1-0001'])
  })

  test('100 chunks: 25 → 7 → 2 → 1 reduces', async () => {
    const job = await plan({ model: 'm', fanIn }, chunksOf(100))
    assert.deepEqual(checkTree(job.subtasks, 100, fanIn), [25, 7, 2, 1])
  })

  test('a lone child moves up a level instead of being reduced alone', async () => {
    const job = await plan({ model: 'm', fanIn: 2 }, chunksOf(3))
    assert.deepEqual(checkTree(job.subtasks, 3, 2), [1, 1])
    assert.deepEqual(job.subtasks.at(-1)?.deps, ['reduce-1-0000', 'map-0002'])
  })

  test('the default fan-in: as many map answers as fit one reduce prompt, at least 2', () => {
    const params = (p: Record<string, unknown>): SummarizeParams => parseJobParams('summarize', { model: 'm', ...p }, { debugTasks: false }).params as SummarizeParams
    const d = params({})
    const fanIn = effectiveFanIn(d)
    assert.ok(fanIn * d.maxTokens <= d.contextTokens - d.maxTokens, `${fanIn} × ${d.maxTokens} fits ${d.contextTokens} − ${d.maxTokens}`)
    assert.ok((fanIn + 1) * d.maxTokens * CHARS_PER_TOKEN > (d.contextTokens - d.maxTokens) * CHARS_PER_TOKEN - d.reducePrompt.length, 'one more would not fit')
    assert.equal(effectiveFanIn(params({ maxTokens: 1000, contextTokens: 2500 })), 2)
    assert.equal(effectiveFanIn(params({ fanIn: 7 })), 7)
  })

  test('same text and params, same plan (resume depends on it)', async () => {
    const input: PlanInput = { kind: 'text', text: document(200) }
    assert.deepEqual((await plan({ model: 'm' }, input)).subtasks, (await plan({ model: 'm' }, input)).subtasks)
  })
})

describe('summarize: running it', () => {
  test('over a text: chunked, mapped, reduced; the summary holds every chunk\'s answer in order; usage summed', async () => {
    const doc = document(120)
    const job = await plan({ model: 'm', chunkChars: 400, fanIn: 3, mapPrompt: 'Sum up: {{input}}', reducePrompt: 'Merge: {{input}}' }, { kind: 'text', text: doc })
    const chunks = pureChunk(doc, { targetChars: 400 })
    const context = fakeContext()
    const { result } = await runPlan(job, context)
    const out = result as { summary: string, chunks: number, usage: { promptTokens: number, completionTokens: number } }
    assert.equal(out.chunks, chunks.length)
    assert.deepEqual(markers(out.summary), Array.from({ length: 120 }, (_, i) => `S${i}`))
    assert.equal(context.requests.length, job.subtasks.length)
    assert.ok(context.requests.filter(r => userText(r).startsWith('Merge: ')).length >= 2)
    const completion = context.requests.length // every answer is "m: …": at least one token each
    assert.ok(out.usage.completionTokens >= completion)
  })

  test('bind: the deps\' answers in order (map outputs and reduce texts)', async () => {
    const job = await plan({ model: 'm', fanIn: 2 }, chunksOf(3))
    const root = job.subtasks.at(-1) as PlannedSubtask
    const bound = job.planner.bind?.(root, [
      { id: 'reduce-1-0000', type: 'llm.reduce', result: { text: 'first', usage: { promptTokens: 1, completionTokens: 1 } } },
      { id: 'map-0002', type: 'llm.map', result: { outputs: ['second'], usage: { promptTokens: 1, completionTokens: 1 } } }
    ], job.params)
    assert.deepEqual(bound, { texts: ['first', 'second'] })
    assert.throws(() => job.planner.bind?.(root, [{ id: 'map-0002', type: 'llm.map', result: null }], job.params), isCode('E1008'))
  })

  test('partial: whatever exists, null where missing, no throw; the same results unpartial are E1008', async () => {
    const job = await plan({ model: 'm', fanIn: 4 }, chunksOf(10))
    const { results, result } = await runPlan(job, fakeContext(), { skip: id => id === 'map-0005' })
    const out = result as { summary: string | null, chunks: number, usage: { promptTokens: number }, missing: string[] }
    assert.equal(out.summary, null, 'the root depends on the missing map')
    assert.equal(out.chunks, 10)
    assert.ok(out.usage.promptTokens > 0, 'usage of what ran')
    assert.ok(out.missing.includes('map-0005') && out.missing.includes(job.subtasks.at(-1)?.id as string))
    assert.throws(() => job.planner.aggregate(results, job.params, false), isCode('E1008'))
    const none = job.planner.aggregate(results.map(r => ({ ...r, result: null })), job.params, true) as { summary: null, usage: { promptTokens: number } }
    assert.equal(none.summary, null)
    assert.equal(none.usage.promptTokens, 0)
  })
})
