/** Defaults of the request/response engine; a protocol definition overrides any of them. */
import type { InboundBudgetInit } from './budget.ts'
import type { ProtocolTimeouts, RateLimit, StreamReuse } from './types.ts'

export const DEFAULT_TIMEOUTS: ProtocolTimeouts = {
  /** Dial plus multistream negotiation. */
  dialMs: 10_000,
  /** A request frame is small: it arrives fast or not at all. */
  requestMs: 5_000,
  /** The peer should start answering quickly, even when the work takes longer. */
  firstByteMs: 5_000,
  /** Whole unary answer, or the longest silence inside a streamed one. */
  responseMs: 10_000
}

/** Per-peer inbound requests on one protocol. */
export const DEFAULT_RATE_LIMIT: Required<RateLimit> = { perSecond: 20, burst: 40 }

/** Concurrent streams per connection and protocol (network.connections.maxStreamsPerProtocol). */
export const DEFAULT_MAX_STREAMS = 64

/**
 * Bytes of requests not yet read whole the serving side holds for one
 * protocol (budget.ts): room for a few requests at the protocol's frame cap
 * per peer (at least 1 MiB), and eight peers' worth for the node. Each
 * protocol has its own, so traffic on one (open to anyone, like sync) cannot
 * starve another (admitted peers only, like tasks).
 */
export function inboundBudgetFor (maxRequestBytes: number): InboundBudgetInit {
  const perPeerBytes = Math.max(1024 * 1024, 4 * (maxRequestBytes + 16))
  return { perPeerBytes, totalBytes: 8 * perPeerBytes }
}

/** Protocols with `reuseStreams: true`. */
export const DEFAULT_STREAM_REUSE: StreamReuse = {
  /** Enough for a gateway's usual concurrency to one peer; more in flight open new streams. */
  maxIdlePerPeer: 16,
  /** Across all peers of one protocol. */
  maxIdle: 256,
  /** Well under libp2p's stream inactivity timeout (120 s). */
  idleMs: 15_000
}

/** Peers tracked by one protocol's rate limiter. */
export const MAX_RATE_LIMITED_PEERS = 10_000

/** After our last frame, how long the remote gets to close its side before the stream is reset. */
export const SETTLE_MS = 2_000

/** Longest error message (and `why`) sent to or accepted from a peer, in characters. */
export const MAX_ERROR_TEXT = 512

/** Largest ERROR frame; a client accepts one even when the protocol's responses are smaller. */
export const MAX_ERROR_FRAME_BYTES = 2048

/** The first byte of every response frame. */
export const STATUS = {
  /** A response value follows. */
  OK: 0,
  /** An error `{ code, message, why? }` (JSON) follows; nothing comes after it. */
  ERROR: 1,
  /** End of a streamed response; empty body. */
  END: 2
} as const

export type Status = typeof STATUS[keyof typeof STATUS]
