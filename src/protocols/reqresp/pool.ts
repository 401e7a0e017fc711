/**
 * Idle outbound streams of one protocol, kept for the next request to the
 * same peer (protocols with `reuseStreams`). Bounded per peer and in all;
 * the newest idle stream of a peer is used first, so the extra ones age
 * out. A stream leaves the pool when it is taken, when it idled `idleMs`,
 * when the pool is over a bound, or as soon as the remote closes or resets
 * it (or sends anything while it should be silent).
 */
import { settle } from './streams.ts'
import type { FrameReader } from './frame-reader.ts'
import type { StreamReuse } from './types.ts'
import type { Stream } from '@libp2p/interface'

/** A stream to send a request on, with the reader that holds its unread bytes. */
export interface Lease {
  stream: Stream
  reader: FrameReader
  /** Taken from the pool (it carried an earlier request). */
  reused: boolean
}

interface Idle {
  key: string
  stream: Stream
  reader: FrameReader
  timer: NodeJS.Timeout
  onGone: () => void
}

export class StreamPool {
  private readonly limits: StreamReuse
  /** Per peer, oldest first. */
  private readonly byKey = new Map<string, Idle[]>()
  /** Every idle stream, least recently returned first. */
  private readonly all = new Set<Idle>()
  private closed = false

  constructor (limits: StreamReuse) {
    this.limits = limits
  }

  /** Idle streams held (for one peer, or in all). */
  size (key?: string): number {
    return key === undefined ? this.all.size : this.byKey.get(key)?.length ?? 0
  }

  /** The peer's most recently returned idle stream that is still usable. */
  take (key: string): Lease | undefined {
    const idle = this.byKey.get(key)
    while (idle !== undefined && idle.length > 0) {
      const entry = idle.pop() as Idle
      this.forget(entry)
      if (reusable(entry.stream, entry.reader)) return { stream: entry.stream, reader: entry.reader, reused: true }
      closeIdle(entry.stream)
    }
    return undefined
  }

  /** Keep `lease` for the next request to `key`; closes it instead when it cannot be reused. */
  put (key: string, lease: Lease): void {
    const { stream, reader } = lease
    if (stream.readStatus === 'paused') stream.resume()
    if (this.closed || !reusable(stream, reader)) {
      closeIdle(stream)
      return
    }
    const entry: Idle = {
      key,
      stream,
      reader,
      timer: setTimeout(() => { this.evict(entry) }, this.limits.idleMs),
      // closed, reset, or bytes nobody asked for: drop it (the remote closing its side is the normal end)
      onGone: () => { this.evict(entry, stream.status === 'open' && stream.remoteWriteStatus === 'writable') }
    }
    entry.timer.unref()
    stream.addEventListener('close', entry.onGone)
    stream.addEventListener('remoteCloseWrite', entry.onGone)
    stream.addEventListener('message', entry.onGone)
    let idle = this.byKey.get(key)
    if (idle === undefined) {
      idle = []
      this.byKey.set(key, idle)
    }
    idle.push(entry)
    this.all.add(entry)
    if (idle.length > this.limits.maxIdlePerPeer) this.evict(idle[0] as Idle)
    if (this.all.size > this.limits.maxIdle) this.evict(this.all.values().next().value as Idle)
  }

  /** Close every idle stream and keep no more (the engine is stopping). */
  clear (): void {
    this.closed = true
    for (const entry of [...this.all]) this.evict(entry)
  }

  private evict (entry: Idle, unexpected = false): void {
    if (!this.all.has(entry)) return
    const idle = this.byKey.get(entry.key)
    const index = idle?.indexOf(entry) ?? -1
    if (index >= 0) idle?.splice(index, 1)
    this.forget(entry)
    if (unexpected) entry.stream.abort(new Error('the remote sent data on an idle stream'))
    else closeIdle(entry.stream)
  }

  private forget (entry: Idle): void {
    clearTimeout(entry.timer)
    entry.stream.removeEventListener('close', entry.onGone)
    entry.stream.removeEventListener('remoteCloseWrite', entry.onGone)
    entry.stream.removeEventListener('message', entry.onGone)
    this.all.delete(entry)
    if (this.byKey.get(entry.key)?.length === 0) this.byKey.delete(entry.key)
  }
}

/** Open both ways, nothing unread, nothing failed: the next request may go on it. */
export function reusable (stream: Stream, reader: FrameReader): boolean {
  return stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable' &&
    stream.readStatus === 'readable' && stream.readBufferLength === 0 && reader.bufferedBytes === 0 && !reader.failed
}

/** Done with a stream we kept open: close our side, and reset it if the remote never closes its own. */
export function closeIdle (stream: Stream): void {
  if (stream.status !== 'open') return
  if (stream.writeStatus === 'writable') stream.close().catch(() => { stream.abort(new Error('closing an idle stream failed')) })
  settle(stream)
}
