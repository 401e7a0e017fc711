/**
 * Defaults of the jobs router (the config keys: `jobs.exploration`, and the
 * half-life shared with `reputation.halfLifeMs`; the rest are fixed here).
 */

export interface RouterWeights {
  /** Peer book reputation, 0..1 (1 for this node). */
  reputation: number
  /** Per-task price, min–max normalised over the candidates (cheapest 1). */
  price: number
  /** Ping EWMA: 1 / (1 + latency / latencyScaleMs); 0.5 when unknown, 1 locally. */
  latency: number
  /** Our in-flight subtasks relative to the idle slots the offer advertised. */
  load: number
  /** The freshest of: the offer's remaining validity, the worker's last success. */
  recency: number
}

export const ROUTER_DEFAULTS = {
  /** Weight of the Thompson draw against the deterministic score (jobs.exploration). */
  exploration: 0.3,
  /** Half-life of the bandit's successes and failures (reputation.halfLifeMs: 6 h). */
  halfLifeMs: 6 * 60 * 60 * 1000,
  /** Weights of the deterministic score; they sum to 1 so the score stays in [0, 1]. */
  weights: { reputation: 0.3, price: 0.2, latency: 0.15, load: 0.25, recency: 0.1 },
  /** Ping latency at which the latency term is one half. */
  latencyScaleMs: 200,
  /** An offer's validity when fresh (offers.ttlMs): remaining validity / this = offer freshness. */
  offerTtlMs: 5 * 60 * 1000,
  /** Half-life of the last success in the recency term. */
  recencyHalfLifeMs: 10 * 60 * 1000,
  /** (peer, task type) pairs kept, in memory and in the store; the least recently updated go first. */
  maxArms: 10_000,
  /** Write the bandit's changes to the store at most this often. */
  flushIntervalMs: 1_000,
  /** Choices in the sliding window of the exploration-ratio gauge. */
  explorationWindow: 1_000,
  /** Offers named in E1020's `closest`. */
  closestOffers: 3
} as const satisfies {
  exploration: number
  halfLifeMs: number
  weights: RouterWeights
  latencyScaleMs: number
  offerTtlMs: number
  recencyHalfLifeMs: number
  maxArms: number
  flushIntervalMs: number
  explorationWindow: number
  closestOffers: number
}
