/**
 * Ollama's native API as we read it (https://github.com/ollama/ollama/blob/main/docs/api.md):
 * one schema per answer; unknown fields are kept out of the way (loose objects),
 * so newer Ollama versions still parse.
 */
import { z } from 'zod'
import type { ChatFeature, ChatRequest } from '../inference.ts'

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
  message: z.looseObject({
    content: z.string().nullish(),
    // Ollama sends each call whole, its arguments as an object
    tool_calls: z.array(z.looseObject({ function: z.looseObject({ name: z.string().min(1).max(64), arguments: z.unknown() }) })).max(128).nullish()
  }).nullish(),
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

/**
 * Ollama's request body for /api/chat: OpenAI's sampling fields go into
 * `options`, tools as they are, a response format as `format` ("json", or
 * the JSON schema itself); tool calls in the history carry their arguments
 * as objects, not JSON text.
 */
export function chatBody (request: ChatRequest): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  if (request.temperature !== undefined) options.temperature = request.temperature
  if (request.top_p !== undefined) options.top_p = request.top_p
  if (request.seed !== undefined) options.seed = request.seed
  if (request.max_tokens !== undefined) options.num_predict = request.max_tokens
  if (request.stop !== undefined) options.stop = typeof request.stop === 'string' ? [request.stop] : request.stop
  const format = request.response_format?.type === 'json_object'
    ? 'json'
    : request.response_format?.type === 'json_schema' ? request.response_format.json_schema.schema ?? 'json' : undefined
  const tools = request.tool_choice === 'none' ? undefined : request.tools
  return {
    model: request.model,
    messages: request.messages.map(m => ({
      role: m.role,
      content: m.content,
      ...(m.tool_calls === undefined ? {} : { tool_calls: m.tool_calls.map(c => ({ function: { name: c.function.name, arguments: parseArguments(c.function.arguments) } })) })
    })),
    stream: true,
    ...(tools === undefined || tools.length === 0 ? {} : { tools }),
    ...(format === undefined ? {} : { format }),
    ...(Object.keys(options).length > 0 ? { options } : {})
  }
}

/** A call's arguments as Ollama wants them (an object); text that is no JSON object is passed as it is. */
function parseArguments (text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/**
 * What an Ollama chat model can do: JSON output (any model, by grammar),
 * tools when Ollama lists the capability (0.6+; older ones do not say).
 * Log-probabilities are not offered.
 */
export function ollamaFeatures (capabilities: string[] | undefined): ChatFeature[] {
  return capabilities?.includes('tools') === true ? ['tools', 'json', 'json_schema'] : ['json', 'json_schema']
}
