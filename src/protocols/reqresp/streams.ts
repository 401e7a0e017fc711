/** Small helpers around libp2p streams shared by both sides of the engine. */
import { SETTLE_MS } from './constants.ts'
import type { Stream } from '@libp2p/interface'

const OVERSIZED_ERRORS = new Set(['FrameTooLargeError', 'ReadBufferOverflowError', 'InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError', 'StreamBufferError'])

/** True for FrameReader (and lpStream / byteStream) errors meaning "this frame is bigger than allowed". */
export function isOversizedError (err: unknown): boolean {
  return err instanceof Error && OVERSIZED_ERRORS.has(err.name)
}

const GONE_ERRORS = new Set(['StreamResetError', 'StreamAbortedError', 'StreamStateError', 'UnexpectedEOFError', 'TruncatedFrameError', 'ConnectionClosedError', 'StreamClosedError'])

/** True when the stream was reset, aborted or closed under us (the other side went away). */
export function isStreamGoneError (err: unknown): boolean {
  return err instanceof Error && GONE_ERRORS.has(err.name)
}

/**
 * Wait for the next 'drain' event. Not `stream.onDrain()`: in @libp2p/utils
 * 7.4.1 its promise stays resolved after the first drain, so later calls
 * return at once and backpressure is lost.
 */
export async function drained (stream: Stream, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (event: Event): void => {
      cleanup()
      const error = (event as Event & { error?: Error }).error
      reject(error ?? new Error('the stream closed while waiting to write'))
    }
    const onAbort = (): void => { cleanup(); reject(signal.reason as Error) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort)
    if (signal.aborted) onAbort()
  })
}

/**
 * We are done with the stream: give the remote a moment to close its side,
 * then reset it so a peer that never closes cannot pin one of our stream slots.
 */
export function settle (stream: Stream, graceMs = SETTLE_MS): void {
  if (stream.status !== 'open' && stream.status !== 'closing') return
  const timer = setTimeout(() => {
    if (stream.status === 'open' || stream.status === 'closing') stream.abort(new Error('the remote did not close the stream'))
  }, graceMs)
  timer.unref()
  stream.addEventListener('close', () => { clearTimeout(timer) }, { once: true })
}
