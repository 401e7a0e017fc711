/**
 * The one inference interface every engine adapter implements (Ollama, any
 * OpenAI-compatible server, the embedded wink engine) and the gateway,
 * the /agora/infer/1 protocol and the OpenAI-compatible API speak. Requests
 * keep OpenAI's field names (the API passes them through); results are
 * streamed as events so that a remote hop, a provider and an SSE response
 * all move token by token with backpressure.
 */
import type { CapabilitySource, ModelCapability } from './registry.ts'

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool'
  content: string
}

/** A chat request as the OpenAI API takes it (the subset Agora routes). */
export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  temperature?: number
  top_p?: number
  max_tokens?: number
  stop?: string | string[]
  seed?: number
}

export interface Usage {
  promptTokens: number
  completionTokens: number
}

export type FinishReason = 'stop' | 'length'

/** What a chat stream yields: text deltas, then exactly one `done` (or the iterator throws). */
export type ChatEvent =
  | { type: 'delta', text: string }
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

export type ProviderKind = 'ollama' | 'openai' | 'wink'

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
    else return { content, finishReason: event.finishReason, usage: event.usage }
  }
  throw new Error('the chat stream ended without a done event')
}
