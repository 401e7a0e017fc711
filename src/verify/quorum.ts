/**
 * How many agreeing attestations decide a result (docs/verification.md,
 * "Quorum"): K = min(kTarget, floor(active × alpha)), never below 1 —
 * except in bootstrap mode, where K = 1 and what is decided is
 * provisional. The network is in bootstrap mode while fewer than
 * `minVerifiers` verifiers are active, and stays in it until the count has
 * held at or above that for `stableMs` without a dip: a network that
 * flickers around the threshold does not leave and re-enter bootstrap mode
 * with every count.
 */
import { VERIFY_DEFAULTS } from './constants.ts'

export interface QuorumInit {
  /** Largest quorum wanted (k_target). */
  kTarget?: number
  /** Share of the active verifiers a quorum may take. */
  alpha?: number
  /** Active verifiers the network needs before leaving bootstrap mode. */
  minVerifiers?: number
  /** How long that count must hold before it does. */
  stableMs?: number
}

export type QuorumMode = 'bootstrap' | 'quorum'

export interface QuorumState {
  mode: QuorumMode
  /** Agreeing attestations a decision needs now. */
  k: number
  /** Verifiers counted active at the last observation. */
  active: number
  /** Since when the count has held at or above `minVerifiers` (bootstrap mode only; undefined: it has not). */
  stableSince: number | undefined
  /** Decisions taken now are provisional (bootstrap mode): part of their pay stays held through the audit window. */
  provisional: boolean
}

/** K for `active` verifiers outside bootstrap mode: min(kTarget, floor(active × alpha)), at least 1. */
export function quorumSize (active: number, kTarget: number = VERIFY_DEFAULTS.kTarget, alpha: number = VERIFY_DEFAULTS.alpha): number {
  if (!Number.isInteger(active) || active < 0) throw new RangeError(`active verifiers must be a whole number ≥ 0, got ${active}`)
  return Math.max(1, Math.min(kTarget, Math.floor(active * alpha)))
}

export class Quorum {
  private readonly kTarget: number
  private readonly alpha: number
  private readonly minVerifiers: number
  private readonly stableMs: number
  private active = 0
  private stableSince: number | undefined
  private left = false

  constructor (init: QuorumInit = {}) {
    this.kTarget = init.kTarget ?? VERIFY_DEFAULTS.kTarget
    this.alpha = init.alpha ?? VERIFY_DEFAULTS.alpha
    this.minVerifiers = init.minVerifiers ?? VERIFY_DEFAULTS.bootstrapMinVerifiers
    this.stableMs = init.stableMs ?? VERIFY_DEFAULTS.bootstrapStableMs
    if (!(this.kTarget >= 1) || !Number.isInteger(this.kTarget)) throw new RangeError(`kTarget must be a whole number ≥ 1, got ${this.kTarget}`)
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${this.alpha}`)
  }

  /**
   * The verifiers active at `now`. Bootstrap mode is left once the count has
   * held at or above `minVerifiers` for `stableMs`; a later drop below it
   * enters bootstrap mode again (K = 1 would otherwise let one verifier
   * decide in a network that lost most of them).
   */
  observe (active: number, now: number): QuorumState {
    if (!Number.isInteger(active) || active < 0) throw new RangeError(`active verifiers must be a whole number ≥ 0, got ${active}`)
    this.active = active
    if (active < this.minVerifiers) {
      this.stableSince = undefined
      this.left = false
    } else if (!this.left) {
      this.stableSince ??= now
      if (now - this.stableSince >= this.stableMs) this.left = true
    }
    return this.state()
  }

  state (): QuorumState {
    const mode: QuorumMode = this.left ? 'quorum' : 'bootstrap'
    return {
      mode,
      k: mode === 'bootstrap' ? 1 : quorumSize(this.active, this.kTarget, this.alpha),
      active: this.active,
      stableSince: this.left ? undefined : this.stableSince,
      provisional: mode === 'bootstrap'
    }
  }
}
