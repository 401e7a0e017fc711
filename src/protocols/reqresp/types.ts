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
            : undefined
  if (problem !== undefined) throw new AgoraError('E599', `invalid protocol definition ${def.id}`, { why: problem })
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
