/**
 * The event stream: every node event as a JSON message on a WebSocket.
 * Slow consumers are cut off rather than buffered without bound.
 */
import type { FastifyInstance } from 'fastify'
import { AGORA_EVENT_NAMES, type AgoraEventName } from '../../events.ts'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import type { ApiComponents } from '../server.ts'

/** A socket with more than this much unsent data is closed. */
const MAX_BUFFERED_BYTES = 1024 * 1024

export function registerEventsRoute (app: FastifyInstance, { events }: Pick<ApiComponents, 'events'>): void {
  app.get(ROUTES.events.path.slice(API_PREFIX.length), { websocket: true }, socket => {
    const listeners = new Map<AgoraEventName, (data: unknown) => void>()
    for (const type of AGORA_EVENT_NAMES) {
      const listener = (data: unknown): void => {
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) { socket.close(1013, 'too slow'); return }
        socket.send(JSON.stringify({ type, at: Date.now(), data }))
      }
      listeners.set(type, listener)
      events.on(type, listener)
    }
    socket.on('close', () => { for (const [type, listener] of listeners) events.off(type, listener) })
    socket.on('message', () => { /* the stream is one-way; input is ignored */ })
  })
}
