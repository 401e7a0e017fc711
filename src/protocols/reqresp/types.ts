/**
 * How a request/response protocol is declared: its id, one zod schema per
 * direction, size limits, named timeouts and an optional codec. The same
 * definition serves both sides, so client and server cannot drift.
 */
import { AgoraError } from '../../errors.ts'
import type { z } from 'zod'

/** Bytes <-> value; JSON unless a protocol brings its own. Throwing means "not decodable". */
export interface Codec {
  encode(value: unknown): Uint8Array
  decode(bytes: Uint8Array): unknown
}

export interface ProtocolTimeouts {
  /** Client: dial and protocol negotiation (E202 when unreachable, E204 when slower than this). */
  dialMs: number
  /** Server: the whole request frame must arrive within this (else the stream is aborted). */
  requestMs: number
  /** Client: the first byte of the answer after the request was sent (E204, "first byte"). */
  firstByteMs: number
  /**
   * Client: the whole answer of a unary protocol, or the longest gap between
   * two frames of a streamed one (E204, "response"). Server: the longest a
   * frame may wait for the reader (backpressure) and a unary handler may run.
   */
  responseMs: number
}

export interface RateLimit {
  /** Requests per second one peer may make on this protocol. */
  perSecond: number
  /** Largest burst (default: one second's worth). */
  burst?: number
}

/**
 * Keeping streams open between requests (opt-in per protocol). After an
 * answer ends cleanly — a unary OK or ERROR frame, a streamed END or ERROR —
 * the caller keeps the stream idle and sends its next request to that peer
 * on it; the server reads requests in a loop until the caller closes its
 * side. A stream whose request was abandoned, timed out or broke is never
 * reused. Old callers (one request, then half-close) and old servers (one
 * answer, then close) still work with either side.
 */
export interface StreamReuse {
  /** Calling side: idle streams kept per peer. */
  maxIdlePerPeer: number
  /** Calling side: idle streams kept in all, across peers (the least recently used goes first). */
  maxIdle: number
  /**
   * Calling side: an idle stream unused this long is closed. Serving side:
   * how long a stream waits for its next request before it is closed (twice
   * this, so that the caller, who knows, closes first).
   */
  idleMs: number
}

interface ProtocolDefBase<Req, Res> {
  /** Stream protocol id, e.g. `/agora/info/1`. */
  id: string
  request: z.ZodType<Req>
  response: z.ZodType<Res>
  /** Largest encoded request frame accepted by the server. */
  maxRequestBytes: number
  /** Largest encoded response frame (each frame, when streamed) accepted by the client. */
  maxResponseBytes: number
  timeouts?: Partial<ProtocolTimeouts>
  codec?: Codec
  /** Per-peer inbound limit; over it the caller gets E206. */
  rateLimit?: RateLimit
  /** Concurrent streams per connection in each direction (default: network.connections.maxStreamsPerProtocol). */
  maxStreams?: number
  /** Reuse streams for later requests to the same peer (`true`: the defaults of DEFAULT_STREAM_REUSE). */
  reuseStreams?: boolean | Partial<StreamReuse>
}

/** One request, one response. */
export interface UnaryProtocol<Req, Res> extends ProtocolDefBase<Req, Res> {
  streaming?: false
}

/** One request, a sequence of response frames (e.g. tokens) ended by the server. */
export interface StreamingProtocol<Req, Res> extends ProtocolDefBase<Req, Res> {
  streaming: true
}

export type ProtocolDef<Req, Res> = UnaryProtocol<Req, Res> | StreamingProtocol<Req, Res>

export interface HandlerContext {
  /** The caller. */
  peerId: string
  /** The caller's address on this connection. */
  remoteAddr: string
  /** Aborts when the caller goes away, the node stops, or (unary) the response timeout passes. */
  signal: AbortSignal
}

export type UnaryHandler<Req, Res> = (request: Req, context: HandlerContext) => Promise<Res>
export type StreamingHandler<Req, Res> = (request: Req, context: HandlerContext) => AsyncIterable<Res>

export interface ServeOptions {
  /**
   * Asked before each request of a peer is read: a refusal goes back with
   * its code and the stream is closed, the request left unread — a peer the
   * node will not serve cannot make it buffer a request (up to
   * maxRequestBytes on each of its streams) first. Undefined: admitted.
   */
  admit?: (peerId: string) => AgoraError | undefined
}

export interface RequestOptions {
  signal?: AbortSignal
}

const PROTOCOL_ID = /^\/[a-z0-9][a-z0-9/._-]*$/

function check (def: ProtocolDefBase<unknown, unknown>): void {
  const problem = !PROTOCOL_ID.test(def.id)
    ? 'the id must look like /agora/<name>/<version>'
    : !(Number.isInteger(def.maxRequestBytes) && def.maxRequestBytes > 0)
        ? 'maxRequestBytes must be a positive integer'
        : !(Number.isInteger(def.maxResponseBytes) && def.maxResponseBytes > 0)
            ? 'maxResponseBytes must be a positive integer'
            : reuseProblem(def.reuseStreams)
  if (problem !== undefined) throw new AgoraError('E599', `invalid protocol definition ${def.id}`, { why: problem })
}

function reuseProblem (reuse: ProtocolDefBase<unknown, unknown>['reuseStreams']): string | undefined {
  if (reuse === undefined || typeof reuse === 'boolean') return undefined
  const { maxIdlePerPeer, maxIdle, idleMs } = reuse
  if (maxIdlePerPeer !== undefined && !(Number.isInteger(maxIdlePerPeer) && maxIdlePerPeer >= 0)) return 'reuseStreams.maxIdlePerPeer must be a non-negative integer'
  if (maxIdle !== undefined && !(Number.isInteger(maxIdle) && maxIdle >= 0)) return 'reuseStreams.maxIdle must be a non-negative integer'
  if (idleMs !== undefined && !(Number.isFinite(idleMs) && idleMs > 0)) return 'reuseStreams.idleMs must be a positive number'
  return undefined
}

/** Declare a unary protocol (checked once, at module load). */
export function defineProtocol<Req, Res> (def: UnaryProtocol<Req, Res>): UnaryProtocol<Req, Res> {
  check(def)
  return Object.freeze({ ...def, streaming: false })
}

/** Declare a protocol whose answer is a stream of frames. */
export function defineStreamingProtocol<Req, Res> (def: Omit<StreamingProtocol<Req, Res>, 'streaming'>): StreamingProtocol<Req, Res> {
  check(def)
  return Object.freeze({ ...def, streaming: true })
}
