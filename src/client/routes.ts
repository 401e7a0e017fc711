/**
 * The control API's route shapes, shared by the server (src/api/) and the
 * typed client (this room), so the two cannot drift. Each route: method,
 * path, request body schema (if any) and response schema.
 */
import { z } from 'zod'

export const statusResponse = z.object({
  peerId: z.string(),
  did: z.string(),
  name: z.string(),
  version: z.string(),
  pid: z.number(),
  dataDir: z.string(),
  apiUrl: z.string(),
  startedAt: z.number(),
  uptimeMs: z.number(),
  /** Full multiaddrs ending in /p2p/<peerId>. */
  addresses: z.array(z.string()),
  /** Connected peers (not connections: a peer may have several). */
  peers: z.number(),
  connections: z.number(),
  knownPeers: z.number()
})
export type StatusResponse = z.infer<typeof statusResponse>

export const peerEntry = z.object({
  peerId: z.string(),
  addresses: z.array(z.string()),
  /** Latency EWMA of pings, null until the first ping. */
  latencyMs: z.number().nullable(),
  connected: z.boolean(),
  lastSeen: z.number().nullable()
})
export type PeerEntry = z.infer<typeof peerEntry>
export const peersResponse = z.array(peerEntry)

export const connectBody = z.object({ multiaddr: z.string().min(1).max(1024) }).strict()
export const connectResponse = z.object({ peerId: z.string(), addresses: z.array(z.string()) })
export const pingResponse = z.object({ peerId: z.string(), latencyMs: z.number() })
export const disconnectResponse = z.object({ peerId: z.string(), disconnected: z.boolean() })

export const identityResponse = z.object({
  peerId: z.string(),
  did: z.string(),
  /** Raw Ed25519 public key, base64. */
  publicKey: z.string()
})
export type IdentityResponse = z.infer<typeof identityResponse>

export const stopResponse = z.object({ stopping: z.boolean() })

/** An event as sent on the WebSocket stream. */
export const eventMessage = z.object({ type: z.string(), at: z.number(), data: z.unknown() })
export type EventMessage = z.infer<typeof eventMessage>

export const peerIdParam = z.object({ id: z.string().min(1).max(128) })

export const API_PREFIX = '/api/v1'

export const ROUTES = {
  status: { method: 'GET', path: `${API_PREFIX}/status`, response: statusResponse },
  peers: { method: 'GET', path: `${API_PREFIX}/peers`, response: peersResponse },
  connect: { method: 'POST', path: `${API_PREFIX}/peers/connect`, body: connectBody, response: connectResponse },
  disconnect: { method: 'POST', path: `${API_PREFIX}/peers/:id/disconnect`, response: disconnectResponse },
  ping: { method: 'POST', path: `${API_PREFIX}/peers/:id/ping`, response: pingResponse },
  identity: { method: 'GET', path: `${API_PREFIX}/identity`, response: identityResponse },
  stop: { method: 'POST', path: `${API_PREFIX}/node/stop`, response: stopResponse },
  events: { method: 'GET', path: `${API_PREFIX}/events` }
} as const
