/**
 * Any OpenAI-compatible server (LM Studio, llama.cpp server, vLLM, …) by its
 * base URL: GET {base}/models (health and models), POST
 * {base}/chat/completions streamed as SSE, POST {base}/embeddings. An
 * optional bearer key is read from the environment variable named in the
 * provider's spec on every call; the key itself is never stored.
 */
import { AgoraError } from '../../errors.ts'
import { PROVIDER_DEFAULTS } from '../constants.ts'
import { HttpProvider, estimateTokens, promptChars, type HttpProviderComponents, type HttpProviderInit } from '../http/base.ts'
import { closedMidStream, malformed, type UpstreamCall } from '../http/upstream.ts'
import { OPENAI_CHAT_FEATURES, chatBody, chatChunkSchema, contextLengthOf, embeddingsSchema, modelsSchema, sseEvents, type OpenAIModel } from './wire.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult, FinishReason, Usage } from '../inference.ts'
import type { ModelCapability } from '../registry.ts'

export class OpenAICompatibleProvider extends HttpProvider {
  readonly kind = 'openai' as const
  /** The API root requests go to, e.g. `http://127.0.0.1:1234/v1`. */
  readonly base: string

  constructor (components: HttpProviderComponents, init: HttpProviderInit) {
    super(components, init)
    this.base = openAIBase(this.url)
  }

  protected async probe (call: UpstreamCall): Promise<void> {
    await probeOpenAI(call, this.base, this.headers())
  }

  protected async listModels (call: UpstreamCall): Promise<ModelCapability[]> {
    const models = await probeOpenAI(call, this.base, this.headers())
    return models.map(m => {
      const kind = openAIKind(m)
      return { name: m.id, provider: this.id, kind, contextLength: contextLengthOf(m), ...(kind === 'chat' ? { features: OPENAI_CHAT_FEATURES } : {}) }
    })
  }

  protected async * streamChat (request: ChatRequest, call: UpstreamCall): AsyncGenerator<ChatEvent> {
    const body = await call.open('POST', `${this.base}/chat/completions`, chatBody(request), this.headers())
    let finishReason: FinishReason | undefined
    let usage: Usage | undefined
    let completionChars = 0
    // servers that send no usage (older llama.cpp, some proxies): estimate ~4 characters per token
    const finish = (): ChatEvent => ({
      type: 'done',
      finishReason: finishReason ?? 'stop',
      usage: usage ?? { promptTokens: estimateTokens(promptChars(request)), completionTokens: estimateTokens(completionChars) }
    })
    for await (const event of sseEvents(call.chunks(body), this.id, PROVIDER_DEFAULTS.maxLineBytes)) {
      if (event.data.trim() === '[DONE]') {
        yield finish()
        return
      }
      const chunk = call.parse(event.data, chatChunkSchema)
      if (event.event === 'error' || chunk.error != null) {
        throw new AgoraError('E707', `provider '${this.id}' failed mid-answer`, { why: errorText(chunk.error ?? event.data), details: { provider: this.id } })
      }
      if (chunk.usage != null) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens }
      const choice = chunk.choices?.[0]
      const text = choice?.delta?.content ?? ''
      const logprobs = choice?.logprobs?.content ?? undefined
      if (text !== '') {
        completionChars += text.length
        yield logprobs === undefined ? { type: 'delta', text } : { type: 'delta', text, logprobs }
      }
      const calls = choice?.delta?.tool_calls
      if (calls != null && calls.length > 0) {
        completionChars += JSON.stringify(calls).length
        yield { type: 'tool_calls', calls }
      }
      if (choice?.finish_reason != null) finishReason = finishReasonOf(choice.finish_reason)
    }
    // no [DONE]: a server that said why it finished has finished; anything else broke off
    if (finishReason !== undefined) {
      yield finish()
      return
    }
    throw closedMidStream(this.id, 'the stream ended before a finish_reason or [DONE]')
  }

  protected async embed (request: EmbeddingsRequest, call: UpstreamCall): Promise<EmbeddingsResult> {
    const body = { model: request.model, input: request.input, encoding_format: 'float' }
    const answer = await call.json(await call.open('POST', `${this.base}/embeddings`, body, this.headers()), embeddingsSchema)
    const vectors = new Array<number[]>(answer.data.length)
    answer.data.forEach((item, position) => {
      const index = item.index ?? position
      if (index >= vectors.length || vectors[index] !== undefined) throw malformed(this.id, `embedding index ${index} is out of range or repeated`)
      vectors[index] = item.embedding
    })
    // no usage reported: estimate ~4 characters per token
    const promptTokens = answer.usage?.prompt_tokens ?? estimateTokens(request.input.reduce((sum, text) => sum + text.length, 0))
    return { vectors, usage: { promptTokens } }
  }
}

/** The API root: the URL as given, or `<url>/v1` when it has no path (`http://host:1234` → `http://host:1234/v1`). */
export function openAIBase (url: string): string {
  const trimmed = url.replace(/\/+$/, '')
  return new URL(trimmed).pathname.replace(/\/+$/, '') === '' ? `${trimmed}/v1` : trimmed
}

/** GET {base}/models answers `{data: [...]}`: how health checks and discovery recognise an OpenAI-compatible server. */
export async function probeOpenAI (call: UpstreamCall, base: string, headers: Record<string, string> = {}): Promise<OpenAIModel[]> {
  const body = await call.json(await call.open('GET', `${base}/models`, undefined, headers), modelsSchema)
  return body.data
}

/** The OpenAI list says nothing of a model's kind: LM Studio's `type`, else an `embed` in the id. */
export function openAIKind (model: OpenAIModel): 'chat' | 'embedding' {
  if (model.type === 'embeddings' || model.type === 'embedding') return 'embedding'
  return /embed/i.test(model.id) ? 'embedding' : 'chat'
}

function finishReasonOf (reason: string): FinishReason {
  return reason === 'length' || reason === 'tool_calls' ? reason : reason === 'function_call' ? 'tool_calls' : 'stop'
}

function errorText (error: unknown): string {
  if (typeof error === 'string') return error
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message
  return JSON.stringify(error)
}
