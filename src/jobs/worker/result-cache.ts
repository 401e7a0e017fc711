/**
 * Finished results by (coordinator, idempotency key), kept so that a late
 * duplicate offer gets the same result without running again and a large
 * result can be fetched by hash. Bounded by entries and by bytes; the least
 * recently used entry goes first. A result larger than the byte bound is
 * not kept (it cannot be fetched later: the caller gets E1046).
 */
import { WORKER_DEFAULTS } from './constants.ts'
import type { Micro } from '../../market/amount.ts'

export interface CachedResult {
  coordinator: string
  key: string
  type: string
  /**
   * The result's canonical JSON, UTF-8 encoded once: every fetch of it sends
   * slices of this buffer (a copy per fetch let a peer make us hold the
   * result's size again for each fetch it left hanging).
   */
  utf8: Buffer
  /** Its length in bytes (UTF-8). */
  bytes: number
  /** sha256 (hex) of `utf8`. */
  hash: string
  /** Micro-credits the result was made at. */
  price: Micro
  startedAt: number
  finishedAt: number
}

export interface ResultCacheInit {
  maxEntries?: number
  maxBytes?: number
}

export class ResultCache {
  readonly maxEntries: number
  readonly maxBytes: number
  private readonly entries = new Map<string, CachedResult>()
  private totalBytes = 0

  constructor (init: ResultCacheInit = {}) {
    this.maxEntries = init.maxEntries ?? WORKER_DEFAULTS.cacheEntries
    this.maxBytes = init.maxBytes ?? WORKER_DEFAULTS.cacheBytes
  }

  get size (): number {
    return this.entries.size
  }

  get bytes (): number {
    return this.totalBytes
  }

  /** The entry for this coordinator's key (now the most recently used), if kept. */
  get (coordinator: string, key: string): CachedResult | undefined {
    const id = cacheId(coordinator, key)
    const entry = this.entries.get(id)
    if (entry === undefined) return undefined
    this.entries.delete(id)
    this.entries.set(id, entry)
    return entry
  }

  /** Keep `entry` (replacing an older one for the key), then evict down to the bounds. False when it is too large to keep. */
  set (entry: CachedResult): boolean {
    const id = cacheId(entry.coordinator, entry.key)
    this.delete(id)
    if (entry.bytes > this.maxBytes || this.maxEntries < 1) return false
    this.entries.set(id, entry)
    this.totalBytes += entry.bytes
    for (const [oldest, old] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.totalBytes <= this.maxBytes) break
      this.entries.delete(oldest)
      this.totalBytes -= old.bytes
    }
    return true
  }

  clear (): void {
    this.entries.clear()
    this.totalBytes = 0
  }

  private delete (id: string): void {
    const old = this.entries.get(id)
    if (old === undefined) return
    this.entries.delete(id)
    this.totalBytes -= old.bytes
  }
}

/** Keys are scoped by coordinator: another peer cannot read a result by guessing its key. */
function cacheId (coordinator: string, key: string): string {
  return `${coordinator}\u0000${key}`
}
