/**
 * Stand-ins for the executors' and planners' surroundings: a sentence
 * chunker over the pure chunking rules (no NLP model), a hand-made
 * ExecutorContext whose chat answers are derived from the prompt, and a
 * tiny in-process runner (topological order, bind, run, aggregate) that
 * plays the coordinator's part without the network.
 */
import { estimatePromptTokens } from '../../../src/gateway/access/index.ts'
import { chunkUnits, packChunks, type Span } from '../../../src/providers/wink/chunker.ts'
import { executorTable, parseTask, type ExecutorContext } from '../../../src/jobs/executors/index.ts'
import { topologicalOrder, type PlanTools, type SubtaskResult } from '../../../src/jobs/planner/index.ts'
import type { PlannedJob } from '../../../src/jobs/planner/index.ts'
import type { ChatRequest } from '../../../src/providers/inference.ts'
import type { ChunkOptions, TextChunk } from '../../../src/providers/wink/types.ts'

/** Sentences end at `.`, `!` or `?` followed by a space or the end; tokens are runs of non-space. */
export function pureChunk (text: string, options: ChunkOptions): TextChunk[] {
  const tokens: Span[] = []
  for (const m of text.matchAll(/\S+/g)) tokens.push({ start: m.index, end: m.index + m[0].length })
  const sentences: Span[] = []
  let start: number | undefined
  for (const token of tokens) {
    start ??= token.start
    if (/[.!?]$/.test(text.slice(token.start, token.end))) { sentences.push({ start, end: token.end }); start = undefined }
  }
  if (start !== undefined) sentences.push({ start, end: (tokens.at(-1) as Span).end })
  const units = chunkUnits(text, sentences, tokens, options.targetChars)
  return packChunks(units, { targetChars: options.targetChars, overlapChars: options.overlapChars ?? 0 })
    .map(s => ({ text: text.slice(s.start, s.end), start: s.start, end: s.end }))
}

export const pureTools: PlanTools = { chunk: async (text, options) => pureChunk(text, options) }

/** A document of `n` numbered sentences, each about 60 characters. */
export function document (n: number): string {
  return Array.from({ length: n }, (_, i) => `Sentence S${i} talks about topic ${i % 7} at some length here.`).join(' ')
}

export type ChatFn = (request: ChatRequest, signal: AbortSignal) => string | Promise<string>

export interface FakeContext extends ExecutorContext {
  requests: ChatRequest[]
  progressed: number[]
}

/** The last user message of a chat request. */
export function userText (request: ChatRequest): string {
  return request.messages.filter(m => m.role === 'user').at(-1)?.content ?? ''
}

/** Every `S<n>` / `T<n>` marker in a text, in order. */
export function markers (text: string): string[] {
  return [...text.matchAll(/\b[ST]\d+\b/g)].map(m => m[0])
}

/** Default chat: `<model>: ` and the markers of the prompt, so answers show what the model saw. */
export const markerChat: ChatFn = request => `${request.model}: ${markers(userText(request)).join(' ')}`

export function fakeContext (init: {
  chat?: ChatFn
  embed?: ExecutorContext['embed']
  wink?: Partial<ExecutorContext['wink']>
  signal?: AbortSignal
} = {}): FakeContext {
  const requests: ChatRequest[] = []
  const progressed: number[] = []
  const chat = init.chat ?? markerChat
  const notWink = async (): Promise<never> => { throw new Error('no wink engine in this context') }
  return {
    signal: init.signal ?? new AbortController().signal,
    workerId: '12D3KooWtestworker',
    requests,
    progressed,
    progress: fraction => { progressed.push(fraction) },
    wink: {
      chunk: async (text, options) => pureChunk(text, options),
      embed: notWink,
      sentiment: notWink,
      entities: notWink,
      ...init.wink
    },
    chat: async (request, options) => {
      requests.push(request)
      const text = await chat(request, options.signal)
      return { text, usage: { promptTokens: estimatePromptTokens(request), completionTokens: Math.ceil(text.length / 4) } }
    },
    embed: init.embed ?? (async () => { throw new Error('no embeddings in this context') })
  }
}

/** Runs a planned job in process, as the coordinator would: each subtask after its deps, bound, checked, run. */
export async function runPlan (job: PlannedJob, context: ExecutorContext, options: { skip?: (id: string) => boolean } = {}): Promise<{ results: SubtaskResult[], result: unknown }> {
  const executors = executorTable({ debugTasks: true })
  const byId = new Map<string, SubtaskResult>()
  for (const subtask of topologicalOrder(job.subtasks)) {
    const deps = subtask.deps.map(d => byId.get(d) as SubtaskResult)
    if (options.skip?.(subtask.id) === true || deps.some(d => d.result === null)) {
      byId.set(subtask.id, { id: subtask.id, type: subtask.type, result: null })
      continue
    }
    const rawInput = subtask.input ?? job.planner.bind?.(subtask, deps, job.params)
    const executor = executors.get(subtask.type)
    if (executor === undefined) throw new Error(`no executor for ${subtask.type}`)
    const { input, params } = parseTask(executor, rawInput, subtask.params)
    const output: unknown = await executor.run(input, params, context)
    byId.set(subtask.id, { id: subtask.id, type: subtask.type, result: executor.output.parse(output) })
  }
  const results = job.subtasks.map(s => byId.get(s.id) as SubtaskResult)
  const partial = results.some(r => r.result === null)
  return { results, result: job.planner.aggregate(results, job.params, partial) }
}
