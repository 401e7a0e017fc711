/**
 * `llm.reduce` as a job: the items (or the text) combined into one answer
 * by a single subtask, which reduces recursively when they exceed the
 * model's context.
 */
import { z } from 'zod'
import { EXECUTOR_DEFAULTS, EXECUTOR_LIMITS, llmReduceExecutor, type LlmReduceOutput } from '../executors/index.ts'
import { definePlanner, itemText, partialMark, readResults, requireItems, requireText, subtaskId, sumUsage } from './common.ts'
import { chatParams, chatShape, templateSchema } from './llm-map.ts'

export const contextTokensSchema = z.number().int().min(16).max(EXECUTOR_LIMITS.maxContextTokens).default(EXECUTOR_DEFAULTS.contextTokens)

export const llmReduceJobParams = z.strictObject({
  ...chatShape,
  /** `{{input}}` is replaced by the texts joined with blank lines. */
  prompt: templateSchema,
  /** The model's context window (prompt + answer), in tokens. */
  contextTokens: contextTokensSchema
}).refine(p => p.contextTokens > p.maxTokens, { message: 'must be more than maxTokens', path: ['contextTokens'] })

export const llmReducePlanner = definePlanner({
  type: llmReduceExecutor.type,
  description: 'Combine items into one answer through a chat model (recursively when they exceed its context); result: the text',
  params: llmReduceJobParams,
  taskTypes: () => [llmReduceExecutor.type],
  models: params => [params.model],
  async plan (input, params) {
    const texts = input.kind === 'text' ? [requireText(llmReduceExecutor.type, input)] : requireItems(llmReduceExecutor.type, input).map(itemText)
    return [{
      id: subtaskId('reduce', 0),
      type: llmReduceExecutor.type,
      params: { ...chatParams(params), prompt: params.prompt, contextTokens: params.contextTokens },
      input: { texts },
      deps: []
    }]
  },
  aggregate (results, _params, partial) {
    const { rows, missing } = readResults<LlmReduceOutput>(results, partial)
    const last = rows.at(-1)?.result ?? null
    return { text: last?.text ?? null, usage: sumUsage(rows.map(r => r.result?.usage)), ...partialMark(partial, missing) }
  }
})
