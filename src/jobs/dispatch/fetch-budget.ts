/**
 * Node-wide room for results fetched by reference. A fetched result is held
 * whole until it is checked (its chunks, the joined bytes, the decoded text,
 * the parsed value and its canonical JSON: at least three times its size at
 * the peak), and every job this node coordinates may have
 * `jobs.concurrency` attempts fetching at once: without a bound, workers
 * answering with results of the 32 MiB limit could make the coordinator
 * hold gigabytes. A fetch reserves its announced size first and waits, in
 * order of arrival, until that much is free; a result larger than the whole
 * budget waits for all of it. One worker holds at most a quarter of the
 * budget at a time (one result always, whatever its size): a worker
 * trickling large results slowly cannot take all of it, and its own waits
 * step aside for the other workers' waits behind them.
 *
 * Written here rather than taken from a library: async-mutex's weighted
 * Semaphore walks every unit of its value on each release (a second per
 * release at 256 MiB counted in bytes) and cannot drop one abandoned wait
 * from its queue; the count-based semaphores (p-limit, async-sema) have no
 * weights.
 */

interface Wait {
  bytes: number
  owner: string | undefined
  grant: () => void
}

export class ResultFetchBudget {
  /** Bytes that may be reserved at once. */
  readonly capacity: number
  /** Bytes one owner (a worker) may hold at once, beyond its first reservation. */
  readonly share: number
  private free: number
  /** Waits in order of arrival; the first one is served as soon as its size is free. */
  private readonly queue: Wait[] = []
  private readonly held = new Map<string, number>()

  constructor (capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1) throw new RangeError(`a fetch budget of ${capacityBytes} bytes`)
    this.capacity = capacityBytes
    this.share = Math.ceil(capacityBytes / 4)
    this.free = capacityBytes
  }

  /**
   * Room for `bytes` (at most the whole budget), once it is free and within
   * `owner`'s share (none without an owner); resolves to the function that
   * gives it back (later calls do nothing). Rejects with the signal's reason
   * if that aborts first, and the wait leaves the line.
   */
  async reserve (bytes: number, signal: AbortSignal, owner?: string): Promise<() => void> {
    signal.throwIfAborted()
    const size = Math.min(this.capacity, Math.max(1, Math.ceil(bytes)))
    if (this.queue.length === 0 && this.fits(size, owner)) this.take(size, owner)
    else await this.waitInLine(size, owner, signal)
    let given = false
    return () => {
      if (given) return
      given = true
      this.free += size
      if (owner !== undefined) {
        const left = (this.held.get(owner) ?? 0) - size
        if (left > 0) this.held.set(owner, left)
        else this.held.delete(owner)
      }
      this.serve()
    }
  }

  /** Bytes reserved now. */
  get reserved (): number {
    return this.capacity - this.free
  }

  /** Fetches waiting for room now. */
  get waiting (): number {
    return this.queue.length
  }

  /** Resolves once `size` is taken for this wait (the room is counted as reserved before it resolves). */
  private async waitInLine (size: number, owner: string | undefined, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.queue.splice(this.queue.indexOf(wait), 1)
        reject(signal.reason)
        // those behind it may fit now
        this.serve()
      }
      const wait: Wait = {
        bytes: size,
        owner,
        grant: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      }
      this.queue.push(wait)
      signal.addEventListener('abort', onAbort, { once: true })
      // the waits ahead may be held back only by their owners' shares
      this.serve()
    })
  }

  /**
   * Grant the waits in order while their sizes fit; one that does not fit
   * stops the line (so large waits are not passed over for good), one held
   * back only by its owner's share steps aside.
   */
  private serve (): void {
    for (let i = 0; i < this.queue.length;) {
      const wait = this.queue[i] as Wait
      if (wait.bytes > this.free) return
      if (!this.fits(wait.bytes, wait.owner)) {
        i++
        continue
      }
      this.queue.splice(i, 1)
      this.take(wait.bytes, wait.owner)
      wait.grant()
    }
  }

  private fits (size: number, owner: string | undefined): boolean {
    if (size > this.free) return false
    const held = owner === undefined ? 0 : this.held.get(owner) ?? 0
    return held === 0 || held + size <= this.share
  }

  private take (size: number, owner: string | undefined): void {
    this.free -= size
    if (owner !== undefined) this.held.set(owner, (this.held.get(owner) ?? 0) + size)
  }
}
