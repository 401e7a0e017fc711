/**
 * The OpenAI-compatible API's wire shapes: zod schemas of what /v1 accepts
 * (the subset Agora routes; unknown fields are ignored as OpenAI clients
 * send many) and the response objects, typed after OpenAI's. Conversion to
 * the gateway's requests lives here too, so an unsupported option is
 * refused in one place with E962 naming it.
 */
import { z } from 'zod'
import { AgoraError } from '../../errors.ts'
import { CHAT_LIMITS, chatExtrasShape, toolCallSchema } from '../../providers/chat-schemas.ts'
import type { ChatFeature, ChatMessage, ChatRequest, FinishReason, TokenLogprob, ToolCall, ToolCallDelta } from '../../providers/index.ts'
import type { ModelKind } from '../../providers/index.ts'

// (unions name what they take: zod's own message for a union is only 'Invalid input')
const contentPart = z.object({ type: z.string().min(1), text: z.string().optional() })

const chatMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(contentPart)], { error: 'a string, or an array of content parts ({type: "text", text})' }).nullish(),
  name: z.string().max(256).optional(),
  tool_calls: z.array(toolCallSchema).max(CHAT_LIMITS.toolCalls).nullish(),
  tool_call_id: z.string().min(1).max(CHAT_LIMITS.toolCallId).nullish()
})

export const chatCompletionBody = z.object({
  model: z.string().min(1).max(512),
  messages: z.array(chatMessage).min(1).max(4096),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)], { error: 'a string, or an array of at most 4 strings' }).nullish(),
  seed: z.number().int().nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  tools: chatExtrasShape.tools.nullable(),
  user: z.string().max(256).nullish(),
  tool_choice: chatExtrasShape.tool_choice.nullable(),
  response_format: chatExtrasShape.response_format.nullable(),
  logprobs: z.boolean().nullish(),
  top_logprobs: chatExtrasShape.top_logprobs.nullable(),
  // read only to refuse them when they ask for something the engines here do not do (never dropped in silence)
  functions: z.unknown().optional(),
  function_call: z.unknown().optional(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish()
})
export type ChatCompletionBody = z.infer<typeof chatCompletionBody>

export const embeddingsBody = z.object({
  model: z.string().min(1).max(512),
  input: z.union([z.string(), z.array(z.unknown()).min(1).max(2048)], { error: 'a string, or an array of 1 to 2048 strings' }),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().max(256).nullish()
})
export type EmbeddingsBody = z.infer<typeof embeddingsBody>

/** Validate a body; a failure is E961 naming the field (also in `details.param`). */
export function parseBody<S extends z.ZodType> (schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {})
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const param = issue === undefined || issue.path.length === 0 ? null : issue.path.map(String).join('.')
  throw new AgoraError('E961', param === null ? 'invalid request body' : `invalid '${param}'`, { why: issue?.message, details: { param } })
}

function unsupported (param: string, what: string): AgoraError {
  return new AgoraError('E962', what, { details: { param } })
}

/**
 * OpenAI options no engine behind this gateway is asked for: a 400 naming
 * each (E962), never a request answered as if they had been read. Their
 * neutral values pass (zero penalties, no bias). Tools, response formats
 * and log-probabilities pass through to engines that offer them (the
 * router refuses with E962 when none does).
 */
function refuseUnhonoured (body: ChatCompletionBody): void {
  if (body.functions != null || body.function_call != null) throw unsupported(body.functions != null ? 'functions' : 'function_call', 'functions and function_call (the older function calling) are not supported: send tools and tool_choice')
  if (body.top_logprobs != null && body.logprobs !== true) throw new AgoraError('E961', 'invalid \'top_logprobs\'', { why: 'top_logprobs needs logprobs: true', details: { param: 'top_logprobs' } })
  if (body.tool_choice != null && body.tool_choice !== 'none' && (body.tools == null || body.tools.length === 0)) throw new AgoraError('E961', 'invalid \'tool_choice\'', { why: 'tool_choice needs tools', details: { param: 'tool_choice' } })
  if (body.logit_bias != null && Object.keys(body.logit_bias).length > 0) throw unsupported('logit_bias', 'logit_bias is not supported')
  for (const penalty of ['presence_penalty', 'frequency_penalty'] as const) {
    if (body[penalty] != null && body[penalty] !== 0) throw unsupported(penalty, `${penalty} is not supported`)
  }
}

