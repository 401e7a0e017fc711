/**
 * Fixed values of package search: the query bounds, the ranking formula's
 * weights, and /agora/search/1's protocol id, frame caps and timeouts (the
 * tunable values live in config section `packages`: searchTimeoutMs,
 * searchFanout, searchPerPeerPerMinute).
 */

/** Bounds of a search query, local or from a peer. */
export const SEARCH_LIMITS = {
  /** Characters of search text. */
  textChars: 256,
  /** Words of search text (each one an FTS5 term). */
  terms: 16,
  /** Results asked by default. */
  defaultLimit: 20,
  /** Results one search returns at most. */
  maxLimit: 100,
  /**
   * Rows the index ranks at most (the best by text relevance, or the newest
   * when there is no text): the final ranking and the newest-version filter
   * work on these, so a query costs the same on any catalogue size.
   */
  candidates: 500,
  /** Longest a search may wait for peers (as packages.searchTimeoutMs allows). */
  maxTimeoutMs: 60_000
} as const

/** bm25 weight of each packages_fts column (name, description, tags, kind): a word in the name counts most. */
export const BM25_WEIGHTS = { name: 4, description: 1, tags: 2, kind: 1 } as const

/**
 * The ranking formula (docs/packages.md "Search"):
 *   score = 0.6 × relevance + 0.25 × reputation + 0.15 × providers / (providers + 2)
 * relevance: the result's bm25 over the best bm25 among the candidates (1
 * for the best match, and for every row when there is no text);
 * reputation: the publisher's, as this node's peer book sees it (0.5 for a
 * stranger); providers: peers known to hold the blocks, this node included.
 */
export const SCORE_WEIGHTS = { relevance: 0.6, reputation: 0.25, providers: 0.15 } as const
/** providers / (providers + PROVIDERS_HALF): half the providers weight at 2 providers. */
export const PROVIDERS_HALF = 2

/** /agora/search/1: a text query answered from the peer's own index. */
export const SEARCH_PROTOCOL_ID = '/agora/search/1'
/** A request is a few hundred bytes of JSON. */
export const SEARCH_MAX_REQUEST_BYTES = 4 * 1024
/** Raw envelope text the server puts in one answer at most (results past it are left out). */
export const SEARCH_ANSWER_BYTES = 1024 * 1024
/** Largest answer frame the asker reads: the envelope budget plus JSON escaping. */
export const SEARCH_MAX_RESPONSE_BYTES = 2 * SEARCH_ANSWER_BYTES
/** The answer comes from the local index: fast, or the peer is in trouble (the search's own timeout is usually shorter). */
export const SEARCH_TIMEOUTS = { firstByteMs: 5_000, responseMs: 10_000 }
/**
 * The engine's own per-peer limit, a loose outer bound: the real one is
 * packages.searchPerPeerPerMinute, refused with E1421 before the request is read.
 */
export const SEARCH_ENGINE_RATE_LIMIT = { perSecond: 50, burst: 100 }
