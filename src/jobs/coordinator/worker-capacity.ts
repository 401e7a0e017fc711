/**
 * What each worker takes of one job's attempts (see job-run.ts, "Capacity"):
 * our attempts out on it and, of those, the accepted ones; after a 'slots'
 * refusal it is sent at most as many as it was running for us then, that
 * number growing by one every CAPACITY_PROBE_MS (its slots may free up).
 */

/** How often a worker's learnt capacity grows by one attempt (to find slots that freed up). */
export const CAPACITY_PROBE_MS = 250

export class WorkerCapacity {
  /** Worker → our attempts out on it (offered, accepted or running), and of those the accepted ones. */
  private readonly outOn = new Map<string, number>()
  private readonly acceptedOn = new Map<string, number>()
  /** Worker → attempts it takes at once, learnt from its last 'slots' refusal, at `at`. */
  private readonly learnt = new Map<string, { max: number, at: number }>()

  /** An attempt went out to `worker` (+1) or ended (−1). */
  out (worker: string, n: 1 | -1): void {
    add(this.outOn, worker, n)
  }

  /** An attempt out on `worker` was accepted (+1), or an accepted one ended (−1). */
  accepted (worker: string, n: 1 | -1): void {
    add(this.acceptedOn, worker, n)
  }

  /** Workers whose attempts out fill what they take now. */
  full (now: number): string[] {
    return [...this.learnt.keys()].filter(worker => this.atCapacity(worker, now))
  }

  /** A 'slots' refusal: the worker takes as many of ours as it runs now (at least one, to keep asking). */
  learn (worker: string, now: number): void {
    this.learnt.set(worker, { max: Math.max(1, this.acceptedOn.get(worker) ?? 0), at: now })
  }

  private atCapacity (worker: string, now: number): boolean {
    const learnt = this.learnt.get(worker)
    if (learnt === undefined) return false
    return (this.outOn.get(worker) ?? 0) >= learnt.max + Math.floor((now - learnt.at) / CAPACITY_PROBE_MS)
  }
}

/** Add `n` to a counter (a counter at 0 is removed). */
function add (counters: Map<string, number>, key: string, n: number): void {
  const value = (counters.get(key) ?? 0) + n
  if (value > 0) counters.set(key, value)
  else counters.delete(key)
}
