/**
 * The providers room's door: the capability registry (what this node can
 * serve; offers are built from it), the one inference interface, and the
 * engines behind it — the embedded wink-nlp engine (no download), Ollama
 * over its native API and any OpenAI-compatible server — held by the
 * ProviderManager (built-in, user-added and discovered providers, health,
 * model lists).
 */
export { CapabilityRegistry } from './registry.ts'
export type { Capacity, CapabilitySnapshot, CapabilitySource, ModelCapability, ModelKind } from './registry.ts'
export { WinkEngine } from './wink/engine.ts'
export type { EngineStats, WinkEngineComponents, WinkEngineInit } from './wink/engine.ts'
export { WinkProvider, createWinkProvider, winkCacheDir } from './wink/provider.ts'
export type { WinkProviderComponents, WinkProviderInit } from './wink/provider.ts'
export { WINK_DEFAULTS, WINK_DIMENSIONS, WINK_EMBED_MODEL, WINK_PROVIDER_ID, EMBEDDINGS_CACHE_FILE } from './wink/constants.ts'
export type { CallOptions, ChunkOptions, EmbedResult, Entity, SentenceSentiment, SentimentResult, TextChunk } from './wink/types.ts'
export { EchoProvider } from './echo/provider.ts'
export type { EchoProviderInit } from './echo/provider.ts'
export { ECHO_CHAT_MODEL, ECHO_LABEL, ECHO_PROVIDER_ID } from './echo/constants.ts'
export { collectChat } from './inference.ts'
export type {
  ChatMessage, ChatRequest, ChatEvent, Usage, FinishReason, ChatFeature, ToolCall, ToolCallDelta, TokenLogprob, ToolSpec, ToolChoice, ResponseFormat, EmbeddingsRequest, EmbeddingsResult,
  HealthStatus, ProviderHealth, InferenceCallOptions, ProviderKind, InferenceProvider
} from './inference.ts'
export { ProviderManager } from './manager.ts'
export type { ProviderManagerComponents, ProviderManagerInit, ProviderInfo, ProviderSource, ProviderTestResult } from './manager.ts'
export { HttpProvider, estimateTokens } from './http/base.ts'
export type { HttpProviderComponents, HttpProviderInit, RefreshOptions } from './http/base.ts'
export { OllamaProvider } from './ollama/provider.ts'
export { OpenAICompatibleProvider, openAIBase } from './openai-compatible/provider.ts'
export { validateSpec, loadSpecs, saveSpecs, sameEngine } from './specs.ts'
export type { ProviderSpec, HttpProviderKind } from './specs.ts'
export { PROVIDER_DEFAULTS, DISCOVERY_PORTS, USER_PROVIDERS_KEY } from './constants.ts'
export type { DiscoveryTarget } from './constants.ts'
