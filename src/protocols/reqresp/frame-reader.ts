/**
 * Length-prefixed frames (an unsigned varint length, then the body) read
 * off a libp2p stream, one after another for as long as the stream lives,
 * so one reader serves every request a reused stream carries.
 *
 * Bounded: at most `maxBufferSize` bytes wait here (more aborts the stream),
 * and a frame announcing more than `maxDataLength` bytes is refused before
 * its body arrives. With a `budget`, bytes are held only while it grants
 * them (the serving side's bound per protocol and per peer, budget.ts). A
 * frame is decoded as soon as its last byte is in, with no promise per
 * byte (what `lpStream` costs on every frame).
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { ByteBudget } from './budget.ts'


/** Chunks held before they are copied into one (see `coalesce`). */
const MAX_BUFFERED_CHUNKS = 1024

export interface FrameReaderInit {
  /** Largest frame body accepted. */
  maxDataLength: number
  /** Most bytes held unread; the stream is aborted beyond it. */
  maxBufferSize: number
  /** Shared bound on bytes held (taken as they arrive, given back as frames leave); the stream is aborted when it says no. */
  budget?: ByteBudget | undefined
}

/** A frame (or its announced length) is bigger than allowed. */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError'
}

/** The peer sent more than we hold unread. */
export class ReadBufferOverflowError extends Error {
  override readonly name = 'ReadBufferOverflowError'
}

/** The shared budget of unread bytes (budget.ts) had no room for what arrived. */
export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError'
}

/** The remote closed its side in the middle of a frame. */
export class TruncatedFrameError extends Error {
  override readonly name = 'TruncatedFrameError'
}

export class FrameReader {
  private readonly stream: Stream
  private readonly maxDataLength: number
  private readonly maxBufferSize: number
  private readonly budget: ByteBudget | undefined
  /** Longest length prefix accepted: the varint of maxDataLength (non-minimal encodings are refused). */
  private readonly maxPrefix: number
  private readonly chunks: Uint8Array[] = []
  private buffered = 0
  private received = 0
  /** The remote closed its writable end (cleanly). */
  private ended: boolean
  private failure: Error | undefined
  private wake: (() => void) | undefined

