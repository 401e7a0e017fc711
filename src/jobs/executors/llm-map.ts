/**
 * `llm.map`: a prompt template applied to each item (usually one chunk of
 * a document) through a chat model this worker serves; one answer per item,
 * in order.
 */
import { z } from 'zod'
import {
  addUsage, askChat, chatMessages, countMismatch, defineExecutor, eachInOrder, fillTemplate, maxTokensSchema, modelSchema,
  promptTemplateSchema, systemSchema, temperatureSchema, usageSchema, ZERO_USAGE
} from './common.ts'
import { EXECUTOR_LIMITS } from './constants.ts'

export const llmMapInput = z.strictObject({
  items: z.array(z.string().max(EXECUTOR_LIMITS.maxTextChars)).min(1).max(EXECUTOR_LIMITS.maxItems)
})

export const llmMapParams = z.strictObject({
  /** The chat model. */
  model: modelSchema,
  /** The user message; `{{input}}` is replaced by the item. */
  prompt: promptTemplateSchema,
  /** An optional system message. */
  system: systemSchema,
  maxTokens: maxTokensSchema,
  temperature: temperatureSchema
})
export type LlmMapParams = z.infer<typeof llmMapParams>

export const llmMapOutput = z.strictObject({
  outputs: z.array(z.string()),
  usage: usageSchema
})
export type LlmMapOutput = z.infer<typeof llmMapOutput>

export const llmMapExecutor = defineExecutor({
  type: 'llm.map',
  description: 'A prompt template applied to each item (or chunk) through a chat model',
  input: llmMapInput,
  params: llmMapParams,
  output: llmMapOutput,
  models: params => [params.model],
  modelKind: 'chat',
  mismatch: (input, _params, output) => countMismatch(output.outputs.length, input.items.length, 'outputs'),
  async run (input, params, context) {
    const answers = await eachInOrder(input.items, context, async item => await askChat(context, params, chatMessages(params.system, fillTemplate(params.prompt, item))))
    return { outputs: answers.map(a => a.text), usage: answers.reduce((sum, a) => addUsage(sum, a.usage), ZERO_USAGE) }
  }
})
