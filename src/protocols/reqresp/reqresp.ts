/**
 * The request/response engine every stream protocol uses: one stream per
 * request, length-prefixed frames with size limits, a status in each answer
 * so errors reach the caller, named timeouts, per-connection stream caps and
 * a per-peer inbound rate limit.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { AgoraError, messageOf } from '../../errors.ts'
import { KeyedRateLimiter } from '../../p2p/index.ts'
import { InboundBudget, type InboundBudgetInit } from './budget.ts'
import { inboundBudgetFor, DEFAULT_MAX_STREAMS, DEFAULT_RATE_LIMIT, DEFAULT_STREAM_REUSE, DEFAULT_TIMEOUTS, MAX_RATE_LIMITED_PEERS } from './constants.ts'
import { serveInbound, type AnyHandler } from './inbound.ts'
import { createReqRespMetrics, type ReqRespMetrics } from './metrics.ts'
import { exchange } from './outbound.ts'
import { StreamPool } from './pool.ts'
import type { ProtocolDef, ProtocolTimeouts, RateLimit, RequestOptions, ServeOptions, StreamingHandler, StreamingProtocol, StreamReuse, UnaryHandler, UnaryProtocol } from './types.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface ReqRespComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface ReqRespInit {
  /** Streams per connection and protocol, each way (network.connections.maxStreamsPerProtocol). */
  maxStreamsPerProtocol?: number
  /** Timeouts for protocols that do not set their own (e.g. dialMs from network.connections.dialTimeoutMs). */
  timeouts?: Partial<ProtocolTimeouts>
  /** Per-peer inbound rate for protocols that do not set their own. */
  rateLimit?: RateLimit
  /** Bytes of partly read requests held per protocol, node-wide and per peer (default: from each protocol's frame cap, inboundBudgetFor). */
  inboundBudget?: InboundBudgetInit
}

/** Who to ask: a peer id (string or PeerId) or a multiaddr (string or Multiaddr). */
export type RequestTarget = PeerId | Multiaddr | string

interface Registration {
  def: ProtocolDef<unknown, unknown>
  handler: AnyHandler
  admit: ServeOptions['admit']
  limiter: KeyedRateLimiter
  /** Unread request bytes held for this protocol's callers. */
  budget: InboundBudget
}

export class ReqResp {
  private readonly libp2p: ReqRespComponents['libp2p']
  private readonly log: Logger
  private readonly metrics: ReqRespMetrics | undefined
  private readonly maxStreams: number
  private readonly timeouts: ProtocolTimeouts
  private readonly rateLimit: RateLimit
  private readonly inboundBudget: InboundBudgetInit | undefined
  private readonly registrations = new Map<string, Registration>()
  /** Idle outbound streams, per protocol that reuses them. */
  private readonly pools = new Map<string, StreamPool>()
  private shutdown = new AbortController()
  private started = false

