/**
 * One subtask running on this worker, followed by one or more callers (a
 * re-offer of a running key attaches to it). It ends with an outcome as
 * soon as the executor returns or the execution is aborted (deadline,
 * worker stopping, or the last caller gone) — the slot, though, is given
 * back only when the executor's promise settles, so an executor that
 * ignores its signal keeps counting against the limits.
 */
import { AgoraError } from '../../errors.ts'

export type ExecutionOutcome =
  | { ok: true, result: unknown, json: string, bytes: number, hash: string, finishedAt: number }
  | { ok: false, error: AgoraError }

export interface FollowOptions {
  /** Progress frames at most this often (the latest fraction wins). */
  throttleMs: number
  /** A progress frame at least this often, changed or not. */
  heartbeatMs: number
}

type Waiter = () => void

export class Execution {
  readonly coordinator: string
  readonly key: string
  readonly type: string
  readonly startedAt: number
  /** The outcome; never rejects. */
  readonly done: Promise<ExecutionOutcome>
  /** Settles when the run function returned (an executor ignoring its abort keeps this pending). */
  readonly exited: Promise<void>
  private readonly controller = new AbortController()
  private fractionValue = 0
  private version = 0
  private finished = false
  private followers = 0
  private readonly onProgress = new Set<Waiter>()
  private readonly onSettle = new Set<Waiter>()

  constructor (init: { coordinator: string, key: string, type: string, startedAt: number }, run: (signal: AbortSignal, execution: Execution) => Promise<ExecutionOutcome>) {
    this.coordinator = init.coordinator
    this.key = init.key
    this.type = init.type
    this.startedAt = init.startedAt
    const aborted = new Promise<ExecutionOutcome>(resolve => {
      this.controller.signal.addEventListener('abort', () => { resolve({ ok: false, error: reasonOf(this.controller.signal) }) }, { once: true })
    })
    const ran = run(this.controller.signal, this).catch((err: unknown): ExecutionOutcome => ({
      ok: false,
      error: err instanceof AgoraError ? err : new AgoraError('E1044', 'the subtask failed on the worker', { why: String(err) })
    }))
    this.exited = ran.then(() => {})
    this.done = Promise.race([ran, aborted]).then(outcome => {
      this.finished = true
      for (const wake of [...this.onSettle, ...this.onProgress]) wake()
      return outcome
    })
  }

  get signal (): AbortSignal {
    return this.controller.signal
  }

  get fraction (): number {
    return this.fractionValue
  }

  get settled (): boolean {
    return this.finished
  }

  /** Aborted (its outcome is, or will be, that abort): not worth attaching to. */
  get aborted (): boolean {
    return this.controller.signal.aborted
  }

  /** The executor's progress callback: 0..1; anything else is ignored. */
  progress (fraction: number): void {
    if (!Number.isFinite(fraction)) return
    const clamped = Math.min(1, Math.max(0, fraction))
    if (clamped === this.fractionValue) return
    this.fractionValue = clamped
    this.version++
    for (const wake of this.onProgress) wake()
  }

  abort (reason: AgoraError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason)
  }

  /** A caller follows it; the returned function ends that (the last one leaving aborts the execution with `gone`). */
  join (gone: () => AgoraError): () => void {
    this.followers++
    let left = false
    return () => {
      if (left) return
      left = true
      if (--this.followers === 0 && !this.finished) this.abort(gone())
    }
  }

  /**
   * The fractions to send to one caller (throttled, with heartbeats), until
   * the outcome, which is returned. Throws the signal's reason when the
   * caller goes away.
   */
  async * follow (signal: AbortSignal, options: FollowOptions): AsyncGenerator<number, ExecutionOutcome, undefined> {
    let seen = this.version
    let lastSent = performance.now()
    while (!this.finished) {
      signal.throwIfAborted()
      const pending = this.version !== seen
      const wait = lastSent + (pending ? options.throttleMs : options.heartbeatMs) - performance.now()
      if (wait <= 0) {
        seen = this.version
        lastSent = performance.now()
        yield this.fractionValue
        continue
      }
      // while a change is pending, only the throttle window (or the end) matters
      await this.wait(wait, signal, !pending)
    }
    signal.throwIfAborted()
    return await this.done
  }

  private async wait (ms: number, signal: AbortSignal, wakeOnProgress: boolean): Promise<void> {
    await new Promise<void>(resolve => {
      const wake = (): void => {
        clearTimeout(timer)
        this.onSettle.delete(wake)
        this.onProgress.delete(wake)
        signal.removeEventListener('abort', wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.onSettle.add(wake)
      if (wakeOnProgress) this.onProgress.add(wake)
      signal.addEventListener('abort', wake, { once: true })
    })
  }
}

function reasonOf (signal: AbortSignal): AgoraError {
  const reason: unknown = signal.reason
  return reason instanceof AgoraError ? reason : new AgoraError('E1050', 'the subtask was cancelled', { why: String(reason) })
}
