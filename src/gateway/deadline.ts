/**
 * Timing helpers of the attempt loop: race a step against a timeout and a
 * signal, sleep abortably, and say whom an error blames.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises'
import { AgoraError, ERROR_CODES, isAgoraError, messageOf, type ErrorCode } from '../errors.ts'

/**
 * Settle with `promise`, or reject with `timeoutError()` after `ms`, or with
 * the signal's reason when it aborts first. The caller aborts the upstream
 * call on timeout; a later rejection of `promise` is swallowed.
 */
export async function withTimeout<T> (promise: Promise<T>, ms: number, signal: AbortSignal, timeoutError: () => Error): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {})
    throw reasonOf(signal)
  }
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { done(); reject(reasonOf(signal)) }
    const timer = setTimeout(() => { done(); reject(timeoutError()) }, ms)
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(value => { done(); resolve(value) }, (err: unknown) => { done(); reject(err) })
  })
}

/** Wait `ms`, or reject with the signal's reason. */
export async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) {
    if (signal.aborted) throw reasonOf(signal)
    return
  }
  try {
    await sleepTimer(ms, undefined, { signal })
  } catch {
    throw reasonOf(signal)
  }
}

/** A signal's reason as an Error (an AgoraError E940 when it is something else). */
export function reasonOf (signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name !== 'AbortError') return reason
  return new AgoraError('E940', 'the request was cancelled', { cause: reason })
}

/** Error code of any error ('E599' when it has none we know). */
export function codeOf (err: unknown): ErrorCode {
  return isAgoraError(err) ? err.code : 'E599'
}

/**
 * What a candidate's error says about the candidate, for the peer book:
 * a timeout (HTTP 504), a failure (other 5xx, or no AgoraError), or nothing
 * (a refusal or bad request: 4xx, and cancellations). The breaker counts
 * every error: it is about availability, the peer book about reliability.
 */
export function blameOf (err: unknown): 'timeout' | 'failure' | null {
  if (!isAgoraError(err)) return 'failure'
  const status: number = ERROR_CODES[err.code].status
  if (status === 504) return 'timeout'
  if (status >= 500) return 'failure'
  return null
}

/** Short form of an error for details and logs. */
export function describe (err: unknown): { code: string, message: string } {
  return { code: codeOf(err), message: isAgoraError(err) ? [err.what, err.why].filter(Boolean).join(' — ') : messageOf(err) }
}
