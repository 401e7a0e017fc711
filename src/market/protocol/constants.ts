/** /agora/market/1: direct requests, payment proofs and balance checks between a pair of nodes. */
export const MARKET_PROTOCOL_ID = '/agora/market/1'

/**
 * A REQUEST envelope is ~700 bytes; a PAYMENT lists the receipts it covers
 * (ids and amounts, ~150 bytes each): room for a few hundred of them.
 */
export const MARKET_MAX_REQUEST_BYTES = 128 * 1024
/** An ACCEPT or REJECT envelope, an acknowledgement or a balance view. */
export const MARKET_MAX_RESPONSE_BYTES = 16 * 1024

/**
 * The seller may hold a poll on a pending request (manual mode) for up to
 * MARKET_DEFAULTS.pendingWaitMs (15 s) before answering "pending": first
 * byte and whole answer get more than that. Payments and balance checks pass
 * their own, shorter signal.
 */
export const MARKET_TIMEOUTS = { requestMs: 5_000, firstByteMs: 20_000, responseMs: 20_000 }

/**
 * Per-peer requests per second: a busy buyer pays a seller every few
 * seconds and requests a contract now and then; polls come every ~15 s.
 */
export const MARKET_RATE_LIMIT = { perSecond: 20, burst: 40 }

/** Units of work one request may ask for at most. */
export const MAX_QUANTITY = 1_000_000_000

/** Longest `what` (a model name or a task type) and reject message, in characters. */
export const MAX_WHAT_LENGTH = 256
export const MAX_REJECT_MESSAGE = 256

/** Idle warm streams kept per peer and in all, and how long one waits for the next request. */
export const MARKET_STREAM_REUSE = { maxIdlePerPeer: 4, maxIdle: 256, idleMs: 15_000 }
