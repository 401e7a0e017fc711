/** /agora/task/1: a coordinator offers a subtask to a worker; the answer is streamed frame by frame. */

export const TASK_PROTOCOL_ID = '/agora/task/1'

/** Largest request frame (an offer carries the subtask's input inline). */
export const TASK_MAX_REQUEST_BYTES = 8 * 1024 * 1024
/** Largest response frame. */
export const TASK_MAX_RESPONSE_BYTES = 1024 * 1024
/**
 * Results whose canonical JSON is larger than this go by reference
 * ({hash, size}); the coordinator fetches them in chunks on a second stream.
 */
export const TASK_INLINE_RESULT_BYTES = 512 * 1024
/** Raw bytes per `chunk` frame of a fetched result (base64 makes it ~683 KiB, under the frame cap). */
export const TASK_CHUNK_BYTES = 512 * 1024
/** Largest result a worker sends and a coordinator accepts (canonical JSON bytes). */
export const TASK_MAX_RESULT_BYTES = 32 * 1024 * 1024
/** The jobs.resultFetchBudgetBytes default (see config/schema.ts): eight results of the largest size fetched at once, node-wide. */
export const RESULT_FETCH_BUDGET_BYTES = 8 * TASK_MAX_RESULT_BYTES

/** Characters in ids carried by an assignment. */
export const TASK_MAX_KEY_CHARS = 512
export const TASK_MAX_ID_CHARS = 256
export const TASK_MAX_TYPE_CHARS = 64
/** Characters of a refusal message. */
export const TASK_MAX_MESSAGE_CHARS = 512
/** Characters of an encoded RECEIPT envelope (base64url of its JSON). */
export const TASK_MAX_RECEIPT_CHARS = 16 * 1024

/**
 * Per-peer inbound streams per second, in the engine (E206): a flood guard
 * only, above what one busy coordinator sends (≥ 1,000 subtasks a second);
 * the worker's slots are the real limit.
 */
export const TASK_RATE_LIMIT = { perSecond: 4000, burst: 8000 }

/** Serving side: the longest one frame may wait for a paused reader before the stream is given up. */
export const TASK_STALL_MS = 60_000

/** The jobs.timeouts defaults (see config/schema.ts). */
export const DISPATCH_TIMEOUT_DEFAULTS = {
  /** Accept or refuse within this (E1041); dialling the worker included. */
  acceptMs: 5000,
  /** After accepting, the longest silence before progress or the result (E1042). */
  firstProgressMs: 30_000,
  /** The whole attempt (E1043), fetching a referenced result included. */
  totalMs: 10 * 60_000
} as const

/** The engine's own timers (E204) get this much more than ours, so the named timeouts (E1041–E1043) fire first. */
export const ENGINE_TIMEOUT_SLACK_MS = 1000
