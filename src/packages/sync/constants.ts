/** /agora/packages/sync/1: anti-entropy of the package catalogue (see protocol.ts). */
export const PACKAGE_SYNC_PROTOCOL_ID = '/agora/packages/sync/1'
/** The digest splits the CIDs into this many buckets (by the first byte of the manifest hash). */
export const SYNC_BUCKETS = 256
/** CIDs in one `list` page at most. */
export const SYNC_LIST_PAGE = 2000
/** CIDs asked in one `get` at most. */
export const SYNC_GET_BATCH = 64
/** Envelope text the responder puts in one `get` answer (at least one envelope, whatever its size). */
export const SYNC_GET_BYTES = 1024 * 1024
/** Largest request frame: a `get` of SYNC_GET_BATCH CIDs, or a `list` of every bucket. */
export const SYNC_MAX_REQUEST_BYTES = 64 * 1024
/** Largest answer: one envelope of the largest manifest allowed (4 MiB, base64url) plus the page budget. */
export const SYNC_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
/** Answers come from memory or one SQLite read. */
export const SYNC_TIMEOUTS = { firstByteMs: 5_000, responseMs: 15_000 }
/** Per peer: a 10,000-package first round is ~160 `get`s and a few `list`s; a burst covers it. */
export const SYNC_RATE_LIMIT = { perSecond: 20, burst: 200 }

/** Scheduler and round defaults of the catalogue's anti-entropy. */
export const PACKAGE_SYNC_DEFAULTS = {
  /** A round with a random connected peer this often. */
  intervalMs: 60_000,
  /** Not again with the same peer within this. */
  minGapMs: 10_000,
  /** Rounds at once. */
  concurrency: 2,
  /** Peers waiting for a round at most. */
  queueSize: 64,
  /** A whole round at most. */
  roundTimeoutMs: 120_000,
  /** Packages pulled in one round at most (the next round pulls the rest). */
  maxPullPerRound: 20_000
}
