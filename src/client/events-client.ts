/**
 * A client for the node's event stream (`GET /api/v1/events`, WebSocket).
 * Browsers cannot set headers on a WebSocket, so the token rides in the
 * query string; the server accepts it there or in the Authorization header.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { ROUTES } from './routes.ts'
import type { EventMessage } from './schemas.ts'

export class EventsClient {
  private readonly socket: WebSocket
  private readonly queue: EventMessage[] = []
  private waiting: (() => void) | undefined
  private closed = false

  private constructor (socket: WebSocket) {
    this.socket = socket
    socket.addEventListener('message', (event: MessageEvent) => {
      this.queue.push(JSON.parse(String(event.data)) as EventMessage)
      this.wake()
    })
    socket.addEventListener('close', () => { this.closed = true; this.wake() })
  }

  /** Open the stream; resolves once the socket is open. */
  static async connect (url: string, token: string, opts: { signal?: AbortSignal } = {}): Promise<EventsClient> {
    const wsUrl = url.replace(/^http/, 'ws') + ROUTES.events.path + `?token=${encodeURIComponent(token)}`
    const socket = new WebSocket(wsUrl)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { socket.close(); reject(new AgoraError('E204', 'gave up opening the event stream')) }
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      socket.addEventListener('open', () => { opts.signal?.removeEventListener('abort', onAbort); resolve() }, { once: true })
      socket.addEventListener('error', (event: Event) => {
        opts.signal?.removeEventListener('abort', onAbort)
        reject(new AgoraError('E601', `cannot open the event stream at ${wsUrl.replace(/token=[^&]+/, 'token=…')}`, { why: messageOf((event as Event & { error?: unknown }).error ?? event.type) }))
      }, { once: true })
    })
    return new EventsClient(socket)
  }

  /** Wait for the first event matching `match`; E204 after `timeoutMs`. */
  async waitFor (match: (event: EventMessage) => boolean, timeoutMs = 10_000): Promise<EventMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.queue.findIndex(match)
      if (index >= 0) return this.queue.splice(index, 1)[0] as EventMessage
      if (this.closed) throw new AgoraError('E601', 'the event stream closed before the awaited event')
      const left = deadline - Date.now()
      if (left <= 0) throw new AgoraError('E204', `no matching event within ${timeoutMs} ms`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.waiting = () => { clearTimeout(timer); resolve() }
      })
    }
  }

  /** Events received so far and not yet taken by waitFor. */
  get pending (): readonly EventMessage[] { return this.queue }

  close (): void {
    this.socket.close()
  }

  private wake (): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.()
  }
}
