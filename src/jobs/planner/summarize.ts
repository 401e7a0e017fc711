/**
 * `summarize`: chunk → one `map-NNNN` llm.map per chunk → a tree of
 * `reduce-L-NNNN` llm.reduce subtasks, each over at most `fanIn` children
 * of the level below (children split evenly; a lone child moves up a level
 * instead of being reduced alone). The root's answer is the summary; one
 * chunk needs no reduce at all. An items input is taken as the chunks.
 *
 * The default fan-in is the most map answers of `maxTokens` each that fit
 * one reduce prompt (`contextTokens − maxTokens`, the template taken off),
 * at least 2; the reduce executor still recurses should answers run long.
 */
import { z } from 'zod'
import { CHARS_PER_TOKEN } from '../../gateway/access/index.ts'
import {
  llmMapExecutor, llmReduceExecutor, reduceCapacity, REDUCE_SEPARATOR, type LlmMapOutput, type LlmReduceOutput
} from '../executors/index.ts'
import { chunkDocument, definePlanner, itemText, missingResult, partialMark, readResults, requireItems, requireText, subtaskId, sumUsage } from './common.ts'
import { chunkingShape, OVERLAP_BELOW_CHUNK } from './fan-out.ts'
import { PLANNER_DEFAULTS, PLANNER_LIMITS } from './constants.ts'
import { chatParams, chatShape, templateSchema } from './llm-map.ts'
import { contextTokensSchema } from './llm-reduce.ts'
import type { PlannedSubtask, SubtaskResult } from './types.ts'

export const summarizeJobParams = z.strictObject({
  ...chatShape,
  /** Longest chunk, in characters (one map call each). */
  chunkChars: z.number().int().min(1).max(100_000).default(PLANNER_DEFAULTS.summarizeChunkChars),
  /** Most characters neighbouring chunks share (whole sentences). */
  overlapChars: chunkingShape(PLANNER_DEFAULTS.overlapChars).overlapChars,
  /** The map prompt; `{{input}}` is replaced by a chunk. */
  mapPrompt: templateSchema.default(PLANNER_DEFAULTS.mapPrompt),
  /** The reduce prompt; `{{input}}` is replaced by the partial summaries, joined with blank lines. */
  reducePrompt: templateSchema.default(PLANNER_DEFAULTS.reducePrompt),
  /** The model's context window (prompt + answer), in tokens. */
  contextTokens: contextTokensSchema,
  /** Children per reduce (default: as many map answers as fit one reduce prompt). */
  fanIn: z.number().int().min(2).max(PLANNER_LIMITS.maxFanIn).optional()
}).refine(OVERLAP_BELOW_CHUNK.check, OVERLAP_BELOW_CHUNK.error)
  .refine(p => p.contextTokens > p.maxTokens, { message: 'must be more than maxTokens', path: ['contextTokens'] })
  .refine(p => p.contextTokens <= p.maxTokens || fits(p), { message: 'leaves no room for the texts once the reduce prompt, system message and maxTokens are taken off', path: ['contextTokens'] })
export type SummarizeParams = z.infer<typeof summarizeJobParams>

interface ReduceSizing {
  reducePrompt: string
  system?: string | undefined
  maxTokens: number
  contextTokens: number
}

function fits (p: ReduceSizing): boolean {
  try {
    reduceCapacity({ prompt: p.reducePrompt, system: p.system, maxTokens: p.maxTokens, contextTokens: p.contextTokens })
    return true
  } catch {
    return false
  }
}

/** `params.fanIn`, or the most answers of `maxTokens` tokens one reduce prompt holds (at least 2). */
export function effectiveFanIn (params: SummarizeParams): number {
  if (params.fanIn !== undefined) return params.fanIn
  const capacity = reduceCapacity({ prompt: params.reducePrompt, system: params.system, maxTokens: params.maxTokens, contextTokens: params.contextTokens })
  const answer = params.maxTokens * CHARS_PER_TOKEN + REDUCE_SEPARATOR.length
  return Math.min(PLANNER_LIMITS.maxFanIn, Math.max(2, Math.floor((capacity + REDUCE_SEPARATOR.length) / answer)))
}

/** The reduce levels over `leaves` (ids in order): subtasks in level order, the root last. */
export function reduceTree (leaves: readonly string[], fanIn: number, params: Record<string, unknown>): PlannedSubtask[] {
  const subtasks: PlannedSubtask[] = []
  let level = [...leaves]
  for (let depth = 1; level.length > 1; depth++) {
    const groups = Math.ceil(level.length / fanIn)
    const base = Math.floor(level.length / groups)
    const extra = level.length % groups
    const next: string[] = []
    let from = 0
    let n = 0
    for (let g = 0; g < groups; g++) {
      const deps = level.slice(from, from + base + (g < extra ? 1 : 0))
      from += deps.length
      if (deps.length === 1) {
        next.push(deps[0] as string)
        continue
      }
      const id = `reduce-${depth}-${String(n++).padStart(4, '0')}`
      subtasks.push({ id, type: llmReduceExecutor.type, params: { ...params }, input: null, deps })
      next.push(id)
    }
    level = next
  }
  return subtasks
}

/** The texts a map or reduce result contributes to its parent. */
function textsOf (dep: SubtaskResult): string[] {
  if (dep.result === null || dep.result === undefined) throw missingResult(dep.id)
  return dep.type === llmMapExecutor.type ? (dep.result as LlmMapOutput).outputs : [(dep.result as LlmReduceOutput).text]
}

export const summarizePlanner = definePlanner({
  type: 'summarize',
  description: 'Summarize a document through a chat model: chunk, summarize every chunk (llm.map), combine the summaries in a tree (llm.reduce)',
  params: summarizeJobParams,
  taskTypes: () => [llmMapExecutor.type, llmReduceExecutor.type],
  models: params => [params.model],
  async plan (input, params, tools) {
    const chunks = input.kind === 'text'
      ? (await chunkDocument('summarize', requireText('summarize', input), params, tools)).map(c => c.text)
      : requireItems('summarize', input).map(itemText)
    const chat = chatParams(params)
    const maps: PlannedSubtask[] = chunks.map((text, i) => ({
      id: subtaskId('map', i), type: llmMapExecutor.type, params: { ...chat, prompt: params.mapPrompt }, input: { items: [text] }, deps: []
    }))
    const reduces = reduceTree(maps.map(m => m.id), effectiveFanIn(params), { ...chat, prompt: params.reducePrompt, contextTokens: params.contextTokens })
    return [...maps, ...reduces]
  },
  bind (_subtask, deps) {
    return { texts: deps.flatMap(textsOf) }
  },
  aggregate (results, _params, partial) {
    const { rows, missing } = readResults<LlmMapOutput | LlmReduceOutput>(results, partial)
    const root = rows.at(-1)
    let summary: string | null = null
    if (root?.result != null) summary = root.type === llmMapExecutor.type ? ((root.result as LlmMapOutput).outputs[0] ?? null) : (root.result as LlmReduceOutput).text
    return {
      summary,
      chunks: rows.filter(r => r.type === llmMapExecutor.type).length,
      usage: sumUsage(rows.map(r => r.result?.usage)),
      ...partialMark(partial, missing)
    }
  }
})
