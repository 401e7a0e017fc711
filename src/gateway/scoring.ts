/**
 * Ranking candidates. Each gets a score in about [0, 1] (higher is better):
 *
 *   score = wL · 1 / (1 + latency / latencyScale)     latency: our EWMA of its first-token
 *                                                      latency, else the peer's ping EWMA,
 *                                                      else unknown (term 0.5); local 0
 *         + wN · 1 / (1 + inFlight)                    our requests running on that server now
 *         + wR · reputation                            peer book, 0..1 (1 for a local provider)
 *         + wP · (1 − (price − min) / (max − min))      min–max over the candidate set (1 when all equal)
 *         + tieBreak · random()
 *
 * Default weights 0.35 / 0.25 / 0.25 / 0.15, tie-break 0.01. Given the same
 * inputs and random source the order is the same. Strategies:
 * prefer-local ranks local candidates first (by score), then peers by score;
 * load-balance ranks everyone by score; local-only has only local ones.
 */
import { GATEWAY_DEFAULTS, type ScoreWeights } from './router-options.ts'
import type { Candidate } from './candidates.ts'
import type { RoutingStrategy } from './types.ts'

export interface ScoreInput {
  /** Milliseconds, null when unknown. */
  latencyMs: number | null
  inFlight: number
  /** 0..1 */
  reputation: number
  /** Micro-credits; only its place between the set's cheapest and dearest counts. */
  price: number
}

export interface ScoreContext {
  minPrice: number
  maxPrice: number
  latencyScaleMs: number
  weights: ScoreWeights
  random: () => number
}

export function scoreCandidate (input: ScoreInput, ctx: ScoreContext): number {
  const w = ctx.weights
  const latency = input.latencyMs === null ? 0.5 : 1 / (1 + Math.max(0, input.latencyMs) / ctx.latencyScaleMs)
  const load = 1 / (1 + Math.max(0, input.inFlight))
  const reputation = Math.min(1, Math.max(0, input.reputation))
  const spread = ctx.maxPrice - ctx.minPrice
  const price = spread > 0 ? 1 - (input.price - ctx.minPrice) / spread : 1
  return w.latency * latency + w.load * load + w.reputation * reputation + w.price * price + w.tieBreak * ctx.random()
}

/** Order candidates for a strategy, best first; `inputOf` gives a candidate's score inputs. */
export function rankCandidates (
  candidates: readonly Candidate[],
  strategy: RoutingStrategy,
  inputOf: (c: Candidate) => ScoreInput,
  opts: { weights?: ScoreWeights, latencyScaleMs?: number, random?: () => number } = {}
): Candidate[] {
  // nothing to rank (an explicit target, a model served once): no score inputs to gather
  if (candidates.length <= 1) return candidates.filter(c => strategy !== 'local-only' || c.route === 'local')
  const inputs = candidates.map(inputOf)
  const prices = inputs.map(i => i.price)
  const ctx: ScoreContext = {
    minPrice: Math.min(...prices),
    maxPrice: Math.max(...prices),
    latencyScaleMs: opts.latencyScaleMs ?? GATEWAY_DEFAULTS.latencyScaleMs,
    weights: opts.weights ?? GATEWAY_DEFAULTS.weights,
    random: opts.random ?? (() => 0)
  }
  const scored = candidates.map((candidate, i) => ({ candidate, score: scoreCandidate(inputs[i] as ScoreInput, ctx), i }))
  const tier = (c: Candidate): number => strategy === 'load-balance' || c.route === 'remote' ? 1 : 0
  scored.sort((a, b) => tier(a.candidate) - tier(b.candidate) || b.score - a.score || a.i - b.i)
  return scored
    .filter(s => strategy !== 'local-only' || s.candidate.route === 'local')
    .map(s => s.candidate)
}

/**
 * What the router learns as it goes: per candidate key an EWMA of the
 * first-token latency, per server the number of our requests running there.
 * Bounded: beyond `maxKeys` the oldest latency is forgotten.
 */
export class CandidateStats {
  private readonly latency = new Map<string, number>()
  private readonly running = new Map<string, number>()
  private readonly alpha: number
  private readonly maxKeys: number

  constructor (init: { alpha?: number, maxKeys?: number } = {}) {
    this.alpha = init.alpha ?? GATEWAY_DEFAULTS.latencyAlpha
    this.maxKeys = init.maxKeys ?? 10_000
  }

  latencyOf (key: string): number | undefined {
    return this.latency.get(key)
  }

  observeLatency (key: string, ms: number): number {
    const previous = this.latency.get(key)
    const next = previous === undefined ? ms : previous + this.alpha * (ms - previous)
    this.latency.delete(key)
    this.latency.set(key, next)
    if (this.latency.size > this.maxKeys) {
      const oldest = this.latency.keys().next().value
      if (oldest !== undefined) this.latency.delete(oldest)
    }
    return next
  }

  inFlight (server: string): number {
    return this.running.get(server) ?? 0
  }

  begin (server: string): void {
    this.running.set(server, this.inFlight(server) + 1)
  }

  end (server: string): void {
    const n = this.inFlight(server) - 1
    if (n > 0) this.running.set(server, n)
    else this.running.delete(server)
  }
}

/** The server a candidate loads: the local provider, or the peer. */
export function loadKey (candidate: Candidate): string {
  return candidate.route === 'local' ? candidate.key : candidate.server
}
