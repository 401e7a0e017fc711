/** /agora/infer/1: run inference on a peer's providers, answer streamed frame by frame. */
import type { AgoraConfig } from '../../config/schema.ts'

export const INFER_PROTOCOL_ID = '/agora/infer/1'

/** Largest request frame (a long chat history fits; a book does not). */
export const INFER_MAX_REQUEST_BYTES = 1024 * 1024
/** Messages in one chat request. */
export const INFER_MAX_MESSAGES = 512
/** Characters in one message (the request frame bounds the total). */
export const INFER_MAX_MESSAGE_CHARS = 256 * 1024
/** Characters in a model id. */
export const INFER_MAX_MODEL_CHARS = 256
/** Characters in a payment's receipt id (`infer:<requestId>#<attempt>` is ~45). */
export const INFER_MAX_RECEIPT_ID_CHARS = 256
/** Stop sequences, and characters in each. */
export const INFER_MAX_STOPS = 4
export const INFER_MAX_STOP_CHARS = 256
/** Inputs in one embeddings request, and characters in each. */
export const INFER_MAX_INPUTS = 256
export const INFER_MAX_INPUT_CHARS = 64 * 1024

/**
 * Characters in one delta frame; a longer provider delta is sent as several
 * frames (split between UTF-16 code points). 4096 characters encode to at
 * most ~24 KiB of JSON.
 */
export const INFER_MAX_DELTA_CHARS = 4096
/** Dimensions of one embedding vector. */
export const INFER_MAX_DIMENSIONS = 16_384
/**
 * Largest response frame. Embeddings of many inputs do not fit in one
 * frame: the server sends them as `vectors` frames of at most
 * INFER_VECTOR_FRAME_BUDGET bytes of numbers each (a whole number of
 * vectors per frame; one vector of INFER_MAX_DIMENSIONS numbers of at most
 * 25 characters always fits), then one `embeddings` frame with the usage.
 */
export const INFER_MAX_RESPONSE_BYTES = 512 * 1024
export const INFER_VECTOR_FRAME_BUDGET = 448 * 1024

/**
 * Per-peer inbound streams per second, in the engine (E206): a flood guard only,
 * sized above what one busy gateway sends (hundreds of requests a second). The
 * policy (requests and tokens per minute) is access control's.
 */
export const INFER_RATE_LIMIT = { perSecond: 1000, burst: 2000 }

/**
 * Warm streams kept for the next request to a peer (a gateway sends many in
 * a row): up to 32 idle per peer — one per concurrent caller a busy gateway
 * has — and 512 in all, each closed after 15 s unused (the server waits 30 s).
 */
export const INFER_STREAM_REUSE = { maxIdlePerPeer: 32, maxIdle: 512, idleMs: 15_000 }

/** Serving side: the longest one frame may wait for a paused reader before the stream is given up. */
export const INFER_STALL_MS = 60_000

export type RemoteTimeouts = AgoraConfig['gateway']['timeouts']

/** The gateway.timeouts defaults (see config/schema.ts). */
export const REMOTE_TIMEOUT_DEFAULTS: RemoteTimeouts = {
  /** Reach the peer (TCP + noise + yamux). */
  dialMs: 5000,
  /** From connected to the first frame (the whole computation, for embeddings). */
  firstTokenMs: 60_000,
  /** Longest silence between two frames. */
  idleMs: 30_000,
  /** The whole request, however fast the tokens come. */
  totalMs: 10 * 60_000
}

/**
 * The engine's own timers (E204) get this much more than ours, so that the
 * named timeouts (E910–E913) always fire first.
 */
export const ENGINE_TIMEOUT_SLACK_MS = 1000
