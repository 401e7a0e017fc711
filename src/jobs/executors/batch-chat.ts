/**
 * `batch.chat`: many independent prompts through a chat model this worker
 * serves; a prompt is a string (one user message) or a list of messages.
 */
import { z } from 'zod'
import {
  askChat, chatMessages, countMismatch, defineExecutor, eachInOrder, maxTokensSchema, modelSchema, systemSchema, temperatureSchema, usageSchema
} from './common.ts'
import { EXECUTOR_LIMITS } from './constants.ts'
import type { ChatMessage } from '../../providers/inference.ts'

export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().max(EXECUTOR_LIMITS.maxTextChars)
})

export const batchPromptSchema = z.union([
  z.string().min(1).max(EXECUTOR_LIMITS.maxTextChars),
  z.strictObject({ messages: z.array(chatMessageSchema).min(1).max(1024) })
])
export type BatchPrompt = z.infer<typeof batchPromptSchema>

export const batchChatInput = z.strictObject({
  prompts: z.array(batchPromptSchema).min(1).max(EXECUTOR_LIMITS.maxItems)
})

export const batchChatParams = z.strictObject({
  /** The chat model. */
  model: modelSchema,
  /** A system message put before every prompt that has none. */
  system: systemSchema,
  maxTokens: maxTokensSchema,
  temperature: temperatureSchema
})

export const chatAnswerSchema = z.strictObject({ text: z.string(), usage: usageSchema })

export const batchChatOutput = z.strictObject({
  answers: z.array(chatAnswerSchema)
})
export type BatchChatOutput = z.infer<typeof batchChatOutput>

/** The messages of one prompt, the system message first when the prompt has none. */
export function promptMessages (prompt: BatchPrompt, system: string | undefined): ChatMessage[] {
  if (typeof prompt === 'string') return chatMessages(system, prompt)
  const messages = prompt.messages.map(m => ({ role: m.role, content: m.content }))
  if (system === undefined || messages[0]?.role === 'system') return messages
  return [{ role: 'system', content: system }, ...messages]
}

export const batchChatExecutor = defineExecutor({
  type: 'batch.chat',
  description: 'Many independent chat prompts through a chat model',
  input: batchChatInput,
  params: batchChatParams,
  output: batchChatOutput,
  models: params => [params.model],
  modelKind: 'chat',
  mismatch: (input, _params, output) => countMismatch(output.answers.length, input.prompts.length, 'answers'),
  async run (input, params, context) {
    const answers = await eachInOrder(input.prompts, context, async prompt => {
      const answer = await askChat(context, params, promptMessages(prompt, params.system))
      return { text: answer.text, usage: { promptTokens: answer.usage.promptTokens, completionTokens: answer.usage.completionTokens } }
    })
    return { answers }
  }
})
