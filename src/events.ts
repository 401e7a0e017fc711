/**
 * The node's typed event bus. Rooms emit, the API's event socket and the
 * dashboard listen. Adding an event is one line in `AgoraEventMap`.
 */
import { EventEmitter } from 'node:events'

export interface AgoraEventMap {
  'node:started': { peerId: string, addresses: string[] }
  'node:stopping': { reason: string }
  'peer:connected': { peerId: string, address: string | undefined }
  'peer:disconnected': { peerId: string }
  'peer:latency': { peerId: string, latencyMs: number }
}

export type AgoraEventName = keyof AgoraEventMap

/** Every event name, so the event socket can subscribe to all of them. */
export const AGORA_EVENT_NAMES: readonly AgoraEventName[] = [
  'node:started', 'node:stopping', 'peer:connected', 'peer:disconnected', 'peer:latency'
]

type EmitterMap = { [K in AgoraEventName]: [AgoraEventMap[K]] }

export class AgoraEvents extends EventEmitter<EmitterMap> {
  constructor () {
    super()
    // many API sockets may listen at once; each removes itself on close
    this.setMaxListeners(1000)
  }
}
