/** /agora/info/1: who a peer is and how to reach it. */
export const INFO_PROTOCOL_ID = '/agora/info/1'
/** The request is `{}`. */
export const INFO_MAX_REQUEST_BYTES = 64
/** Room for 64 addresses of up to 200 characters. */
export const INFO_MAX_RESPONSE_BYTES = 16 * 1024
/** Addresses sent at most. */
export const INFO_MAX_ADDRS = 64
/** A tiny answer: it comes fast or the peer is in trouble. */
export const INFO_TIMEOUTS = { firstByteMs: 3_000, responseMs: 5_000 }
/** Per-peer requests per second. */
export const INFO_RATE_LIMIT = { perSecond: 5, burst: 10 }
