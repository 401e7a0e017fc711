/**
 * The OpenAI API as OpenAI-compatible servers (LM Studio, llama.cpp server,
 * vLLM, …) speak it: the answers we read, as loose schemas (servers add
 * fields of their own), and the SSE reader of streamed completions.
 */
import { createParser } from 'eventsource-parser'
import { z } from 'zod'
import { malformed } from '../http/upstream.ts'
import { tokenLogprobSchema, toolCallDeltaSchema } from '../chat-schemas.ts'
import { CHAT_REQUEST_OPTIONS, type ChatFeature, type ChatRequest } from '../inference.ts'

/** GET /models. Context lengths where servers report them: vLLM `max_model_len`, llama.cpp `meta.n_ctx_train`, LM Studio `max_context_length`. */
export const modelsSchema = z.looseObject({
  data: z.array(z.looseObject({
    id: z.string().min(1),
    type: z.string().nullish(),
    max_model_len: z.number().nullish(),
    max_context_length: z.number().nullish(),
    meta: z.looseObject({ n_ctx_train: z.number().nullish() }).nullish()
  }))
})

export type OpenAIModel = z.infer<typeof modelsSchema>['data'][number]

/** One `data:` chunk of a streamed chat completion. */
export const chatChunkSchema = z.looseObject({
  choices: z.array(z.looseObject({
    delta: z.looseObject({ content: z.string().nullish(), tool_calls: z.array(toolCallDeltaSchema).nullish() }).nullish(),
    logprobs: z.looseObject({ content: z.array(tokenLogprobSchema).nullish() }).nullish(),
    finish_reason: z.string().nullish()
  })).nullish(),
  usage: z.looseObject({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative()
  }).nullish(),
  error: z.unknown().optional()
})

/** POST /embeddings */
export const embeddingsSchema = z.looseObject({
  data: z.array(z.looseObject({ index: z.number().int().nonnegative().nullish(), embedding: z.array(z.number()) })),
  usage: z.looseObject({ prompt_tokens: z.number().int().nonnegative() }).nullish()
})

/** The chat request as sent: the fields we route (OpenAI's own names), streamed, with usage in the last chunk. */
export function chatBody (request: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: request.messages.map(m => ({
      role: m.role,
      // an assistant turn that only called tools has no text: OpenAI's null
      content: m.content === '' && m.tool_calls !== undefined ? null : m.content,
      ...(m.tool_calls === undefined ? {} : { tool_calls: m.tool_calls }),
      ...(m.tool_call_id === undefined ? {} : { tool_call_id: m.tool_call_id })
    })),
    stream: true,
    stream_options: { include_usage: true }
  }
  for (const key of CHAT_REQUEST_OPTIONS) {
    if (request[key] !== undefined) body[key] = request[key]
  }
  return body
}

/** An OpenAI-compatible server takes every option OpenAI's API has; one that does not says so in its own 400. */
export const OPENAI_CHAT_FEATURES: ChatFeature[] = ['tools', 'json', 'json_schema', 'logprobs']

export function contextLengthOf (model: OpenAIModel): number {
  const n = model.max_model_len ?? model.max_context_length ?? model.meta?.n_ctx_train ?? 0
  return Number.isInteger(n) && n > 0 ? n : 0
}

export interface SseEvent {
  event: string | undefined
  data: string
}

/** Events of an SSE body, parsed incrementally; an event larger than `maxBytes` characters fails with E705. */
export async function * sseEvents (body: AsyncIterable<Uint8Array>, provider: string, maxBytes: number): AsyncGenerator<SseEvent> {
  const pending: SseEvent[] = []
  let tooLarge = false
  const parser = createParser({
    maxBufferSize: maxBytes,
    onEvent: e => { pending.push({ event: e.event, data: e.data }) },
    onError: err => { if (err.type === 'max-buffer-size-exceeded') tooLarge = true }
  })
  const decoder = new TextDecoder()
  const feed = (text: string): void => {
    if (!tooLarge) parser.feed(text)
    if (tooLarge) throw malformed(provider, `an event larger than ${maxBytes} characters`)
  }
  for await (const chunk of body) {
    feed(decoder.decode(chunk, { stream: true }))
    yield * pending.splice(0)
  }
  feed(decoder.decode())
  parser.reset({ consume: true })
  yield * pending.splice(0)
}
