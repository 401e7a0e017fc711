/** Defaults and bounds of the task types' params and inputs, in one place. */

export const EXECUTOR_DEFAULTS = {
  /** text.chunk: longest chunk, in characters. */
  chunkChars: 1000,
  /** text.chunk: most characters neighbouring chunks share (whole sentences). */
  overlapChars: 0,
  /** text.embed: the embedded engine's model. */
  embedModel: 'agora/wink-embed-100d',
  /** text.embed: texts per embeddings call (progress is reported between calls). */
  embedBatch: 32,
  /** llm.*, batch.chat: completion tokens per call. */
  maxTokens: 256,
  /** llm.*, batch.chat: sampling temperature (0: as deterministic as the model allows). */
  temperature: 0,
  /** llm.reduce: the model's context window, in tokens (prompt + completion). */
  contextTokens: 4096,
  /** debug.sleep: how long to sleep. */
  sleepMs: 100
} as const

export const EXECUTOR_LIMITS = {
  /** Longest text a subtask may carry (the embedded engine's own limit). */
  maxTextChars: 1_000_000,
  /** Longest chunk target. */
  maxChunkChars: 100_000,
  /** Most chunks, items, texts or prompts in one subtask. */
  maxItems: 100_000,
  /** Longest prompt template or system message. */
  maxPromptChars: 100_000,
  /** Largest completion budget per call. */
  maxTokens: 131_072,
  /** Largest context window. */
  maxContextTokens: 10_000_000,
  /** Longest debug.sleep. */
  maxSleepMs: 600_000,
  /** llm.reduce: rounds of reduction before giving up (E1007). */
  maxReduceRounds: 32
} as const

/** The placeholder a prompt template must contain. */
export const INPUT_PLACEHOLDER = '{{input}}'
