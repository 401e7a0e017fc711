/**
 * `batch.chat` as a job: the items are prompts (a string, or `{ messages }`),
 * `perSubtask` per subtask; result: the answers in order and the usage summed.
 */
import { z } from 'zod'
import { batchChatExecutor, type BatchChatOutput } from '../executors/index.ts'
import { definePlanner, groupsOf, partialMark, readResults, requireItems, subtaskId, sumUsage } from './common.ts'
import { PLANNER_DEFAULTS, PLANNER_LIMITS } from './constants.ts'
import { chatParams, chatShape } from './llm-map.ts'

export const batchChatJobParams = z.strictObject({
  ...chatShape,
  /** Prompts per subtask. */
  perSubtask: z.number().int().min(1).max(PLANNER_LIMITS.maxPerSubtask).default(PLANNER_DEFAULTS.perSubtask)
})

export const batchChatPlanner = definePlanner({
  type: batchChatExecutor.type,
  description: 'Many independent chat prompts (items: strings or { messages }) through a chat model; result: the answers in order',
  params: batchChatJobParams,
  taskTypes: () => [batchChatExecutor.type],
  models: params => [params.model],
  async plan (input, params) {
    const prompts = requireItems(batchChatExecutor.type, input)
    const subtaskParams = chatParams(params)
    return groupsOf(prompts, params.perSubtask).map((group, i) => ({
      id: subtaskId('chat', i), type: batchChatExecutor.type, params: { ...subtaskParams }, input: { prompts: group }, deps: []
    }))
  },
  aggregate (results, params, partial) {
    const { rows, missing } = readResults<BatchChatOutput>(results, partial)
    // a missing subtask stands for perSubtask answers (for the last one this may be a few too many)
    const answers = rows.flatMap(r => r.result?.answers ?? new Array<null>(params.perSubtask).fill(null))
    return { answers, usage: sumUsage(answers.map(a => a?.usage)), ...partialMark(partial, missing) }
  }
})
