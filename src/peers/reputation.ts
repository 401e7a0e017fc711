/**
 * The reputation formula: pure functions, no I/O, time passed in (the
 * simulator runs them for thousands of agents; tests use a fake clock).
 *
 * A peer's record is a Beta posterior over "the next interaction goes
 * well", with exponential forgetting:
 *
 *   prior            α₀ = β₀ = 1                       (a stranger scores 0.5)
 *   decay to t       d = 2^(−(t − t_last) / halfLife)
 *                    α ← α₀ + (α − α₀)·d,  β ← β₀ + (β − β₀)·d
 *   observe          success: α += 1
 *                    failure: β += 1,  timeout: β += 1,  invalid: β += 3
 *   score            r = α / (α + β)                    (posterior mean, in (0, 1))
 *   evidence         n = (α − α₀) + (β − β₀)            (decayed, weighted observations)
 *   ban              r < banThreshold  and  round(n) ≥ minObservations  and not trusted
 *
 * Decay pulls the state back toward the prior, so old behaviour fades:
 * after one half-life an observation weighs half, and an idle peer drifts
 * back to 0.5 (forgiveness). An invalid (forged or malformed) message
 * weighs three failures: it is deliberate, not bad luck.
 *
 * Why the mean and not a lower confidence bound: a lower bound scores a
 * stranger near 0, which would push every newcomer toward the ban and the
 * gossip graylist. The mean keeps strangers neutral; the evidence gate
 * (n ≥ minObservations) is what asks for confidence before a ban. n is
 * rounded to whole observations: eight failures a few seconds apart have
 * decayed to 7.99… and still count as eight.
 *
 * Uptime is the same idea for pings: a decayed fraction of answered pings,
 * ok/total with both sums decayed by the same half-life.
 *
 * Gossipsub's application score (P5, weight 1) maps r to (r − 0.5)·20,
 * i.e. −10..+10: neutral for strangers, at the gossip threshold (−10) only
 * for the worst peers. A banned peer scores −1000 (far below the graylist
 * threshold, −80: its messages are ignored); a trusted one scores +10 (kept
 * in the mesh, its peer exchange accepted). See docs/reputation.md.
 */

export type Outcome = 'success' | 'failure' | 'timeout' | 'invalid'

export const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'timeout', 'invalid']

/** How much one observation adds to α (good) or β (bad). */
export const OUTCOME_WEIGHTS: Record<Outcome, { alpha: number, beta: number }> = {
  success: { alpha: 1, beta: 0 },
  failure: { alpha: 0, beta: 1 },
  timeout: { alpha: 0, beta: 1 },
  // a forged or malformed message is deliberate: it weighs three failures
  invalid: { alpha: 0, beta: 3 }
}

export const REPUTATION_PRIOR = { alpha: 1, beta: 1 } as const

/** Gossipsub application score: (r − 0.5) × span, so −10..+10. */
export const APP_SCORE_SPAN = 20
/** Application score of a banned peer: far below gossipsub's graylist threshold. */
export const APP_SCORE_BANNED = -1000
/** Application score of a trusted peer: the top of the range. */
export const APP_SCORE_TRUSTED = APP_SCORE_SPAN / 2

export interface BetaState {
  alpha: number
  beta: number
  /** When α and β were last decayed (ms). */
  updatedAt: number
}

export interface UptimeState {
  /** Decayed count of answered pings. */
  ok: number
  /** Decayed count of all pings. */
  total: number
  updatedAt: number
}

export interface BanRule {
  banThreshold: number
  minObservations: number
}

/** 2^(−Δt / halfLife); 1 when time went backwards or did not pass. */
export function decayFactor (elapsedMs: number, halfLifeMs: number): number {
  if (!(elapsedMs > 0)) return 1
  return Math.pow(2, -elapsedMs / halfLifeMs)
}

/** A stranger's state at `now`. */
export function priorState (now: number): BetaState {
  return { alpha: REPUTATION_PRIOR.alpha, beta: REPUTATION_PRIOR.beta, updatedAt: now }
}

/** The state decayed toward the prior, as seen at `now` (never moves the clock back). */
export function decayState (state: BetaState, now: number, halfLifeMs: number): BetaState {
  const d = decayFactor(now - state.updatedAt, halfLifeMs)
  return {
    alpha: REPUTATION_PRIOR.alpha + (state.alpha - REPUTATION_PRIOR.alpha) * d,
    beta: REPUTATION_PRIOR.beta + (state.beta - REPUTATION_PRIOR.beta) * d,
    updatedAt: Math.max(now, state.updatedAt)
  }
}

/** Fold one observation at `now` into the state (undefined: a stranger). */
export function observe (state: BetaState | undefined, outcome: Outcome, now: number, halfLifeMs: number): BetaState {
  const decayed = decayState(state ?? priorState(now), now, halfLifeMs)
  const weight = OUTCOME_WEIGHTS[outcome]
  return { alpha: decayed.alpha + weight.alpha, beta: decayed.beta + weight.beta, updatedAt: decayed.updatedAt }
}

/** The posterior mean α / (α + β), in (0, 1). */
export function score (state: BetaState): number {
  return state.alpha / (state.alpha + state.beta)
}

/** The reputation at `now`: the decayed state's score; 0.5 for a stranger. */
export function reputationAt (state: BetaState | undefined, now: number, halfLifeMs: number): number {
  return state === undefined ? 0.5 : score(decayState(state, now, halfLifeMs))
}

/** Decayed, weighted observations behind the state (0 for a stranger). */
export function evidence (state: BetaState): number {
  return Math.max(0, state.alpha - REPUTATION_PRIOR.alpha) + Math.max(0, state.beta - REPUTATION_PRIOR.beta)
}

/** Whether a peer in this (already decayed) state should be banned automatically. */
export function shouldBan (state: BetaState, rule: BanRule, trusted: boolean): boolean {
  return !trusted && Math.round(evidence(state)) >= rule.minObservations && score(state) < rule.banThreshold
}

/** Fold one ping into the uptime sums (undefined: no ping yet). */
export function observeUptime (state: UptimeState | undefined, ok: boolean, now: number, halfLifeMs: number): UptimeState {
  const d = state === undefined ? 0 : decayFactor(now - state.updatedAt, halfLifeMs)
  return {
    ok: (state?.ok ?? 0) * d + (ok ? 1 : 0),
    total: (state?.total ?? 0) * d + 1,
    updatedAt: Math.max(now, state?.updatedAt ?? now)
  }
}

/** Share of answered pings (decayed), or null before the first ping. */
export function uptimeFraction (state: UptimeState | undefined): number | null {
  if (state === undefined || state.total <= 0) return null
  return state.ok / state.total
}

/** Gossipsub's application-specific score for a peer. */
export function appScore (reputation: number, flags: { banned: boolean, trusted: boolean }): number {
  if (flags.banned) return APP_SCORE_BANNED
  if (flags.trusted) return APP_SCORE_TRUSTED
  return (reputation - 0.5) * APP_SCORE_SPAN
}
