/**
 * The providers room's door: the capability registry (what this node can
 * serve; offers are built from it) and the engines registered in it. First
 * of them, the embedded wink-nlp engine, which needs no download.
 */
export { CapabilityRegistry } from './registry.ts'
export type { Capacity, CapabilitySnapshot, CapabilitySource, ModelCapability, ModelKind } from './registry.ts'
export { WinkEngine } from './wink/engine.ts'
export type { EngineStats, WinkEngineComponents, WinkEngineInit } from './wink/engine.ts'
export { WinkProvider, createWinkProvider, winkCacheDir } from './wink/provider.ts'
export type { WinkProviderComponents, WinkProviderInit } from './wink/provider.ts'
export { WINK_DEFAULTS, WINK_DIMENSIONS, WINK_EMBED_MODEL, WINK_PROVIDER_ID, WINK_TASK_TYPES, EMBEDDINGS_CACHE_FILE } from './wink/constants.ts'
export type { CallOptions, ChunkOptions, EmbedResult, Entity, SentenceSentiment, SentimentResult, TextChunk } from './wink/types.ts'
export { collectChat } from './inference.ts'
export type {
  ChatMessage, ChatRequest, ChatEvent, Usage, FinishReason, EmbeddingsRequest, EmbeddingsResult,
  HealthStatus, ProviderHealth, InferenceCallOptions, ProviderKind, InferenceProvider
} from './inference.ts'
