/**
 * Named timeouts of one call, each aborting it with its own error: a total
 * deadline, one phase timer at a time (dial, first token, idle, accept, …),
 * and the caller's cancellation. Whatever fires first aborts `signal`,
 * which the stream (or the local run) was given, so the far side sees the
 * cancel. The gateway's remote calls and the jobs dispatcher each name
 * their phases and errors; the mechanics live here once.
 */
import { AgoraError } from './errors.ts'

export interface DeadlineRules<Phase extends string> {
  totalMs: number
  /** How long `phase` may last. */
  phaseMs(phase: Phase): number
  /** The error of a timeout (`total` or a phase) after `ms`. */
  timeout(which: Phase | 'total', ms: number): AgoraError
  /** The error when the caller cancels with `reason` (its own AgoraError is kept as is). */
  cancelled(reason: unknown): AgoraError
  /** The error for a failure that is not ours (e.g. the transport broke). */
  failed(err: unknown): AgoraError
}

export class NamedDeadlines<Phase extends string> {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly rules: DeadlineRules<Phase>
  private readonly caller: AbortSignal | undefined
  private readonly onCallerAbort: () => void
  private total: NodeJS.Timeout | undefined
  /** When the total deadline falls (Date.now() clock). */
  private totalEndsAt = 0
  private phase: NodeJS.Timeout | undefined
  private cleared = false

  constructor (rules: DeadlineRules<Phase>, caller?: AbortSignal) {
    this.rules = rules
    this.caller = caller
    this.signal = this.controller.signal
    this.onCallerAbort = () => { this.abort(caller?.reason instanceof AgoraError ? caller.reason : rules.cancelled(caller?.reason)) }
    if (caller?.aborted === true) this.onCallerAbort()
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true })
    if (!this.signal.aborted) this.startTotal(rules.totalMs)
  }

  /** Run `phase`'s timer (replacing the previous phase's). */
  arm (phase: Phase): void {
    this.disarm()
    if (this.signal.aborted) return
    const ms = this.rules.phaseMs(phase)
    this.phase = setTimeout(() => { this.abort(this.rules.timeout(phase, ms)) }, ms)
  }

  disarm (): void {
    clearTimeout(this.phase)
    this.phase = undefined
  }

  /**
   * Stop both clocks while the call waits on our own account (not the far
   * side's); the returned function restarts the total clock with the time
   * that was left. The caller's cancellation still applies meanwhile.
   */
  pause (): () => void {
    this.disarm()
    if (this.total === undefined) return () => {}
    clearTimeout(this.total)
    this.total = undefined
    const left = Math.max(0, this.totalEndsAt - Date.now())
    return () => {
      if (!this.cleared && !this.signal.aborted && this.total === undefined) this.startTotal(left)
    }
  }

  /** Listen for the abort (e.g. to close the stream while the consumer is away). */
  onAbort (listener: () => void): void {
    if (this.signal.aborted) listener()
    else this.signal.addEventListener('abort', listener, { once: true })
  }

  /** The error to throw for `err`: the reason we aborted with, when we did. */
  failure (err: unknown): AgoraError {
    if (this.signal.aborted && this.signal.reason instanceof AgoraError) return this.signal.reason
    if (err instanceof AgoraError) return err
    return this.rules.failed(err)
  }

  /** Stop every timer and forget the caller's signal. */
  clear (): void {
    this.cleared = true
    this.disarm()
    clearTimeout(this.total)
    this.caller?.removeEventListener('abort', this.onCallerAbort)
  }

  private startTotal (ms: number): void {
    this.totalEndsAt = Date.now() + ms
    this.total = setTimeout(() => { this.abort(this.rules.timeout('total', this.rules.totalMs)) }, ms)
  }

  private abort (reason: AgoraError): void {
    if (this.signal.aborted) return
    this.clear()
    this.controller.abort(reason)
  }
}
