/**
 * What the control API needs from the node: a narrow interface, so the API
 * can be tested against a stub and the node keeps its internals private.
 */
import type { StatusResponse, PeerEntry, IdentityResponse } from '../client/schemas.ts'

export interface ControlPlane {
  status(): StatusResponse
  peers(): PeerEntry[]
  identity(): IdentityResponse
  connect(multiaddr: string, opts: { signal?: AbortSignal }): Promise<{ peerId: string, addresses: string[] }>
  disconnect(peerId: string): Promise<boolean>
  ping(peerId: string, opts: { signal?: AbortSignal }): Promise<number>
  /** True once every component started, false again when stopping. */
  ready(): boolean
  /** Begin a graceful stop after the current response is sent. */
  requestStop(reason: string): void
}
