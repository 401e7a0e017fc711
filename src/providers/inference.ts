/**
 * The one inference interface every engine adapter implements (Ollama, any
 * OpenAI-compatible server, the embedded wink engine) and the gateway,
 * the /agora/infer/1 protocol and the OpenAI-compatible API speak. Requests
 * keep OpenAI's field names (the API passes them through); results are
 * streamed as events so that a remote hop, a provider and an SSE response
 * all move token by token with backpressure.
 */
import type { CapabilitySource, ModelCapability } from './registry.ts'

/** A function the model called (OpenAI's shape; `arguments` is JSON text). */
export interface ToolCall {
  id: string
  type: 'function'
  function: { name: string, arguments: string }
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string
  /** An assistant turn that called tools. */
  tool_calls?: ToolCall[]
  /** A tool turn: the call it answers. */
  tool_call_id?: string
}

/** A function the model may call: name, description and JSON-schema parameters, as OpenAI takes them. */
export interface ToolSpec {
  type: 'function'
  function: { name: string, description?: string, parameters?: Record<string, unknown>, strict?: boolean }
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function', function: { name: string } }

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema', json_schema: { name: string, description?: string, schema?: Record<string, unknown>, strict?: boolean } }

/**
 * What an engine can do beyond plain text; offers carry them per model, and
 * the router only picks an engine that has every feature a request uses.
 */
export const CHAT_FEATURES = ['tools', 'json', 'json_schema', 'logprobs'] as const
export type ChatFeature = typeof CHAT_FEATURES[number]

/** The request fields passed to engines and peers as OpenAI names them (besides model and messages). */
export const CHAT_REQUEST_OPTIONS = ['temperature', 'top_p', 'max_tokens', 'stop', 'seed', 'tools', 'tool_choice', 'response_format', 'logprobs', 'top_logprobs'] as const

/** A chat request as the OpenAI API takes it (the subset Agora routes). */
export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  temperature?: number
  top_p?: number
  max_tokens?: number
  stop?: string | string[]
  seed?: number
  tools?: ToolSpec[]
  tool_choice?: ToolChoice
  response_format?: ResponseFormat
  logprobs?: boolean
  top_logprobs?: number
}

/** Characters of what a request sends beyond its messages' text (tools, tool calls, a schema): counted as prompt like text is. */
export function extraPromptChars (request: Pick<ChatRequest, 'messages' | 'tools' | 'response_format'>): number {
  let chars = 0
  if (request.tools !== undefined) chars += JSON.stringify(request.tools).length
  if (request.response_format !== undefined) chars += JSON.stringify(request.response_format).length
  for (const m of request.messages) if (m.tool_calls !== undefined) chars += JSON.stringify(m.tool_calls).length
  return chars
}

/** The features a request needs of its engine. */
export function featuresOf (request: ChatRequest): ChatFeature[] {
  const out: ChatFeature[] = []
  if (request.tools !== undefined && request.tools.length > 0 && request.tool_choice !== 'none') out.push('tools')
  if (request.response_format?.type === 'json_object') out.push('json')
  if (request.response_format?.type === 'json_schema') out.push('json_schema')
  if (request.logprobs === true) out.push('logprobs')
  return out
}

/** One token's log-probability, with the most likely alternatives when asked (`top_logprobs`). */
export interface TokenLogprob {
  token: string
  logprob: number
  bytes?: number[] | null
  top_logprobs?: Array<{ token: string, logprob: number, bytes?: number[] | null }>
}

/** A piece of a tool call as it streams: the first piece of a call has its id and name, later ones more arguments. */
export interface ToolCallDelta {
  index: number
  id?: string
  type?: 'function'
  function?: { name?: string, arguments?: string }
}

export interface Usage {
  promptTokens: number
  completionTokens: number
}

export type FinishReason = 'stop' | 'length' | 'tool_calls'

/** What a chat stream yields: text deltas (with their log-probabilities when asked) and tool-call pieces, then exactly one `done` (or the iterator throws). */
export type ChatEvent =
  | { type: 'delta', text: string, logprobs?: TokenLogprob[] }
  | { type: 'tool_calls', calls: ToolCallDelta[] }
  | { type: 'done', finishReason: FinishReason, usage: Usage }

export interface EmbeddingsRequest {
  model: string
  input: string[]
}

export interface EmbeddingsResult {
  /** One vector per input, in order. */
  vectors: number[][]
  usage: { promptTokens: number }
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy'

export interface ProviderHealth {
  status: HealthStatus
  /** Last failure, when not healthy. */
  lastError?: string
  checkedAt: number
}

export interface InferenceCallOptions {
  /** Aborting cancels the upstream call (the HTTP request to the engine, or the worker job). */
  signal?: AbortSignal
}

export type ProviderKind = 'ollama' | 'openai' | 'wink' | 'echo'

/**
 * An engine this node can run inference on. It is also a CapabilitySource,
 * so registering it in the CapabilityRegistry puts its models in our offer.
 */
export interface InferenceProvider extends CapabilitySource {
  readonly kind: ProviderKind
  /** Last known health (from the periodic check). */
  health(): ProviderHealth
  /** Probe the engine now. */
  checkHealth(opts?: InferenceCallOptions): Promise<ProviderHealth>
  /** The engine's models, cached with a TTL; `models()` (CapabilitySource) returns the cached list. */
  refreshModels(opts?: InferenceCallOptions): Promise<ModelCapability[]>
  /** Stream a chat completion. Throws AgoraError on failure; never yields after `done`. */
  chatStream(request: ChatRequest, opts?: InferenceCallOptions): AsyncIterable<ChatEvent>
  /** Embed a batch of inputs. */
  embeddings(request: EmbeddingsRequest, opts?: InferenceCallOptions): Promise<EmbeddingsResult>
  /** Release timers and connections. */
  stop(): Promise<void>
}

/** Collect a chat stream into one answer. */
export async function collectChat (events: AsyncIterable<ChatEvent>): Promise<{ content: string, finishReason: FinishReason, usage: Usage }> {
  let content = ''
  for await (const event of events) {
    if (event.type === 'delta') content += event.text
    else if (event.type === 'done') return { content, finishReason: event.finishReason, usage: event.usage }
  }
  throw new Error('the chat stream ended without a done event')
}

/** Tool-call pieces put together: each call's id and name from its first piece, its arguments concatenated. */
export function joinToolCalls (calls: ToolCall[], deltas: ToolCallDelta[]): void {
  for (const delta of deltas) {
    const call = calls[delta.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } }
    if (delta.id !== undefined) call.id = delta.id
    if (delta.function?.name !== undefined) call.function.name += delta.function.name
    if (delta.function?.arguments !== undefined) call.function.arguments += delta.function.arguments
  }
}
