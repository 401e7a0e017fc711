/**
 * Circuit breakers, one per key: `local:<providerId>` for a local provider,
 * `<peerId>:<model>` for a model on a peer. Pure state with an injected
 * clock, no timers:
 *
 *   closed ──(failures in a row ≥ threshold)──▶ open
 *   open ──(cooldown elapsed)──▶ half-open: exactly one probe may go through
 *   half-open ──probe succeeds──▶ closed   ──probe fails──▶ open (cooldown again)
 *
 * A key with no failures holds no entry, so memory grows with failing keys
 * only; beyond `maxKeys` the least recently touched entry is dropped
 * (forgetting a breaker errs on the side of trying the candidate again).
 */

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerInit {
  /** Consecutive failures that open the breaker (gateway.breakerFailures). */
  failures: number
  /** How long an open breaker stays open before one probe (gateway.breakerCooldownMs). */
  cooldownMs: number
  /** Entries kept at most (default 10,000). */
  maxKeys?: number
  now?: () => number
}

export interface BreakerSnapshot {
  key: string
  state: BreakerState
  /** Failures in a row. */
  failures: number
  /** When it last opened (ms), null while closed. */
  openedAt: number | null
}

interface Entry {
  failures: number
  openedAt: number | null
  /** A half-open probe is in flight. */
  probing: boolean
}

/** What a transition did, for logs and metrics. */
export type BreakerTransition = 'opened' | 'closed' | 'reopened' | null

export class CircuitBreakers {
  private readonly entries = new Map<string, Entry>()
  private readonly threshold: number
  private readonly cooldownMs: number
  private readonly maxKeys: number
  private readonly now: () => number

  constructor (init: BreakerInit) {
    this.threshold = Math.max(1, init.failures)
    this.cooldownMs = Math.max(0, init.cooldownMs)
    this.maxKeys = init.maxKeys ?? 10_000
    this.now = init.now ?? Date.now
  }

  state (key: string): BreakerState {
    const entry = this.entries.get(key)
    if (entry?.openedAt == null) return 'closed'
    return this.now() - entry.openedAt >= this.cooldownMs ? 'half-open' : 'open'
  }

  /** Whether a request could go to `key` now (closed, or half-open with no probe in flight). Reserves nothing. */
  allows (key: string): boolean {
    const state = this.state(key)
    if (state === 'closed') return true
    if (state === 'open') return false
    return this.entries.get(key)?.probing !== true
  }

  /** Take the right to send a request to `key`: true when closed, or as the one half-open probe. */
  acquire (key: string): boolean {
    if (!this.allows(key)) return false
    const entry = this.entries.get(key)
    if (entry !== undefined && this.state(key) === 'half-open') entry.probing = true
    return true
  }

  /** The request answered: the breaker closes and forgets the key. */
  success (key: string): BreakerTransition {
    const entry = this.entries.get(key)
    this.entries.delete(key)
    return entry?.openedAt != null ? 'closed' : null
  }

  /** The request failed: count it; open at the threshold, reopen a failed probe. */
  failure (key: string): BreakerTransition {
    const now = this.now()
    const entry = this.touch(key)
    entry.failures++
    if (entry.openedAt !== null) {
      // a failed half-open probe, or a failure of a request sent before the breaker opened
      const wasProbe = entry.probing
      entry.probing = false
      if (wasProbe || now - entry.openedAt >= this.cooldownMs) {
        entry.openedAt = now
        return 'reopened'
      }
      return null
    }
    if (entry.failures >= this.threshold) {
      entry.openedAt = now
      return 'opened'
    }
    return null
  }

  /** The request ended with no verdict (cancelled by the client): free the probe slot. */
  release (key: string): void {
    const entry = this.entries.get(key)
    if (entry !== undefined) entry.probing = false
  }

  snapshot (): BreakerSnapshot[] {
    return [...this.entries].map(([key, entry]) => ({ key, state: this.state(key), failures: entry.failures, openedAt: entry.openedAt }))
  }

  private touch (key: string): Entry {
    let entry = this.entries.get(key)
    if (entry !== undefined) {
      this.entries.delete(key)
    } else {
      entry = { failures: 0, openedAt: null, probing: false }
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next().value
        if (oldest !== undefined) this.entries.delete(oldest)
      }
    }
    this.entries.set(key, entry)
    return entry
  }
}
