/**
 * `llm.map`: a prompt template applied to each item (usually one chunk of
 * a document) through a chat model this worker serves; one answer per item,
 * in order.
 */
import { z } from 'zod'
import {
  addUsage, askChat, chatMessages, defineExecutor, fillTemplate, maxTokensSchema, modelSchema,
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
  async run (input, params, context) {
    const outputs: string[] = []
    let usage = ZERO_USAGE
    context.progress(0)
    for (const item of input.items) {
      const answer = await askChat(context, params, chatMessages(params.system, fillTemplate(params.prompt, item)))
      outputs.push(answer.text)
      usage = addUsage(usage, answer.usage)
      context.progress(outputs.length / input.items.length)
    }
    return { outputs, usage }
  }
})