  constructor (components: ReqRespComponents, init: ReqRespInit = {}) {
    this.libp2p = components.libp2p
    this.log = components.logger.forComponent('agora:reqresp')
    this.metrics = createReqRespMetrics(components.metrics)
    this.maxStreams = init.maxStreamsPerProtocol ?? DEFAULT_MAX_STREAMS
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...init.timeouts }
    this.rateLimit = init.rateLimit ?? DEFAULT_RATE_LIMIT
    this.inboundBudget = init.inboundBudget
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    for (const registration of this.registrations.values()) await this.register(registration)
  }

  /** Unregister every protocol and abort the requests being served. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.shutdown.abort(new AgoraError('E504', 'the request/response engine is stopping'))
    for (const pool of this.pools.values()) pool.clear()
    this.pools.clear()
    await Promise.allSettled([...this.registrations.keys()].map(async id => { await this.libp2p.unhandle(id) }))
  }

  /** Serve a unary protocol (registered now if started, else at start). */
  async handle<Req, Res> (def: UnaryProtocol<Req, Res>, handler: UnaryHandler<Req, Res>, options: ServeOptions = {}): Promise<void> {
    await this.add(def as ProtocolDef<unknown, unknown>, handler as AnyHandler, options)
  }

  /** Serve a streaming protocol: the handler yields the response frames. */
  async handleStream<Req, Res> (def: StreamingProtocol<Req, Res>, handler: StreamingHandler<Req, Res>, options: ServeOptions = {}): Promise<void> {
    await this.add(def as ProtocolDef<unknown, unknown>, handler as AnyHandler, options)
  }

  async unhandle (id: string): Promise<void> {
    if (!this.registrations.delete(id)) return
    if (this.started) await this.libp2p.unhandle(id)
  }

  /** The protocol ids this engine serves. */
  protocols (): string[] {
    return [...this.registrations.keys()]
  }

  /** Bytes of `protocol`'s requests not yet read whole, held now (for one peer, or for all). */
  inboundHeld (protocol: string, peerId?: string): number {
    return this.registrations.get(protocol)?.budget.held(peerId) ?? 0
  }

  /** Idle outbound streams kept for `protocol` (to one peer, or to all). */
  idleStreams (protocol: string, peerId?: string): number {
    return this.pools.get(protocol)?.size(peerId) ?? 0
  }

  /**
   * Send one request and wait for the answer. The remote's AgoraError comes
   * back with its code; E202 unreachable, E204 timeouts (dial, first byte,
   * response), E205 bad frame, E206 rate limited, E207 refused.
   */
  async request<Req, Res> (target: RequestTarget, def: UnaryProtocol<Req, Res>, request: Req, options: RequestOptions = {}): Promise<Res> {
    for await (const value of this.open(target, def as ProtocolDef<unknown, unknown>, request, options)) return value as Res
    throw new AgoraError('E207', `no ${def.id} response`, { why: 'the stream ended without a value' })
  }

  /** Send one request and iterate over the streamed answer; breaking out of the loop cancels it on the remote. */
  async * requestStream<Req, Res> (target: RequestTarget, def: StreamingProtocol<Req, Res>, request: Req, options: RequestOptions = {}): AsyncGenerator<Res, void, undefined> {
    for await (const value of this.open(target, def as ProtocolDef<unknown, unknown>, request, options)) yield value as Res
  }

  private open (target: RequestTarget, def: ProtocolDef<unknown, unknown>, request: unknown, options: RequestOptions): AsyncGenerator<unknown, void, undefined> {
    if (!this.started) throw new AgoraError('E504', `cannot send a ${def.id} request`, { why: 'the request/response engine is not running' })
    const signals = [this.shutdown.signal]
    if (options.signal !== undefined) signals.push(options.signal)
    return exchange({
      libp2p: this.libp2p,
      def,
      target: parseTarget(target),
      request,
      timeouts: { ...this.timeouts, ...def.timeouts },
      maxStreams: def.maxStreams ?? this.maxStreams,
      metrics: this.metrics,
      signal: AbortSignal.any(signals),
      pool: this.poolFor(def)
    })
  }

  private poolFor (def: ProtocolDef<unknown, unknown>): StreamPool | undefined {
    if (def.reuseStreams === undefined || def.reuseStreams === false) return undefined
    let pool = this.pools.get(def.id)
    if (pool === undefined) {
      pool = new StreamPool(reuseOf(def) ?? DEFAULT_STREAM_REUSE)
      this.pools.set(def.id, pool)
    }
    return pool
  }

  private async add (def: ProtocolDef<unknown, unknown>, handler: AnyHandler, options: ServeOptions): Promise<void> {
    if (this.registrations.has(def.id)) throw new AgoraError('E599', `${def.id} is already handled`)
    const rate = def.rateLimit ?? this.rateLimit
    const registration: Registration = {
      def,
      handler,
      admit: options.admit,
      budget: new InboundBudget(this.inboundBudget ?? inboundBudgetFor(def.maxRequestBytes)),
      limiter: new KeyedRateLimiter({ perSecond: rate.perSecond, burst: rate.burst ?? rate.perSecond, maxKeys: MAX_RATE_LIMITED_PEERS })
    }
    this.registrations.set(def.id, registration)
    if (this.started) await this.register(registration)
  }

  private async register (registration: Registration): Promise<void> {
    const { def } = registration
    const maxStreams = def.maxStreams ?? this.maxStreams
    const timeouts = { ...this.timeouts, ...def.timeouts }
    const reuse = reuseOf(def)
    await this.libp2p.handle(def.id, async (stream, connection) => {
      await serveInbound(stream, connection, {
        def,
        handler: registration.handler,
        admit: registration.admit,
        budget: registration.budget.forPeer(connection.remotePeer.toString()),
        timeouts,
        limiter: registration.limiter,
        metrics: this.metrics,
        log: this.log,
        shutdown: this.shutdown.signal,
        // the caller, who knows when it will not use the stream again, closes first
        idleMs: reuse === undefined ? undefined : 2 * reuse.idleMs
      }).catch(err => { this.log.warn({ err: messageOf(err), protocol: def.id }, 'serving a stream failed') })
    }, { maxInboundStreams: maxStreams, maxOutboundStreams: maxStreams })
  }
}

/** The stream reuse settings of a protocol, or undefined when it uses one stream per request. */
function reuseOf (def: ProtocolDef<unknown, unknown>): StreamReuse | undefined {
  if (def.reuseStreams === undefined || def.reuseStreams === false) return undefined
  return def.reuseStreams === true ? DEFAULT_STREAM_REUSE : { ...DEFAULT_STREAM_REUSE, ...def.reuseStreams }
}

function parseTarget (target: RequestTarget): PeerId | Multiaddr {
  if (typeof target !== 'string') return target
  try {
    return target.startsWith('/') ? multiaddr(target) : peerIdFromString(target)
  } catch (err) {
    throw new AgoraError('E200', `not a peer id or multiaddr: ${target}`, { why: messageOf(err), cause: err })
  }
}
