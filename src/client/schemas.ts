/**
 * The control API's message shapes, one zod schema each: the server
 * validates with them and both sides take their TypeScript types from them,
 * so the two cannot drift. The CLI imports only the types (zod costs ~35 ms
 * of start-up, and `agora status` is measured against `node -e 0`).
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
