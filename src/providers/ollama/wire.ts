/**
 * Ollama's native API as we read it (https://github.com/ollama/ollama/blob/main/docs/api.md):
 * one schema per answer; unknown fields are kept out of the way (loose objects),
 * so newer Ollama versions still parse.
 */
import { z } from 'zod'
import type { ChatRequest } from '../inference.ts'

/** GET /api/version */
export const versionSchema = z.looseObject({ version: z.string() })

/** GET /api/tags */
export const tagsSchema = z.looseObject({
  models: z.array(z.looseObject({
    name: z.string().min(1),
    details: z.looseObject({
      family: z.string().nullish(),
      families: z.array(z.string()).nullish()
    }).nullish()
  }))
})

export type OllamaTag = z.infer<typeof tagsSchema>['models'][number]

/** POST /api/show: `capabilities` (0.6+) and `model_info` with `<arch>.context_length`. */
export const showSchema = z.looseObject({
  capabilities: z.array(z.string()).nullish(),
  model_info: z.record(z.string(), z.unknown()).nullish()
})

/** One NDJSON line of POST /api/chat with stream true. */
export const chatLineSchema = z.looseObject({
  message: z.looseObject({ content: z.string().nullish() }).nullish(),
  done: z.boolean().nullish(),
  done_reason: z.string().nullish(),
  prompt_eval_count: z.number().int().nonnegative().nullish(),
  eval_count: z.number().int().nonnegative().nullish(),
  error: z.string().nullish()
})

/** POST /api/embed */
export const embedSchema = z.looseObject({
  embeddings: z.array(z.array(z.number())),
  prompt_eval_count: z.number().int().nonnegative().nullish()
})

/** Ollama's request body for /api/chat: OpenAI's sampling fields go into `options`. */
export function chatBody (request: ChatRequest): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  if (request.temperature !== undefined) options.temperature = request.temperature
  if (request.top_p !== undefined) options.top_p = request.top_p
  if (request.seed !== undefined) options.seed = request.seed
  if (request.max_tokens !== undefined) options.num_predict = request.max_tokens
  if (request.stop !== undefined) options.stop = typeof request.stop === 'string' ? [request.stop] : request.stop
  return {
    model: request.model,
    messages: request.messages.map(m => ({ role: m.role, content: m.content })),
    stream: true,
    ...(Object.keys(options).length > 0 ? { options } : {})
  }
}
