/**
 * `llm.map` as a job: a prompt template over every chunk of a document (one
 * chunk per subtask) or every item (`itemsPerSubtask` per subtask); result:
 * the answers in input order and the usage summed.
 */
import { z } from 'zod'
import { EXECUTOR_DEFAULTS, EXECUTOR_LIMITS, llmMapExecutor, type LlmMapOutput } from '../executors/index.ts'
import { chunkDocument, definePlanner, groupsOf, itemText, partialMark, readResults, requireItems, requireText, subtaskId, sumUsage } from './common.ts'
import { chunkingShape, OVERLAP_BELOW_CHUNK } from './fan-out.ts'
import { PLANNER_DEFAULTS, PLANNER_LIMITS } from './constants.ts'

export const chatShape = {
  /** The chat model. */
  model: z.string().min(1).max(256),
  /** An optional system message. */
  system: z.string().min(1).max(EXECUTOR_LIMITS.maxPromptChars).optional(),
  /** Completion tokens per call. */
  maxTokens: z.number().int().min(1).max(EXECUTOR_LIMITS.maxTokens).default(EXECUTOR_DEFAULTS.maxTokens),
  /** Sampling temperature. */
  temperature: z.number().min(0).max(2).default(EXECUTOR_DEFAULTS.temperature)
}

/** A prompt template: `{{input}}` is replaced by the item or chunk. */
export const templateSchema = z.string().min(1).max(EXECUTOR_LIMITS.maxPromptChars).regex(/\{\{input\}\}/, 'must contain {{input}}')

export const llmMapJobParams = z.strictObject({
  ...chatShape,
  prompt: templateSchema,
  ...chunkingShape(PLANNER_DEFAULTS.overlapChars),
  /** Items per subtask (an items input; a text goes one chunk per subtask). */
  itemsPerSubtask: z.number().int().min(1).max(PLANNER_LIMITS.maxPerSubtask).default(PLANNER_DEFAULTS.itemsPerSubtask)
}).refine(OVERLAP_BELOW_CHUNK.check, OVERLAP_BELOW_CHUNK.error)

/** The chat params of a subtask (`system` only when set, so stored params stay canonical). */
export function chatParams (params: { model: string, system?: string | undefined, maxTokens: number, temperature: number }): Record<string, unknown> {
  const out: Record<string, unknown> = { model: params.model, maxTokens: params.maxTokens, temperature: params.temperature }
  if (params.system !== undefined) out.system = params.system
  return out
}

export const llmMapPlanner = definePlanner({
  type: llmMapExecutor.type,
  description: 'A prompt template applied to every chunk of a document or every item through a chat model; result: the answers in order',
  params: llmMapJobParams,
  taskTypes: () => [llmMapExecutor.type],
  models: params => [params.model],
  async plan (input, params, tools) {
    const groups = input.kind === 'text'
      ? (await chunkDocument(llmMapExecutor.type, requireText(llmMapExecutor.type, input), params, tools)).map(c => [c.text])
      : groupsOf(requireItems(llmMapExecutor.type, input).map(itemText), params.itemsPerSubtask)
    const subtaskParams = { ...chatParams(params), prompt: params.prompt }
    return groups.map((items, i) => ({ id: subtaskId('map', i), type: llmMapExecutor.type, params: { ...subtaskParams }, input: { items }, deps: [] }))
  },
  aggregate (results, params, partial) {
    const { rows, missing } = readResults<LlmMapOutput>(results, partial)
    // a missing subtask stands for itemsPerSubtask answers (for the last one this may be a few too many)
    const outputs = rows.flatMap(r => r.result?.outputs ?? new Array<null>(params.itemsPerSubtask).fill(null))
    return { outputs, usage: sumUsage(rows.map(r => r.result?.usage)), ...partialMark(partial, missing) }
  }
})