/** The gateway's chat request; E962 for options Agora cannot honour. */
export function toChatRequest (body: ChatCompletionBody): ChatRequest {
  if (body.n != null && body.n > 1) throw unsupported('n', `n=${body.n} is not supported: one choice per request`)
  refuseUnhonoured(body)
  const messages = body.messages.map((message, i): ChatMessage => ({
    role: message.role === 'developer' ? 'system' : message.role,
    content: textOf(message.content, i),
    ...(message.tool_calls == null || message.tool_calls.length === 0 ? {} : { tool_calls: message.tool_calls }),
    ...(message.tool_call_id == null ? {} : { tool_call_id: message.tool_call_id })
  }))
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  return {
    model: body.model,
    messages,
    ...(body.temperature == null ? {} : { temperature: body.temperature }),
    ...(body.top_p == null ? {} : { top_p: body.top_p }),
    ...(maxTokens == null ? {} : { max_tokens: maxTokens }),
    ...(body.stop == null ? {} : { stop: body.stop }),
    ...(body.seed == null ? {} : { seed: body.seed }),
    ...(body.tools == null || body.tools.length === 0 ? {} : { tools: body.tools }),
    ...(body.tool_choice == null ? {} : { tool_choice: body.tool_choice }),
    // plain text is what every engine answers: no need to ask for it
    ...(body.response_format == null || body.response_format.type === 'text' ? {} : { response_format: body.response_format }),
    ...(body.logprobs === true ? { logprobs: true } : {}),
    ...(body.top_logprobs == null ? {} : { top_logprobs: body.top_logprobs })
  }
}

function textOf (content: ChatCompletionBody['messages'][number]['content'], index: number): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  return content.map((part, j) => {
    const param = `messages.${index}.content.${j}`
    if (part.type !== 'text') throw unsupported(param, `content parts of type '${part.type}' are not supported: text only`)
    if (typeof part.text !== 'string') throw new AgoraError('E961', `invalid '${param}.text'`, { why: 'a text part needs its text (a string)', details: { param: `${param}.text` } })
    return part.text
  }).join('')
}

/** The texts to embed; token arrays are refused (E962). */
export function embeddingInputs (input: EmbeddingsBody['input']): string[] {
  if (typeof input === 'string') return [input]
  return input.map((item, i) => {
    if (typeof item === 'string') return item
    if (typeof item === 'number' || Array.isArray(item)) throw unsupported('input', 'token arrays are not supported as embeddings input: send text')
    throw new AgoraError('E961', `invalid 'input.${i}'`, { why: 'expected a string', details: { param: `input.${i}` } })
  })
}

/** A vector as OpenAI's base64 encoding: little-endian float32. */
export function float32Base64 (vector: readonly number[]): string {
  const view = new DataView(new ArrayBuffer(vector.length * 4))
  vector.forEach((value, i) => { view.setFloat32(i * 4, value, true) })
  return Buffer.from(view.buffer).toString('base64')
}

export interface OpenAiUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

export interface ChatCompletion {
  id: string
  object: 'chat.completion'
  created: number
  model: string
  choices: Array<{ index: number, message: { role: 'assistant', content: string | null, refusal: null, tool_calls?: ToolCall[] }, finish_reason: FinishReason, logprobs: { content: TokenLogprob[] } | null }>
  usage: OpenAiUsage
}

export interface ChatCompletionChunk {
  id: string
  object: 'chat.completion.chunk'
  created: number
  model: string
  choices: Array<{ index: number, delta: { role?: 'assistant', content?: string, tool_calls?: ToolCallDelta[] }, finish_reason: FinishReason | null, logprobs: { content: TokenLogprob[] } | null }>
  usage?: OpenAiUsage
}

export interface EmbeddingsResponse {
  object: 'list'
  data: Array<{ object: 'embedding', index: number, embedding: number[] | string }>
  model: string
  usage: { prompt_tokens: number, total_tokens: number }
}

export interface ModelObject {
  id: string
  object: 'model'
  created: number
  owned_by: string
  /**
   * Agora's additions: the best place it runs (price: credits per 1k tokens,
   * six decimals; the lowest price, the lowest latency, whether this node
   * serves it) and every node that serves it.
   */
  agora: { kind: ModelKind, price: string, latencyMs: number | null, local: boolean, features: ChatFeature[], servedBy: ServedByEntry[] }
}

/** One node that serves a model, as /v1/models lists it. */
export interface ServedByEntry {
  node: string
  provider: string
  price: string
  latencyMs: number | null
  local: boolean
  features: ChatFeature[]
}

export interface ModelList {
  object: 'list'
  data: ModelObject[]
}

/** OpenAI's error shape; `code` is Agora's error code. */
export interface OpenAiErrorBody {
  error: {
    message: string
    type: string
    param: string | null
    code: string
    /** What to do about it (Agora's hint). */
    hint?: string
  }
}
