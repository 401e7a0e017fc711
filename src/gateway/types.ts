/**
 * What the OpenAI-compatible API needs from the gateway, and the shapes the
 * gateway's parts share. The API (src/api/routes/openai.ts) depends on this
 * interface only; src/gateway/ implements it over the local providers, the
 * peers' offers and /agora/infer/1.
 */
import type { Micro } from '../market/amount.ts'
import type { ChatEvent, ChatFeature, ChatRequest, EmbeddingsRequest, EmbeddingsResult, ModelKind } from '../providers/index.ts'

export type RoutingStrategy = 'local-only' | 'prefer-local' | 'load-balance'

/** Who is asking: a local API client (by key id, null without a key) or a peer over /agora/infer/1. */
export type Requester =
  | { kind: 'local', keyId: string | null }
  | { kind: 'peer', peerId: string }

export interface RequestContext {
  requester: Requester
  /** X-Agora-Target or `model@peerId`: only this peer (or 'local'). */
  target?: string
  /** X-Agora-Max-Price: refuse candidates priced above it (micro-credits per 1k completion tokens for chat, prompt tokens for embeddings). */
  maxPrice?: Micro
  /** Overrides the configured strategy. */
  strategy?: RoutingStrategy
  /** Aborted when the client goes away: cancels the upstream call, local or remote. */
  signal: AbortSignal
}

/** One model as /v1/models shows it. */
export interface GatewayModel {
  /** Model id as clients send it. */
  id: string
  kind: ModelKind
  /** Peer id of the serving node (ours for local providers). */
  ownedBy: string
  /** The provider serving it there, e.g. `ollama`, `wink`. */
  provider: string
  /** Price per 1k completion tokens (chat) or prompt tokens (embeddings), micro-credits. */
  price: Micro
  /** Latency EWMA to the owner (0 for local), null when unknown. */
  latencyMs: number | null
  local: boolean
  /** What it does there beyond plain text (tools, json, json_schema, logprobs). */
  features: readonly ChatFeature[]
}

/** Where a request ran. */
export interface ServedBy {
  /** 'local' or the serving peer id. */
  server: string
  /** Provider id on the serving node, when known. */
  provider?: string
  /** Attempts made (1 = first candidate answered). */
  attempts: number
}

export interface ChatRun extends ServedBy {
  /** Request id (also the metering record id). */
  id: string
  /** The answer, starting with the first event already received from the chosen candidate. */
  events: AsyncIterable<ChatEvent>
}

export interface EmbeddingsRun extends ServedBy, EmbeddingsResult {
  id: string
}

export interface Gateway {
  /** Local and network models (one entry per model and owner). */
  models(): GatewayModel[]
  /**
   * Route a chat request. Resolves once a candidate produced its first event
   * (failing over before that); E9xx errors name the reason when no candidate is left.
   */
  chat(request: ChatRequest, ctx: RequestContext): Promise<ChatRun>
  embeddings(request: EmbeddingsRequest, ctx: RequestContext): Promise<EmbeddingsRun>
}
