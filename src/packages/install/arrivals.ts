/**
 * Blocks handed from the fetch to the file writer as they are stored, so an
 * install writes its files while it fetches instead of after, and the
 * writer takes most blocks from memory instead of reading them back from
 * the blockstore. Only blocks the fetcher has hashed against their CID and
 * stored come here. Memory is bounded: a block nobody waits for is kept
 * only while the kept ones stay under `maxBytes` (the writer reads the
 * others from the blockstore); a block is given out once and forgotten.
 */
import type { CID } from 'multiformats/cid'
import { readBlock, type ChunkedBlocks } from './read-block.ts'

/** What the writer needs of the blockstore: blocks held here, read offline. */
export interface StoredBlocks extends ChunkedBlocks {
  has(cid: CID): Promise<boolean> | boolean
}

interface Waiter {
  resolve(block: Uint8Array): void
  reject(err: unknown): void
}

export class BlockArrivals {
  private readonly store: StoredBlocks
  private readonly maxBytes: number
  private readonly kept = new Map<string, Uint8Array>()
  private keptBytes = 0
  private readonly waiting = new Map<string, Waiter[]>()
  /** Set when the fetch failed: every wait fails with it. */
  private failure: { err: unknown } | undefined
  /** Set when the fetch is over: whatever is not kept is in the blockstore (or nowhere). */
  private finished = false

  constructor (store: StoredBlocks, init: { maxBytes: number }) {
    this.store = store
    this.maxBytes = init.maxBytes
  }

  /** A block the fetcher verified and stored. */
  arrived (cid: CID, block: Uint8Array): void {
    const key = cid.toString()
    const waiters = this.waiting.get(key)
    if (waiters !== undefined) {
      this.waiting.delete(key)
      for (const waiter of waiters) waiter.resolve(block)
      return
    }
    if (this.kept.has(key) || this.keptBytes + block.byteLength > this.maxBytes) return
    this.kept.set(key, block)
    this.keptBytes += block.byteLength
  }

  /** The fetch failed: the writer stops with the same error. */
  fail (err: unknown): void {
    this.failure = { err }
    this.release(waiter => { waiter.reject(err) })
  }

  /** The fetch is over: anyone still waiting reads the blockstore. */
  finish (): void {
    this.finished = true
    this.release(waiter => { waiter.reject(undefined) })
  }

  /** Drop every kept block (the install is over, whichever way). */
  clear (): void {
    this.kept.clear()
    this.keptBytes = 0
  }

  /** One whole block: from memory, from the blockstore, or when it arrives. */
  async block (cid: CID, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    if (this.failure !== undefined) throw this.failure.err
    const key = cid.toString()
    const kept = this.kept.get(key)
    if (kept !== undefined) {
      this.kept.delete(key)
      this.keptBytes -= kept.byteLength
      return kept
    }
    if (!this.finished) {
      // waiting first, then asking the store: a block stored in between is not missed
      const { arrival, cancel } = this.wait(key, options.signal)
      if (await this.store.has(cid)) {
        cancel()
      } else {
        const block = await arrival.catch((err: unknown) => {
          if (err !== undefined) throw err
          return undefined // the fetch is over: read the store
        })
        if (block !== undefined) return block
      }
    }
    return await readBlock(this.store, cid, { ...options, offline: true })
  }

  /** The shape ipfs-unixfs-exporter reads blocks through. */
  async * get (cid: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    yield await this.block(cid, options)
  }

  private wait (key: string, signal: AbortSignal | undefined): { arrival: Promise<Uint8Array>, cancel: () => void } {
    let waiter: Waiter = { resolve: () => {}, reject: () => {} }
    const arrival = new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = (): void => { reject(signal?.reason) }
      const done = (): void => { signal?.removeEventListener('abort', onAbort) }
      waiter = { resolve: block => { done(); resolve(block) }, reject: err => { done(); reject(err) } }
      signal?.addEventListener('abort', onAbort, { once: true })
      if (signal?.aborted === true) onAbort()
    })
    // handled from the start: a cancel may reject it while the caller still awaits the store's `has`
    arrival.catch(() => {})
    this.waiting.set(key, [...this.waiting.get(key) ?? [], waiter])
    const cancel = (): void => {
      waiter.reject(undefined)
      const rest = (this.waiting.get(key) ?? []).filter(w => w !== waiter)
      if (rest.length === 0) this.waiting.delete(key)
      else this.waiting.set(key, rest)
    }
    return { arrival, cancel }
  }

  private release (settle: (waiter: Waiter) => void): void {
    const all = [...this.waiting.values()].flat()
    this.waiting.clear()
    for (const waiter of all) settle(waiter)
  }
}
