/**
 * The catalogue's CIDs in 256 buckets, each summarised by [count, XOR of a
 * 16-byte hash of each CID], kept up to date as packages arrive (O(1) per
 * package), so a sync round compares catalogues of any size in one small
 * answer and lists only the buckets that differ. The count guards the XOR:
 * two different sets of one bucket rarely share both.
 */
import { createHash } from 'node:crypto'
import { SYNC_BUCKETS } from './constants.ts'

const HASH_BYTES = 16

export interface DigestSummary {
  count: number
  /** XOR of every bucket hash, base64url. */
  hash: string
}

export class CatalogDigest {
  private readonly sets: Array<Set<string>> = Array.from({ length: SYNC_BUCKETS }, () => new Set())
  private readonly hashes: Buffer[] = Array.from({ length: SYNC_BUCKETS }, () => Buffer.alloc(HASH_BYTES))
  /** Sorted CIDs per bucket, made on demand and dropped when the bucket changes. */
  private readonly sorted = new Map<number, string[]>()
  private total = 0

  /** Add a CID (a second add of the same one changes nothing). */
  add (cid: string): boolean {
    const h = hashOf(cid)
    const bucket = h[0] as number
    const set = this.sets[bucket] as Set<string>
    if (set.has(cid)) return false
    set.add(cid)
    xorInto(this.hashes[bucket] as Buffer, h)
    this.sorted.delete(bucket)
    this.total++
    return true
  }

  get count (): number {
    return this.total
  }

  summary (): DigestSummary {
    const all = Buffer.alloc(HASH_BYTES)
    for (const h of this.hashes) xorInto(all, h)
    return { count: this.total, hash: all.toString('base64url') }
  }

  /** [count, hash] of every bucket, in bucket order. */
  buckets (): Array<[number, string]> {
    return this.hashes.map((h, i) => [(this.sets[i] as Set<string>).size, h.toString('base64url')])
  }

  /** Buckets whose summary differs from `theirs`. */
  differing (theirs: ReadonlyArray<readonly [number, string]>): number[] {
    const ours = this.buckets()
    const out: number[] = []
    for (let i = 0; i < SYNC_BUCKETS; i++) {
      const a = ours[i] as [number, string]
      const b = theirs[i]
      if (b === undefined || a[0] !== b[0] || a[1] !== b[1]) out.push(i)
    }
    return out
  }

  /** CIDs of the given buckets in string order after `after`, at most `limit`; `next` when more follow. */
  list (buckets: readonly number[], after: string | undefined, limit: number): { cids: string[], next?: string } {
    const merged: string[] = []
    for (const bucket of new Set(buckets)) {
      for (const cid of this.sortedOf(bucket)) if (after === undefined || cid > after) merged.push(cid)
    }
    merged.sort()
    const cids = merged.slice(0, limit)
    return merged.length > limit ? { cids, next: cids[cids.length - 1] as string } : { cids }
  }

  has (cid: string): boolean {
    return (this.sets[hashOf(cid)[0] as number] as Set<string>).has(cid)
  }

  private sortedOf (bucket: number): string[] {
    let list = this.sorted.get(bucket)
    if (list === undefined) {
      list = [...(this.sets[bucket] ?? [])].sort()
      this.sorted.set(bucket, list)
    }
    return list
  }
}

/** The CID string's sha256, first 16 bytes (the string form is what both sides list). */
function hashOf (cid: string): Buffer {
  return createHash('sha256').update(cid).digest().subarray(0, HASH_BYTES)
}

function xorInto (target: Buffer, h: Buffer): void {
  for (let i = 0; i < HASH_BYTES; i++) target[i] = (target[i] as number) ^ (h[i] as number)
}
