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
  /** The reputation (0..1) moved by at least 0.01 since the last event for this peer. */
  'peer:reputation': { peerId: string, reputation: number, previous: number }
  /** `until` null: until unbanned; `auto`: banned for a low reputation, not by the operator. */
  'peer:banned': { peerId: string, reason: string, until: number | null, auto: boolean }
  'peer:unbanned': { peerId: string }
  'peer:trusted': { peerId: string }
  'peer:untrusted': { peerId: string }
  /** A node's offer entered the table (first seen, or back after a withdraw or expiry). */
  'offer:added': OfferEvent
  /** A node re-announced its offer (higher Lamport). */
  'offer:updated': OfferEvent
  /** A node withdrew its offer (WITHDRAW tombstone). */
  'offer:withdrawn': OfferEvent
  /** An offer passed its expiry without being re-announced. */
  'offer:expired': OfferEvent
  'job:submitted': JobEvent
  'job:progress': JobEvent & { total: number, committed: number, running: number, failed: number }
  'job:completed': JobEvent
  'job:failed': JobEvent & { code: string, message: string }
  'job:cancelled': JobEvent
  /** Offered to a worker (attempt counts from 1). */
  'subtask:assigned': SubtaskEvent & { worker: string, attempt: number }
  'subtask:committed': SubtaskEvent & { worker: string, attempt: number }
  /** An attempt failed (refused, failed, timed out, bad result); the subtask goes to another candidate. */
  'subtask:retrying': SubtaskEvent & { worker: string, attempt: number, code: string }
  'subtask:failed': SubtaskEvent & { code: string, message: string }
}

/** Payload of the offer:* events. */
export interface OfferEvent { offerId: string, node: string, lamport: number }
export interface JobEvent { jobId: string, type: string, state: string }
export interface SubtaskEvent { jobId: string, subtaskId: string, type: string }

export type AgoraEventName = keyof AgoraEventMap

/** Every event name, so the event socket can subscribe to all of them. */
export const AGORA_EVENT_NAMES: readonly AgoraEventName[] = [
  'node:started', 'node:stopping', 'peer:connected', 'peer:disconnected', 'peer:latency',
  'peer:reputation', 'peer:banned', 'peer:unbanned', 'peer:trusted', 'peer:untrusted',
  'offer:added', 'offer:updated', 'offer:withdrawn', 'offer:expired',
  'job:submitted', 'job:progress', 'job:completed', 'job:failed', 'job:cancelled',
  'subtask:assigned', 'subtask:committed', 'subtask:retrying', 'subtask:failed'
]

type EmitterMap = { [K in AgoraEventName]: [AgoraEventMap[K]] }

export class AgoraEvents extends EventEmitter<EmitterMap> {
  constructor () {
    super()
    // many API sockets may listen at once; each removes itself on close
    this.setMaxListeners(1000)
  }
}
