/**
 * Why a job's subtasks wait, and when waiting ends: workers that refuse for
 * their load (no free slot, CPU or memory over the limit, no credit left)
 * are asked again and again, which looked like a job hanging silently. The
 * watch keeps each refusing worker's latest reason until it takes an
 * attempt; the job view shows them (`waiting`), and once no worker has
 * taken any attempt for `jobs.noWorkerTimeoutMs` while some refuse, the job
 * fails with E1020 naming the refusals.
 */
import { AgoraError } from '../../errors.ts'

interface Refusal {
  reason: string
  message: string
}

export class RefusalWatch {
  private readonly timeoutMs: number
  private readonly refusals = new Map<string, Refusal>()
  private takenAt: number

  constructor (timeoutMs: number, now: number) {
    this.timeoutMs = timeoutMs
    this.takenAt = now
  }

  /** `worker` refused an attempt for `reason` (its words in `message`). */
  refused (worker: string, reason: string, message: string): void {
    this.refusals.set(worker, { reason, message })
  }

  /** `worker` took an attempt (it ran, whatever the outcome): it no longer refuses, and the job is not stuck. */
  took (worker: string, now: number): void {
    this.refusals.delete(worker)
    this.takenAt = now
  }

  /** "2 workers refusing: …3f9a2c cpu (the load per core is 1.19, over the limit); …", or undefined when none does. */
  waiting (): string | undefined {
    if (this.refusals.size === 0) return undefined
    const each = [...this.refusals].map(([worker, r]) => `…${worker.slice(-6)} ${r.reason} (${r.message})`)
    return `${this.refusals.size} worker${this.refusals.size === 1 ? '' : 's'} refusing: ${each.join('; ')}`
  }

  /** E1020 once nothing is running, workers refuse, and none took an attempt for the timeout; undefined otherwise. */
  expired (now: number, running: number): AgoraError | undefined {
    if (running > 0 || this.refusals.size === 0 || now - this.takenAt < this.timeoutMs) return undefined
    return new AgoraError('E1020', `no worker took this job's subtasks for ${Math.round((now - this.takenAt) / 1000)} s`, {
      why: this.waiting(),
      hint: 'wait until those workers have room (or raise their jobs.maxCpuLoad), add workers, or raise jobs.noWorkerTimeoutMs',
      details: { refusals: Object.fromEntries(this.refusals) }
    })
  }
}
