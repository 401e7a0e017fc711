/**
 * Fixed values of the peers room and the defaults its services fall back to
 * when an init value is missing (the config schema's `reputation` section
 * holds the same defaults; a unit test keeps them equal).
 */

export const REPUTATION_DEFAULTS = {
  /** Half-life of past observations in the score (6 h). */
  halfLifeMs: 6 * 60 * 60 * 1000,
  /** Below this reputation (with enough evidence) a peer is banned. */
  banThreshold: 0.2,
  /** Decayed, weighted observations needed before an automatic ban. */
  minObservations: 8,
  /** Cool-down of an automatic ban (10 min). */
  banDurationMs: 10 * 60 * 1000,
  /** First retry delay when a trusted peer disconnects. */
  trustedReconnectMinMs: 1000,
  /** Longest delay between reconnect attempts to a trusted peer. */
  trustedReconnectMaxMs: 60_000
} as const

export const PEER_BOOK_DEFAULTS = {
  /** A `peer:reputation` event is emitted when the score moved this much since the last one. */
  reputationEventStep: 0.01,
  /** Peers whose last emitted score is remembered (oldest forgotten first). */
  maxTrackedPeers: 10_000
} as const

export const PEER_GUARD_DEFAULTS = {
  /** Give up one reconnect dial after this long. */
  dialTimeoutMs: 10_000,
  /** Each backoff delay is scaled by a random factor in [1 − jitter, 1 + jitter]. */
  jitter: 0.2
} as const

/** The reason stored with an automatic ban. */
export const AUTO_BAN_REASON = 'reputation below threshold'

/** `bannedUntil` of a ban without expiry (the API's peer schema says the same). */
export const BAN_FOREVER = Number.MAX_SAFE_INTEGER

/** The longest ban with an expiry (about 100 years); a longer one is a ban without expiry. */
export const MAX_BAN_DURATION_MS = 100 * 365.25 * 24 * 60 * 60 * 1000

/** Peer store tag on trusted peers: libp2p's connection pruner closes them last. */
export const TRUSTED_TAG = 'agora-trusted'
export const TRUSTED_TAG_VALUE = 100
