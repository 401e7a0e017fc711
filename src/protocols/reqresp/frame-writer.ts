/**
 * Length-prefixed frames written to a libp2p stream. Frames written in the
 * same turn of the event loop leave in one `send()` — one muxer frame, one
 * encrypted record, one write to the socket instead of one of each per
 * frame (an answer's last token, its usage and its END typically come
 * together). Nothing waits longer than that turn: a lone frame leaves as
 * soon as the current I/O callbacks are done.
 *
 * Backpressure holds: while the transport is full (`send()` returned false,
 * `writableNeedsDrain`) the next write waits for 'drain', at most
 * `stallMs`; a batch grows to at most MAX_BATCH_BYTES before it is sent.
 */
import { timeoutChild } from '../../abort.ts'
import { drained } from './streams.ts'
import type { Stream } from '@libp2p/interface'

/** A batch this big is sent without waiting for the end of the turn. */
export const MAX_BATCH_BYTES = 64 * 1024

export class FrameWriter {
  private readonly stream: Stream
  private readonly stallMs: number
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private scheduled = false
  private failure: unknown

  constructor (stream: Stream, stallMs: number) {
    this.stream = stream
    this.stallMs = stallMs
  }

  /** Queue one frame (its length prefix is added here); waits only while the transport is full. */
  async write (body: Uint8Array, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    if (this.failure !== undefined) throw this.failure
    if (this.stream.writableNeedsDrain) await this.drain(signal)
    const prefix = varint(body.byteLength)
    const out = new Uint8Array(prefix.length + body.byteLength)
    out.set(prefix, 0)
    out.set(body, prefix.length)
    this.pending.push(out)
    this.pendingBytes += out.byteLength
    if (this.pendingBytes >= MAX_BATCH_BYTES) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushLater)
    }
  }

  /** Send what is queued now and wait until the transport took it. */
  async end (signal: AbortSignal): Promise<void> {
    this.flush()
    if (this.stream.writableNeedsDrain) await this.drain(signal)
  }

  /** Send what is queued (throws when the stream cannot take it). */
  flush (): void {
    if (this.failure !== undefined) throw this.failure
    if (this.pendingBytes === 0) return
    const batch = this.pending.length === 1 ? this.pending[0] as Uint8Array : concat(this.pending, this.pendingBytes)
    this.pending = []
    this.pendingBytes = 0
    try {
      // false: the transport is full, and the next write waits for 'drain'
      this.stream.send(batch)
    } catch (err) {
      this.failure = err
      throw err
    }
  }

  private readonly flushLater = (): void => {
    this.scheduled = false
    try {
      this.flush()
    } catch {
      // kept in `failure`: the next write or end() throws it
    }
  }

  private async drain (signal: AbortSignal): Promise<void> {
    const stall = timeoutChild(signal, this.stallMs)
    try {
      await drained(this.stream, stall.signal)
    } finally {
      stall.release()
    }
  }
}

function concat (parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** Unsigned varint, the length prefix FrameReader reads. */
export function varint (value: number): number[] {
  const out: number[] = []
  let n = value
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}
