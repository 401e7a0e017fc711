/** Names, limits and defaults of the providers room (the HTTP adapters and the manager), in one place. */

export const PROVIDER_DEFAULTS = {
  /** Requests an HTTP engine is advertised to take at once (offer capacity). */
  slots: 4,
  /** How long a provider's model list is cached (config providers.modelsTtlMs). */
  modelsTtlMs: 60_000,
  /** Discovery, health checks and model refreshes run this often (config providers.discoveryIntervalMs). */
  intervalMs: 60_000,
  /** A health check or a model listing that takes longer fails (E708). */
  probeTimeoutMs: 5_000,
  /** A discovery probe of a local port that takes longer counts as nothing there. */
  discoveryTimeoutMs: 1_500,
  /** Discovery rounds in a row an engine must be missing before its provider is unregistered. */
  discoveryMisses: 2,
  /** Host discovery probes. */
  discoveryHost: '127.0.0.1',
  /** Longest NDJSON line or SSE event accepted from an engine (E705 above it). */
  maxLineBytes: 4 * 1024 * 1024,
  /** Longest non-streamed JSON body accepted from an engine, e.g. a batch of embeddings (E705 above it). */
  maxBodyBytes: 256 * 1024 * 1024,
  /** Bytes of an error body read to quote the engine's message. */
  maxErrorBodyBytes: 64 * 1024,
  /**
   * Idle keep-alive connections to an engine are closed after this long:
   * under the 5 s after which common servers (uvicorn, so vLLM) close them
   * unannounced, so we never write a request into a closing connection.
   */
  keepAliveMs: 4_000,
  /** What may follow the end of an answer (`[DONE]`) before the connection is given up, bytes and ms. */
  drainBytes: 16 * 1024,
  drainMs: 1_000,
  /** Ollama /api/show calls made at once when listing models. */
  showConcurrency: 4
} as const

/** The usual local ports of the engines discovery looks for. */
export const DISCOVERY_PORTS = {
  ollama: 11434,
  lmstudio: 1234,
  llamacpp: 8080
} as const

export type DiscoveryTarget = keyof typeof DISCOVERY_PORTS

/** Key in the kv store of the providers added by the user (`agora providers add`). */
export const USER_PROVIDERS_KEY = 'providers.user'

/** Provider names: what `agora providers add <name>` accepts. */
export const PROVIDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

/** Environment variable names accepted for --api-key-env. */
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/
