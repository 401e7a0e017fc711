/**
 * Node-wide room for results fetched by reference. A fetched result is held
 * whole (its chunks, then the joined bytes, then the parsed JSON: about
 * three times its size at the peak), and every job this node coordinates
 * may have `jobs.concurrency` attempts fetching at once: without a bound,
 * workers answering with results of the 32 MiB limit could make the
 * coordinator hold gigabytes. A fetch reserves its announced size first and
 * waits, in order of arrival, until that much is free; a result larger than
 * the whole budget waits for all of it.
 */
import { Semaphore } from 'async-mutex'
import { raceAbort } from '../../abort.ts'

export class ResultFetchBudget {
  /** Bytes that may be reserved at once. */
  readonly capacity: number
  private readonly room: Semaphore
  private waiters = 0

  constructor (capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1) throw new RangeError(`a fetch budget of ${capacityBytes} bytes`)
    this.capacity = capacityBytes
    this.room = new Semaphore(capacityBytes)
  }

  /**
   * Room for `bytes` (at most the whole budget), once it is free; resolves to
   * the function that gives it back (call it once). Rejects with the
   * signal's reason if that aborts first; room granted afterwards to the
   * abandoned wait is given straight back.
   */
  async reserve (bytes: number, signal: AbortSignal): Promise<() => void> {
    const weight = Math.min(this.capacity, Math.max(1, Math.ceil(bytes)))
    const granted = this.room.acquire(weight)
    this.waiters++
    try {
      const [, release] = await raceAbort(granted, signal)
      return release
    } catch (err) {
      void granted.then(([, release]) => { release() })
      throw err
    } finally {
      this.waiters--
    }
  }

  /** Bytes reserved now. */
  get reserved (): number {
    return this.capacity - this.room.getValue()
  }

  /** Fetches waiting for room now. */
  get waiting (): number {
    return this.waiters
  }
}
