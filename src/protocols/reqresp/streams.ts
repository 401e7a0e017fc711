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

/** Unsigned varint, the length prefix lpStream reads. */
function varint (value: number): number[] {
  const out: number[] = []
  let n = value
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}

/**
 * Write one length-prefixed frame. When the transport is full, wait for it
 * to drain, but no longer than `stallMs` (a reader that stopped reading).
 * A timer exists only while we actually wait.
 */
export async function writeFrame (stream: Stream, bytes: Uint8Array, signal: AbortSignal, stallMs: number): Promise<void> {
  signal.throwIfAborted()
  const prefix = varint(bytes.byteLength)
  const out = new Uint8Array(prefix.length + bytes.byteLength)
  out.set(prefix, 0)
  out.set(bytes, prefix.length)
  if (stream.send(out)) return
  await drained(stream, AbortSignal.any([signal, AbortSignal.timeout(stallMs)]))
}

/**
 * Wait for the next 'drain' event. Not `stream.onDrain()`: in @libp2p/utils
 * 7.4.1 its promise stays resolved after the first drain, so later calls
 * return at once and backpressure is lost.
 */
async function drained (stream: Stream, signal: AbortSignal): Promise<void> {
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
