/**
 * The serving side of one stream: admit the caller (before reading a byte
 * of its request) and check its rate limit, read one bounded request
 * frame, decode and validate the request, run the handler, and write the
 * answer frame by frame with backpressure. A bad frame is
 * dropped and counted and the stream reset; nothing a peer sends can stall
 * the node. For protocols that reuse streams, a stream whose answer ended
 * cleanly waits (at most `idleMs`) for the caller's next request and serves
 * it the same way; the caller closing its side ends it.
 */
import { childController, timeoutChild } from '../../abort.ts'
import { AgoraError } from '../../errors.ts'
import { STATUS } from './constants.ts'
import { BudgetExceededError, FrameReader, TruncatedFrameError } from './frame-reader.ts'
import { FrameWriter } from './frame-writer.ts'
import { errorFrame, frame, jsonCodec, problemOf } from './frames.ts'
import { isOversizedError, isStreamGoneError, settle } from './streams.ts'
import type { ByteBudget } from './budget.ts'
import type { BadFrameReason, ReqRespMetrics } from './metrics.ts'
import type { HandlerContext, ProtocolDef, ProtocolTimeouts, ServeOptions } from './types.ts'
import type { Logger } from '../../observability/logger.ts'
import type { KeyedRateLimiter } from '../../p2p/index.ts'
import type { Connection, Stream } from '@libp2p/interface'

export type AnyHandler = (request: unknown, context: HandlerContext) => Promise<unknown> | AsyncIterable<unknown>

export interface InboundInit {
  def: ProtocolDef<unknown, unknown>
  handler: AnyHandler
  /** Peer admission, asked before each request is read (ServeOptions.admit). */
  admit?: ServeOptions['admit']
  /** The caller's share of the protocol's bound on unread request bytes. */
  budget?: ByteBudget | undefined
  timeouts: ProtocolTimeouts
  limiter: KeyedRateLimiter
  metrics: ReqRespMetrics | undefined
  log: Logger
  /** Aborts when the engine stops. */
  shutdown: AbortSignal
  /** How long a reused stream waits for its next request; undefined: one request per stream. */
  idleMs?: number | undefined
}

class Dropped extends Error {
  readonly reason: BadFrameReason
  constructor (reason: BadFrameReason, why: string) {
    super(why)
    this.reason = reason
  }
}

/** How one request left the stream: ready for another, to be closed, or already aborted. */
type After = 'next' | 'close' | 'aborted'