  constructor (stream: Stream, init: FrameReaderInit) {
    this.stream = stream
    this.maxDataLength = init.maxDataLength
    this.maxBufferSize = init.maxBufferSize
    this.budget = init.budget
    this.maxPrefix = varintLength(init.maxDataLength)
    this.ended = stream.remoteWriteStatus !== 'writable'
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('remoteCloseWrite', this.onEnd)
    stream.addEventListener('close', this.onClose)
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes (): number {
    return this.buffered
  }

  /** Bytes received since the reader was created. */
  get receivedBytes (): number {
    return this.received
  }

  /** True once reading failed (reset, overflow, oversized frame): nothing more will come. */
  get failed (): boolean {
    return this.failure !== undefined
  }

  /**
   * The next frame's body; undefined when the remote closed its side between
   * two frames. Throws the stream's error, FrameTooLargeError,
   * ReadBufferOverflowError, TruncatedFrameError, or the signal's reason.
   */
  async read (signal?: AbortSignal): Promise<Uint8Array | undefined> {
    while (true) {
      const frame = this.decode()
      if (frame !== undefined) return frame
      if (this.failure !== undefined) throw this.failure
      if (this.exhausted) {
        if (this.buffered === 0) return undefined
        throw new TruncatedFrameError(`the stream ended inside a frame (${this.buffered} bytes left)`)
      }
      await this.arrival(signal)
    }
  }

  /** The next frame's body if it is already here, else undefined (never waits). Throws like `read`. */
  tryRead (): Uint8Array | undefined {
    const frame = this.decode()
    if (frame === undefined && this.failure !== undefined) throw this.failure
    return frame
  }

  /** Wait until a byte is buffered: true, or false when the remote closed its side first. */
  async waitForData (signal?: AbortSignal): Promise<boolean> {
    while (this.buffered === 0) {
      if (this.failure !== undefined) throw this.failure
      if (this.exhausted) return false
      await this.arrival(signal)
    }
    return true
  }

  /** The remote closed its side and the stream holds nothing more for us (data held while paused still comes). */
  private get exhausted (): boolean {
    return this.ended && this.stream.readBufferLength === 0
  }

  /** Stop listening to the stream (bytes still held go back to the budget). */
  detach (): void {
    this.drop()
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('remoteCloseWrite', this.onEnd)
    this.stream.removeEventListener('close', this.onClose)
    this.wake?.()
  }

  private readonly onMessage = (event: StreamMessageEvent): void => {
    if (this.failure !== undefined) return
    const data = event.data instanceof Uint8Array ? event.data : event.data.subarray()
    this.received += data.byteLength
    const failure = this.buffered + data.byteLength > this.maxBufferSize
      ? new ReadBufferOverflowError(`read buffer overflow: ${this.buffered + data.byteLength} > ${this.maxBufferSize} bytes`)
      : data.byteLength > 0 && this.budget?.take(data.byteLength) === false
        ? new BudgetExceededError(`no room left for unread request bytes (${this.buffered} held on this stream, ${data.byteLength} more arrived)`)
        : undefined
    if (failure !== undefined) {
      this.failure = failure
      this.drop()
      // let the current dispatch finish first
      queueMicrotask(() => { this.stream.abort(failure) })
    } else if (data.byteLength > 0) {
      this.chunks.push(data)
      this.buffered += data.byteLength
      // a peer sending tiny frames must not grow the list without bound (object overhead, O(n) shifts)
      if (this.chunks.length > MAX_BUFFERED_CHUNKS) this.coalesce()
    }
    this.wake?.()
  }

  /** Forget the bytes held, and give them back to the budget. */
  private drop (): void {
    if (this.buffered > 0) this.budget?.give(this.buffered)
    this.chunks.length = 0
    this.buffered = 0
  }

  /** Copy every buffered chunk into one. */
  private coalesce (): void {
    const all = new Uint8Array(this.buffered)
    let offset = 0
    for (const chunk of this.chunks) {
      all.set(chunk, offset)
      offset += chunk.byteLength
    }
    this.chunks.length = 0
    this.chunks.push(all)
  }

  private readonly onEnd = (): void => {
    this.ended = true
    this.wake?.()
  }

  private readonly onClose = (event: StreamCloseEvent): void => {
    if (event.error !== undefined) this.failure ??= event.error
    else this.ended = true
    this.wake?.()
  }

  private async arrival (signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.wake = undefined
        reject(signal?.reason as Error)
      }
      this.wake = () => {
        this.wake = undefined
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** One whole frame off the buffer, or undefined while it is incomplete. */
  private decode (): Uint8Array | undefined {
    if (this.buffered === 0) return undefined
    let length = 0
    let prefix = 0
    while (true) {
      if (prefix === this.buffered) return undefined
      if (prefix === this.maxPrefix) return this.refuse('the frame length prefix is too long')
      const byte = this.byteAt(prefix)
      length += (byte & 0x7f) * 2 ** (7 * prefix)
      prefix++
      if (byte < 0x80) break
    }
    if (length > this.maxDataLength) return this.refuse(`a frame of ${length} bytes > ${this.maxDataLength}`)
    if (this.buffered < prefix + length) return undefined
    this.take(prefix)
    return this.take(length)
  }

  private refuse (why: string): never {
    const failure = new FrameTooLargeError(why)
    this.failure = failure
    throw failure
  }

  private byteAt (index: number): number {
    let offset = index
    for (const chunk of this.chunks) {
      if (offset < chunk.byteLength) return chunk[offset] as number
      offset -= chunk.byteLength
    }
    return 0
  }

  /** The next `n` buffered bytes (a view when they sit in one chunk, else a copy). */
  private take (n: number): Uint8Array {
    this.buffered -= n
    if (n > 0) this.budget?.give(n)
    const head = this.chunks[0]
    if (head === undefined || n === 0) return new Uint8Array(0)
    if (head.byteLength > n) {
      this.chunks[0] = head.subarray(n)
      return head.subarray(0, n)
    }
    if (head.byteLength === n) {
      this.chunks.shift()
      return head
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0] as Uint8Array
      const part = Math.min(chunk.byteLength, n - filled)
      out.set(chunk.subarray(0, part), filled)
      filled += part
      if (part === chunk.byteLength) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(part)
    }
    return out
  }
}

/** Bytes of the unsigned varint encoding `value`. */
function varintLength (value: number): number {
  let bytes = 1
  let n = value
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    bytes++
  }
  return bytes
}
