/**
 * Node-wide room for results fetched by reference. A fetched result is held
 * whole until it is checked (its chunks, the joined bytes, the decoded text,
 * the parsed value and its canonical JSON: at least three times its size at
 * the peak), and every job this node coordinates may have
 * `jobs.concurrency` attempts fetching at once: without a bound, workers
 * answering with results of the 32 MiB limit could make the coordinator
 * hold gigabytes. A fetch reserves its announced size first and waits, in
 * order of arrival, until that much is free; a result larger than the whole
 * budget waits for all of it.
 *
 * Written here rather than taken from a library: async-mutex's weighted
 * Semaphore walks every unit of its value on each release (a second per
 * release at 256 MiB counted in bytes) and cannot drop one abandoned wait
 * from its queue; the count-based semaphores (p-limit, async-sema) have no
 * weights.
 */

interface Wait {
  bytes: number
  grant: () => void
}

export class ResultFetchBudget {
  /** Bytes that may be reserved at once. */
  readonly capacity: number
  private free: number
  /** Waits in order of arrival; the first one is served as soon as its size is free. */
  private readonly queue: Wait[] = []

  constructor (capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1) throw new RangeError(`a fetch budget of ${capacityBytes} bytes`)
    this.capacity = capacityBytes
    this.free = capacityBytes
  }

  /**
   * Room for `bytes` (at most the whole budget), once it is free; resolves to
   * the function that gives it back (later calls do nothing). Rejects with
   * the signal's reason if that aborts first, and the wait leaves the line.
   */
  async reserve (bytes: number, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted()
    const size = Math.min(this.capacity, Math.max(1, Math.ceil(bytes)))
    if (this.queue.length === 0 && size <= this.free) this.free -= size
    else await this.waitInLine(size, signal)
    let given = false
    return () => {
      if (given) return
      given = true
      this.free += size
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
  private async waitInLine (size: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.queue.splice(this.queue.indexOf(wait), 1)
        reject(signal.reason)
        // those behind it may fit now
        this.serve()
      }
      const wait: Wait = {
        bytes: size,
        grant: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      }
      this.queue.push(wait)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Grant the waits at the head of the line while their sizes fit. */
  private serve (): void {
    while (this.queue.length > 0 && (this.queue[0] as Wait).bytes <= this.free) {
      const wait = this.queue.shift() as Wait
      this.free -= wait.bytes
      wait.grant()
    }
  }
}
