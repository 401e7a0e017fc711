/** Small helpers around libp2p streams shared by both sides of the engine. */
import { SETTLE_MS } from './constants.ts'
import type { Stream } from '@libp2p/interface'

const OVERSIZED_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError', 'StreamBufferError'])

/** True for lpStream / byteStream errors meaning "this frame is bigger than allowed". */
export function isOversizedError (err: unknown): boolean {
  return err instanceof Error && OVERSIZED_ERRORS.has(err.name)
}

/** True when the stream was reset, aborted or closed under us (the other side went away). */
export function isStreamGoneError (err: unknown): boolean {
  return err instanceof Error && ['StreamResetError', 'StreamAbortedError', 'StreamStateError', 'UnexpectedEOFError', 'ConnectionClosedError', 'StreamClosedError'].includes(err.name)
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
