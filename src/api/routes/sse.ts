/**
 * Server-sent events on a raw HTTP response, with backpressure: a write the
 * socket cannot take yet waits for 'drain' (or for the client to go away,
 * so a vanished reader never leaves the writer hanging). Plus the one
 * helper that ties a request's work to its client: an AbortSignal that
 * fires when the connection closes before the response finished.
 */
import type { ServerResponse } from 'node:http'

export class SseWriter {
  private readonly raw: ServerResponse

  constructor (raw: ServerResponse) {
    this.raw = raw
  }

  /** Send the status line and headers (the stream has begun: later errors travel as events). */
  open (headers: Record<string, string> = {}): void {
    this.raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    this.raw.flushHeaders()
  }

  /** False once the client is gone: nothing more can be sent. */
  get writable (): boolean {
    return !this.raw.destroyed && !this.raw.writableEnded
  }

  /** One `data:` event (objects as JSON); resolves when the socket can take more. False when the client is gone. */
  async send (data: unknown): Promise<boolean> {
    if (!this.writable) return false
    const text = typeof data === 'string' ? data : JSON.stringify(data)
    if (this.raw.write(`data: ${text}\n\n`)) return true
    await new Promise<void>(resolve => {
      const done = (): void => {
        this.raw.off('drain', done)
        this.raw.off('close', done)
        resolve()
      }
      this.raw.on('drain', done)
      this.raw.on('close', done)
    })
    return this.writable
  }

  end (): void {
    if (this.writable) this.raw.end()
  }
}

/** Aborted when the client disconnects before the response is complete. */
export function abortOnDisconnect (raw: ServerResponse, reason: () => Error): AbortController {
  const controller = new AbortController()
  raw.once('close', () => {
    if (!raw.writableFinished) controller.abort(reason())
  })
  return controller
}

/**
 * Iterate `source` until it ends or `signal` aborts, whichever comes first:
 * an upstream that ignores the signal cannot keep the caller waiting. On
 * exit (end, abort, error or break) the source iterator is closed.
 */
export async function * untilAborted<T> (source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  aborted.catch(() => {})
  let finished = false
  try {
    while (true) {
      signal.throwIfAborted()
      const next = await Promise.race([iterator.next(), aborted])
      if (next.done === true) {
        finished = true
        return
      }
      yield next.value
    }
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => {})
  }
}
