/**
 * The named timeouts of one remote inference call, each aborting the call
 * with its own code: dial (E910), first token (E911), idle between tokens
 * (E912), total (E913); and the caller's cancellation (E914, or the
 * caller's own AgoraError). Whatever fires first aborts `signal`, which the
 * dial and the stream were given, so the remote sees the cancel.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import type { RemoteTimeouts } from './constants.ts'

export type Phase = 'dial' | 'first' | 'idle'

export class Deadlines {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly timeouts: RemoteTimeouts
  private readonly details: Record<string, unknown>
  private readonly caller: AbortSignal | undefined
  private readonly onCallerAbort: () => void
  private total: NodeJS.Timeout | undefined
  private phase: NodeJS.Timeout | undefined

  constructor (timeouts: RemoteTimeouts, details: Record<string, unknown>, caller?: AbortSignal) {
    this.timeouts = timeouts
    this.details = details
    this.caller = caller
    this.signal = this.controller.signal
    this.onCallerAbort = () => { this.abort(cancelled(caller?.reason, details)) }
    if (caller?.aborted === true) this.onCallerAbort()
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true })
    if (!this.signal.aborted) {
      this.total = setTimeout(() => {
        this.abort(new AgoraError('E913', `the request to ${String(details.peer)} took too long`, { why: `not complete within ${timeouts.totalMs} ms (total)`, details: this.timeoutDetails('total', timeouts.totalMs) }))
      }, timeouts.totalMs)
    }
  }

  /** Run `phase`'s timer (replacing the previous phase's). */
  arm (phase: Phase): void {
    this.disarm()
    if (this.signal.aborted) return
    const ms = phase === 'dial' ? this.timeouts.dialMs : phase === 'first' ? this.timeouts.firstTokenMs : this.timeouts.idleMs
    this.phase = setTimeout(() => { this.abort(this.timeoutError(phase, ms)) }, ms)
  }

  disarm (): void {
    clearTimeout(this.phase)
    this.phase = undefined
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
    return new AgoraError('E202', `the request to ${String(this.details.peer)} failed`, { why: messageOf(err), cause: err, details: this.details })
  }

  /** Stop every timer and forget the caller's signal. */
  clear (): void {
    this.disarm()
    clearTimeout(this.total)
    this.caller?.removeEventListener('abort', this.onCallerAbort)
  }

  private abort (reason: AgoraError): void {
    if (this.signal.aborted) return
    this.clear()
    this.controller.abort(reason)
  }

  private timeoutError (phase: Phase, ms: number): AgoraError {
    const peer = String(this.details.peer)
    const details = this.timeoutDetails(phase, ms)
    switch (phase) {
      case 'dial': return new AgoraError('E910', `cannot reach ${peer} in time`, { why: `no connection within ${ms} ms (dial)`, details })
      case 'first': return new AgoraError('E911', `${peer} produced no first token in time`, { why: `no answer within ${ms} ms (first token)`, details })
      case 'idle': return new AgoraError('E912', `${peer} went silent`, { why: `no token for ${ms} ms (idle)`, details })
    }
  }

  private timeoutDetails (timeout: string, ms: number): Record<string, unknown> {
    return { ...this.details, timeout, timeoutMs: ms }
  }
}

function cancelled (reason: unknown, details: Record<string, unknown>): AgoraError {
  if (reason instanceof AgoraError) return reason
  return new AgoraError('E914', `the request to ${String(details.peer)} was cancelled`, { why: 'cancelled by the caller', cause: reason, details })
}
