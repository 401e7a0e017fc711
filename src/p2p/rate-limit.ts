/**
 * Token buckets: `perSecond` tokens flow in each second up to `burst`; each
 * action takes one. Used for the gossip publish cap and per-peer inbound
 * request limits. The keyed limiter bounds its own memory.
 */

export interface TokenBucketInit {
  /** Tokens added per second. */
  perSecond: number
  /** Bucket size, i.e. the largest burst (default: one second's worth). */
  burst?: number
  /** Clock in milliseconds (tests pass a fake one). */
  now?: () => number
}

export class TokenBucket {
  private readonly perMs: number
  private readonly burst: number
  private readonly now: () => number
  private tokens: number
  private updated: number

  constructor (init: TokenBucketInit) {
    this.perMs = init.perSecond / 1000
    this.burst = Math.max(1, init.burst ?? init.perSecond)
    this.now = init.now ?? Date.now
    this.tokens = this.burst
    this.updated = this.now()
  }

  /** Take `n` tokens if there are enough; false (and nothing taken) when not. */
  take (n = 1): boolean {
    this.refill()
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }

  /** True when the bucket is full again (an idle key that can be forgotten). */
  isFull (): boolean {
    this.refill()
    return this.tokens >= this.burst
  }

  private refill (): void {
    const now = this.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updated) * this.perMs)
    this.updated = now
  }
}

export interface KeyedRateLimiterInit extends TokenBucketInit {
  /** Keys tracked at most; idle (full) buckets are dropped first, then the oldest. */
  maxKeys?: number
}

/** One token bucket per key (e.g. per peer), with a bounded number of keys. */
export class KeyedRateLimiter {
  private readonly init: KeyedRateLimiterInit
  private readonly maxKeys: number
  private readonly buckets = new Map<string, TokenBucket>()

  constructor (init: KeyedRateLimiterInit) {
    this.init = init
    this.maxKeys = init.maxKeys ?? 10_000
  }

  take (key: string, n = 1): boolean {
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.prune()
      bucket = new TokenBucket(this.init)
      this.buckets.set(key, bucket)
    }
    return bucket.take(n)
  }

  get size (): number {
    return this.buckets.size
  }

  clear (): void {
    this.buckets.clear()
  }

  private prune (): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.isFull()) this.buckets.delete(key)
    }
    // still full of busy keys: forget the oldest (a forgotten key starts with a full bucket)
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break
      this.buckets.delete(key)
    }
  }
}
