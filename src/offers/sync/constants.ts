/** /agora/sync/1: anti-entropy of the offer table. */
export const SYNC_PROTOCOL_ID = '/agora/sync/1'
/** Entries of the requester's digest sent at most (beyond it the responder may send copies we hold: dropped as duplicates). */
export const SYNC_MAX_HAVE = 20_000
/** A digest entry is ~28 bytes of JSON: room for SYNC_MAX_HAVE of them. */
export const SYNC_MAX_REQUEST_BYTES = 1024 * 1024
/** Envelopes in one page at most (offers.syncPageSize is at most this). */
export const SYNC_MAX_PAGE = 1000
/** Raw envelope bytes the responder puts in one page at most. */
export const SYNC_PAGE_BYTES = 1024 * 1024
/** Largest page frame accepted: the byte budget plus JSON escaping. */
export const SYNC_MAX_RESPONSE_BYTES = 2 * SYNC_PAGE_BYTES
/** A page is read from memory: it comes fast or the peer is in trouble. */
export const SYNC_TIMEOUTS = { firstByteMs: 5_000, responseMs: 10_000 }
/** Per-peer requests per second: a round of many pages bursts (120 pages of 100 offers: a 12,000-offer table in one go). */
export const SYNC_RATE_LIMIT = { perSecond: 20, burst: 120 }
