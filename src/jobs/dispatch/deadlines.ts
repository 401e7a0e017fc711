/**
 * The named timeouts of one dispatch attempt, each aborting it with its own
 * code: accept (E1041: no accepted/refused frame in time, dialling
 * included), progress (E1042: accepted, then silent for too long — the
 * worker's heartbeats keep a long subtask alive), total (E1043); and the
 * caller's cancellation (its AgoraError reason, or E1050). Whatever fires
 * first aborts `signal`, which the stream (or the local run) was given, so
 * the worker sees the cancel and aborts its executor.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import type { DispatchTimeouts } from '../protocol/types.ts'

export type DispatchPhase = 'accept' | 'progress'

export class DispatchDeadlines {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly timeouts: DispatchTimeouts
  private readonly details: Record<string, unknown>
  private readonly caller: AbortSignal | undefined
  private readonly onCallerAbort: () => void
  private total: NodeJS.Timeout | undefined
  private phase: NodeJS.Timeout | undefined

  constructor (timeouts: DispatchTimeouts, details: Record<string, unknown>, caller?: AbortSignal) {
    this.timeouts = timeouts
    this.details = details
    this.caller = caller
    this.signal = this.controller.signal
    this.onCallerAbort = () => { this.abort(cancelled(caller?.reason, details)) }
    if (caller?.aborted === true) this.onCallerAbort()
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true })
    if (!this.signal.aborted) {
      this.total = setTimeout(() => {
        this.abort(new AgoraError('E1043', `subtask ${String(details.key)} took too long on ${String(details.worker)}`, {
          why: `not complete within ${timeouts.totalMs} ms (total)`,
          details: { ...details, timeout: 'total', timeoutMs: timeouts.totalMs }
        }))
      }, timeouts.totalMs)
    }
  }

  /** Run `phase`'s timer (replacing the previous one). */
  arm (phase: DispatchPhase): void {
    clearTimeout(this.phase)
    if (this.signal.aborted) return
    const ms = phase === 'accept' ? this.timeouts.acceptMs : this.timeouts.firstProgressMs
    this.phase = setTimeout(() => { this.abort(this.timeoutError(phase, ms)) }, ms)
  }

  /** The error to throw for `err`: the reason we aborted with, when we did. */
  failure (err: unknown): AgoraError {
    if (this.signal.aborted && this.signal.reason instanceof AgoraError) return this.signal.reason
    if (err instanceof AgoraError) return err
    return new AgoraError('E202', `dispatching to ${String(this.details.worker)} failed`, { why: messageOf(err), cause: err, details: this.details })
  }

  /** Stop every timer and forget the caller's signal. */
  clear (): void {
    clearTimeout(this.phase)
    clearTimeout(this.total)
    this.caller?.removeEventListener('abort', this.onCallerAbort)
  }

  private abort (reason: AgoraError): void {
    if (this.signal.aborted) return
    this.clear()
    this.controller.abort(reason)
  }

  private timeoutError (phase: DispatchPhase, ms: number): AgoraError {
    const worker = String(this.details.worker)
    const details = { ...this.details, timeout: phase === 'accept' ? 'accept' : 'firstProgress', timeoutMs: ms }
    return phase === 'accept'
      ? new AgoraError('E1041', `${worker} did not accept or refuse subtask ${String(this.details.key)} in time`, { why: `no answer within ${ms} ms (accept)`, details })
      : new AgoraError('E1042', `${worker} reported nothing on subtask ${String(this.details.key)} in time`, { why: `no progress or result for ${ms} ms (progress)`, details })
  }
}

function cancelled (reason: unknown, details: Record<string, unknown>): AgoraError {
  if (reason instanceof AgoraError) return reason
  return new AgoraError('E1050', `subtask ${String(details.key)} on ${String(details.worker)} was cancelled`, { why: 'cancelled by the coordinator', cause: reason, details })
}
