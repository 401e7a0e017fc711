/**
 * The deterministic score of a worker, in [0, 1], higher is better. The
 * first four terms are the gateway's `scoreCandidate` (src/gateway/scoring.ts)
 * with the jobs router's weights and no random tie-break; recency is added:
 *
 *   score = wR · reputation                          peer book, 0..1; 1 for this node
 *         + wP · (1 − (price − min) / (max − min))   per-task price, min–max over the
 *                                                     candidates (1 when all equal)
 *         + wL · 1 / (1 + latency / latencyScale)    ping EWMA from the peer book;
 *                                                     0.5 when unknown; this node 0 ms → 1
 *         + wN · 1 / (1 + load)                      load = inFlight / slotsIdle
 *                                                     (slotsIdle 0: 1 + inFlight, the offer said full)
 *         + wT · recency                             max(offer freshness, success freshness):
 *                                                     offer: (expiresAt − now) / offerTtl, in [0, 1]
 *                                                     success: 2^(−(now − lastSuccess) / recencyHalfLife)
 *
 * Weights 0.3 / 0.2 / 0.15 / 0.25 / 0.1 (they sum to 1). Same inputs, same
 * score: ties are broken by the caller (local first, then peer id).
 */
// the pure scoring module, not the gateway's door: the door loads the whole
// gateway (providers, /agora/infer/1, libp2p protocols) for one function
import { scoreCandidate, type ScoreContext } from '../../gateway/scoring.ts'
import type { RouterWeights } from './constants.ts'

export interface WorkerScoreInput {
  reputation: number
  /** Per-task price, micro-credits (only its place between the cheapest and the dearest counts). */
  price: number
  /** Ping EWMA (ms), null when unknown. */
  latencyMs: number | null
  inFlight: number
  slotsIdle: number
  /** 0..1, see `recencyOf`. */
  recency: number
}

export interface WorkerScoreOptions {
  weights: RouterWeights
  latencyScaleMs: number
}

/** Our in-flight subtasks relative to the idle slots the offer advertised (0: idle). */
export function relativeLoad (inFlight: number, slotsIdle: number): number {
  const running = Math.max(0, inFlight)
  return slotsIdle > 0 ? running / slotsIdle : 1 + running
}

/** How fresh the evidence that the worker is there is: the freshest of its offer and its last success. */
export function recencyOf (input: { now: number, expiresAt: number, lastSuccessAt: number | null }, opts: { offerTtlMs: number, recencyHalfLifeMs: number }): number {
  const offer = clamp01((input.expiresAt - input.now) / opts.offerTtlMs)
  const success = input.lastSuccessAt === null ? 0 : Math.pow(2, -Math.max(0, input.now - input.lastSuccessAt) / opts.recencyHalfLifeMs)
  return Math.max(offer, success)
}

/** The scores of a candidate set, in its order (prices are normalised over the set). */
export function scoreWorkers (inputs: readonly WorkerScoreInput[], opts: WorkerScoreOptions): number[] {
  if (inputs.length === 0) return []
  const prices = inputs.map(i => i.price)
  const w = opts.weights
  const ctx: ScoreContext = {
    minPrice: Math.min(...prices),
    maxPrice: Math.max(...prices),
    latencyScaleMs: opts.latencyScaleMs,
    weights: { reputation: w.reputation, price: w.price, latency: w.latency, load: w.load, tieBreak: 0 },
    random: () => 0
  }
  return inputs.map(input => scoreCandidate({
    reputation: input.reputation,
    price: input.price,
    latencyMs: input.latencyMs,
    inFlight: relativeLoad(input.inFlight, input.slotsIdle)
  }, ctx) + w.recency * clamp01(input.recency))
}

function clamp01 (x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0
}
