/**
 * Public shapes of the embedded engine's calls, and the messages between the
 * engine (main thread) and its worker. One table (`WinkOps`) names every
 * operation with its arguments and result, so the worker's dispatch table
 * and the engine's calls cannot drift.
 */

export interface CallOptions {
  signal?: AbortSignal
}

export interface EmbedResult {
  /** One L2-normalised vector per input (all zeros when no word of the input is known). Views on one buffer. */
  vectors: Float32Array[]
  /** Tokens per input (wink-nlp tokens, line breaks not counted). */
  tokens: number[]
}

export interface ChunkOptions extends CallOptions {
  /** Longest chunk, in characters (UTF-16 code units). */
  targetChars: number
  /** Most characters two neighbouring chunks share (sentence-aligned); 0 for none. */
  overlapChars?: number
}

export interface TextChunk {
  /** `text.slice(start, end)` of the original text. */
  text: string
  start: number
  end: number
}

export interface SentenceSentiment {
  start: number
  end: number
  /** -1 (negative) … 1 (positive). */
  score: number
}

export interface SentimentResult {
  /** Whole text, -1 … 1. */
  score: number
  sentences: SentenceSentiment[]
}

export interface Entity {
  /** `text.slice(start, end)`. */
  value: string
  /** wink-nlp entity type: DATE, TIME, CARDINAL, ORDINAL, MONEY, PERCENT, EMAIL, URL, HASHTAG, MENTION, EMOJI, EMOTICON, … */
  type: string
  start: number
  end: number
}

export type LoadPart = 'nlp' | 'vectors'

/** Operations the worker runs: arguments and results as they cross the thread boundary. */
export interface WinkOps {
  embed: { args: { texts: string[] }, result: { data: Float32Array, tokens: number[] } }
  chunk: { args: { text: string, targetChars: number, overlapChars: number }, result: TextChunk[] }
  sentiment: { args: { text: string }, result: SentimentResult }
  entities: { args: { text: string }, result: Entity[] }
  warmup: { args: { parts: LoadPart[] }, result: null }
}

export type WinkOp = keyof WinkOps

export type WorkerRequest = { [K in WinkOp]: { id: number, op: K, args: WinkOps[K]['args'] } }[WinkOp]

export interface WireError {
  code: string
  what: string
  why?: string | undefined
  hint?: string | undefined
}

export interface LoadReport {
  part: LoadPart
  ms: number
  /** vectors: bytes of the table in memory. */
  bytes?: number
  /** vectors: set when the cache was (re)built from the JSON, with why. */
  converted?: { ms: number, reason: string, written: boolean }
}

export type WorkerMessage =
  | { type: 'result', id: number, ok: true, value: unknown }
  | { type: 'result', id: number, ok: false, error: WireError }
  | { type: 'loaded', report: LoadReport }
  | { type: 'log', level: 'debug' | 'info' | 'warn', msg: string, data?: Record<string, unknown> }

/** What the worker is started with. */
export interface WorkerSetup {
  /** The binary table cache file. */
  cacheFile: string
  /** The embeddings JSON (undefined: resolve the installed package). */
  sourcePath?: string | undefined
  /** Int32Array[1] holding the id of the call to cancel. */
  cancel: SharedArrayBuffer
}