export async function serveInbound (stream: Stream, connection: Connection, init: InboundInit): Promise<void> {
  const { def, timeouts, metrics, log, idleMs } = init
  const protocol = def.id
  const peerId = connection.remotePeer.toString()
  const remoteAddr = connection.remoteAddr.toString()
  const codec = def.codec ?? jsonCodec
  const gone = new AbortController()
  // between requests the reader notices a close by itself: no error object for a clean end
  let active = false
  const onClose = (): void => { if (active) gone.abort(new AgoraError('E204', `the caller closed the ${protocol} stream`)) }
  stream.addEventListener('close', onClose)
  const signal = AbortSignal.any([gone.signal, init.shutdown])
  const reader = new FrameReader(stream, { maxDataLength: def.maxRequestBytes, maxBufferSize: def.maxRequestBytes + 16, budget: init.budget })
  const writer = new FrameWriter(stream, timeouts.responseMs)
  // Bytes of a next request while this one is served: our own clients send a request only after the last
  // answer, so beyond a race at its end this is a peer holding the shared budget under a long answer.
  // Like any request, it may take requestMs to arrive; then the stream goes.
  let serving = false
  let aheadTimer: NodeJS.Timeout | undefined
  const onReadAhead = (): void => {
    if (!serving || aheadTimer !== undefined) return
    aheadTimer = setTimeout(() => {
      metrics?.badFrames.inc({ protocol, reason: 'ahead' })
      log.debug({ peerId, protocol, bytes: reader.bufferedBytes }, 'a request sent ahead of the answer was not taken in time')
      stream.abort(new AgoraError('E205', `a ${protocol} request sent while the last one was answered`, { why: `still waiting after ${timeouts.requestMs} ms` }))
    }, timeouts.requestMs)
  }
  if (idleMs !== undefined) stream.addEventListener('message', onReadAhead)

  const encode = (value: unknown): Uint8Array => {
    const checked = def.response.safeParse(value)
    if (!checked.success) {
      log.error({ protocol, why: problemOf(checked.error) }, 'our handler produced an invalid response (a bug)')
      throw new AgoraError('E207', `the remote produced an invalid ${protocol} response`)
    }
    const body = codec.encode(checked.data)
    if (body.byteLength > def.maxResponseBytes) {
      throw new AgoraError('E207', `the ${protocol} response is too large`, { why: `${body.byteLength} > ${def.maxResponseBytes} bytes` })
    }
    return frame(STATUS.OK, body)
  }

  try {
    while (true) {
      const after = await serveOne()
      if (after === 'aborted') return
      if (after === 'close' || idleMs === undefined || !await nextRequest(idleMs)) break
    }
    const closing = timeoutChild(signal, timeouts.responseMs)
    try {
      await stream.close({ signal: closing.signal })
    } finally {
      closing.release()
    }
    settle(stream)
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error('aborted'))
  } finally {
    stream.removeEventListener('close', onClose)
    stream.removeEventListener('message', onReadAhead)
    reader.detach()
    // nothing reads this stream any more: have libp2p drop what still arrives (a refused request's
    // rest, say) rather than buffer it outside our budget until the stream is reset
    if (stream.readStatus === 'readable' || stream.readStatus === 'paused') stream.closeRead().catch(() => {})
  }

  /** One request, from its frame to the end of its answer. */
  async function serveOne (): Promise<After> {
    const started = performance.now()
    active = true
    let outcome = 'ok'
    // the request frame was read whole: after an ERROR answer the stream is still in step
    let consumed = false
    // handlers listen on a signal of this request only (a reused stream carries many)
    const { controller: request, release } = childController(signal)
    // a one-shot answer must come within responseMs (a streamed one is bounded frame by frame)
    let answering: { signal: AbortSignal, release: () => void } | undefined
    try {
      // a peer we will not serve is told so before its request is read (the stream then closes)
      const refusal = init.admit?.(peerId)
      if (refusal !== undefined) throw refusal
      const allowed = init.limiter.take(peerId)
      // one request per stream: refuse at once; a reused stream reads the request first, to stay in step
      if (!allowed && idleMs === undefined) throw rateLimited()
      const bytes = await readFrame()
      consumed = true
      serving = true
      if (!allowed) throw rateLimited()
      const value = decodeRequest(bytes)
      if (def.streaming !== true) answering = timeoutChild(request.signal, timeouts.responseMs)
      const context: HandlerContext = { peerId, remoteAddr, signal: answering?.signal ?? request.signal }
      const result = init.handler(value, context)
      if (def.streaming === true) {
        if (!isAsyncIterable(result)) throw new AgoraError('E599', `the ${protocol} handler must return an async iterable`)
        // pull the next value only once the previous frame was taken by the transport (backpressure)
        for await (const item of result) await writer.write(encode(item), signal)
        await writer.write(frame(STATUS.END), signal)
      } else {
        if (isAsyncIterable(result)) throw new AgoraError('E599', `the ${protocol} handler must return a promise`)
        await writer.write(encode(await result), signal)
      }
      await writer.end(signal)
      return 'next'
    } catch (err) {
      if (err instanceof Dropped) {
        outcome = 'E205'
        metrics?.badFrames.inc({ protocol, reason: err.reason })
        log.debug({ peerId, protocol, reason: err.reason, why: err.message }, 'bad request frame dropped')
        stream.abort(new AgoraError('E205', `bad ${protocol} request frame`, { why: err.message }))
        return 'aborted'
      }
      if (gone.signal.aborted || init.shutdown.aborted || isStreamGoneError(err)) {
        outcome = 'aborted'
        stream.abort(err instanceof Error ? err : new Error('aborted'))
        return 'aborted'
      }
      const failure = err instanceof AgoraError ? err : new AgoraError('E207', `the remote failed to handle the ${protocol} request`)
      if (!(err instanceof AgoraError)) log.warn({ err, peerId, protocol }, 'request handler failed')
      outcome = failure.code
      try {
        await writer.write(errorFrame(failure), signal)
        await writer.end(signal)
        return consumed ? 'next' : 'close'
      } catch {
        stream.abort(failure)
        return 'aborted'
      }
    } finally {
      active = false
      serving = false
      clearTimeout(aheadTimer)
      aheadTimer = undefined
      answering?.release()
      release()
      metrics?.requests.inc({ protocol, direction: 'inbound', outcome })
      metrics?.duration.observe({ protocol, direction: 'inbound' }, (performance.now() - started) / 1000)
    }
  }

  function rateLimited (): AgoraError {
    metrics?.rateLimited.inc({ protocol })
    return new AgoraError('E206', `too many ${protocol} requests`, { why: 'over the per-peer rate limit' })
  }

  /** The request frame, whole, within requestMs. */
  async function readFrame (): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined
    try {
      // usually the whole frame is already here: no timer needed
      bytes = reader.tryRead() ?? await readWithin(timeouts.requestMs)
    } catch (err) {
      if (isOversizedError(err)) throw new Dropped('oversized', (err as Error).message)
      if (err instanceof BudgetExceededError) throw new Dropped('budget', err.message)
      if (!signal.aborted && !isStreamGoneError(err)) {
        throw new AgoraError('E204', `no complete ${protocol} request in time`, { why: `the request must arrive within ${timeouts.requestMs} ms` })
      }
      throw err
    }
    if (bytes === undefined) throw new TruncatedFrameError('the caller closed the stream without a request')
    return bytes
  }

  async function readWithin (ms: number): Promise<Uint8Array | undefined> {
    const reading = timeoutChild(signal, ms)
    try {
      return await reader.read(reading.signal)
    } finally {
      reading.release()
    }
  }

  function decodeRequest (bytes: Uint8Array): unknown {
    let value: unknown
    try {
      value = codec.decode(bytes)
    } catch (err) {
      throw new Dropped('decode', problemOf(err))
    }
    const parsed = def.request.safeParse(value)
    if (!parsed.success) throw new Dropped('schema', problemOf(parsed.error))
    return parsed.data
  }

  /** Wait for the caller's next request: true once it starts to arrive, false when the caller closed its side or idled too long. */
  async function nextRequest (ms: number): Promise<boolean> {
    const idle = timeoutChild(signal, ms)
    try {
      return await reader.waitForData(idle.signal)
    } catch (err) {
      // too much sent ahead of its turn: counted like an oversized request frame
      if (err instanceof BudgetExceededError || isOversizedError(err)) {
        metrics?.badFrames.inc({ protocol, reason: err instanceof BudgetExceededError ? 'budget' : 'oversized' })
        log.debug({ peerId, protocol, why: (err as Error).message }, 'bytes sent between requests dropped')
      }
      // the engine stopping, or a reset: abort (the caller of serveInbound's loop resets the stream)
      if (signal.aborted || !idle.signal.aborted) throw err
      return false
    } finally {
      idle.release()
    }
  }
}

function isAsyncIterable (value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function'
}
