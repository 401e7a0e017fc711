/**
 * Per-key token budgets that may run into debt. The p2p TokenBucket is
 * all-or-nothing and never negative, which suits counting requests but not
 * metering tokens: a request is admitted on an estimate and charged its
 * actual usage afterwards, which may exceed what was left. Here a charge
 * always lands (down to a bounded debt), and the meter says how long until
 * a budget is back, which becomes the caller's Retry-After. Admission
 * debits the estimate at once (so concurrent requests cannot all pass on
 * one full budget) and the settlement debits or refunds the difference.
 */

export interface TokenMeterInit {
  /** Tokens added per minute; also the budget's size (a minute's worth). */
  perMinute: number
  /** Keys tracked at most; full budgets are dropped first, then the least recently charged. */
  maxKeys: number
  /** Largest debt, in minutes of refill. */
  maxDebtMinutes: number
  now: () => number
}

interface Budget {
  tokens: number
  updated: number
}

export class TokenMeter {
  private readonly capacity: number
  private readonly perMs: number
  private readonly floor: number
  private readonly maxKeys: number
  private readonly now: () => number
  private readonly budgets = new Map<string, Budget>()

  constructor (init: TokenMeterInit) {
    this.capacity = Math.max(1, init.perMinute)
    this.perMs = this.capacity / 60_000
    this.floor = -this.capacity * init.maxDebtMinutes
    this.maxKeys = Math.max(1, init.maxKeys)
    this.now = init.now
  }

  /**
   * Milliseconds until `key` has `need` tokens (0: it has them now). A need
   * above the budget's size waits for a full budget, so a large request is
   * possible at all. Reading never creates an entry.
   */
  waitMs (key: string, need: number): number {
    const budget = this.budgets.get(key)
    if (budget === undefined) return 0
    const tokens = this.refill(budget)
    const wanted = Math.min(Math.max(0, need), this.capacity)
    return tokens >= wanted ? 0 : Math.ceil((wanted - tokens) / this.perMs)
  }

  /** Take `n` tokens from `key`, running into debt if needed (bounded); answers how many were taken (less at the debt's floor). */
  debit (key: string, n: number): number {
    if (!(n > 0)) return 0
    let budget = this.budgets.get(key)
    if (budget === undefined) {
      if (this.budgets.size >= this.maxKeys) this.prune()
      budget = { tokens: this.capacity, updated: this.now() }
    } else {
      // most recently charged last: the oldest entries are pruned first
      this.budgets.delete(key)
    }
    const before = this.refill(budget)
    budget.tokens = Math.max(this.floor, before - n)
    this.budgets.set(key, budget)
    return before - budget.tokens
  }

  /** Give back `n` tokens to `key` (an estimate debited at admission that the request did not use), up to a full budget. */
  refund (key: string, n: number): void {
    const budget = this.budgets.get(key)
    if (budget === undefined || !(n > 0)) return
    budget.tokens = Math.min(this.capacity, this.refill(budget) + n)
  }

  /** Tokens `key` has now (the full budget for an unknown key). */
  available (key: string): number {
    const budget = this.budgets.get(key)
    return budget === undefined ? this.capacity : this.refill(budget)
  }

  get size (): number {
    return this.budgets.size
  }

  clear (): void {
    this.budgets.clear()
  }

  private refill (budget: Budget): number {
    const now = this.now()
    budget.tokens = Math.min(this.capacity, budget.tokens + Math.max(0, now - budget.updated) * this.perMs)
    budget.updated = now
    return budget.tokens
  }

  private prune (): void {
    for (const [key, budget] of this.budgets) {
      if (this.refill(budget) >= this.capacity) this.budgets.delete(key)
    }
    for (const key of this.budgets.keys()) {
      if (this.budgets.size < this.maxKeys) break
      this.budgets.delete(key)
    }
  }
}
