/**
 * The serving side of one stream: check the caller's rate limit, read one
 * bounded request frame, decode and validate it, run the handler, and write
 * the answer frame by frame with backpressure. A bad frame is dropped and
 * counted and the stream reset; nothing a peer sends can stall the node.
 */
import { lpStream } from '@libp2p/utils'
import { AgoraError } from '../../errors.ts'
import { STATUS } from './constants.ts'
import { errorFrame, frame, jsonCodec, problemOf } from './frames.ts'
import { isOversizedError, isStreamGoneError, settle, writeFrame } from './streams.ts'
import type { BadFrameReason, ReqRespMetrics } from './metrics.ts'
import type { HandlerContext, ProtocolDef, ProtocolTimeouts } from './types.ts'
import type { Logger } from '../../observability/logger.ts'
import type { KeyedRateLimiter } from '../../p2p/index.ts'
import type { Connection, Stream } from '@libp2p/interface'

export type AnyHandler = (request: unknown, context: HandlerContext) => Promise<unknown> | AsyncIterable<unknown>

export interface InboundInit {
  def: ProtocolDef<unknown, unknown>
  handler: AnyHandler
  timeouts: ProtocolTimeouts
  limiter: KeyedRateLimiter
  metrics: ReqRespMetrics | undefined
  log: Logger
  /** Aborts when the engine stops. */
  shutdown: AbortSignal
}

class Dropped extends Error {
  readonly reason: BadFrameReason
  constructor (reason: BadFrameReason, why: string) {
    super(why)
    this.reason = reason
  }
}

export async function serveInbound (stream: Stream, connection: Connection, init: InboundInit): Promise<void> {
  const { def, timeouts, metrics, log } = init
  const protocol = def.id
  const peerId = connection.remotePeer.toString()
  const codec = def.codec ?? jsonCodec
  const started = performance.now()
  const gone = new AbortController()
  const onClose = (): void => { gone.abort(new AgoraError('E204', `the caller closed the ${protocol} stream`)) }
  stream.addEventListener('close', onClose)
  const signal = AbortSignal.any([gone.signal, init.shutdown])
  const lp = lpStream(stream, { maxDataLength: def.maxRequestBytes, maxBufferSize: def.maxRequestBytes + 16 })
  let outcome = 'ok'

  const write = async (bytes: Uint8Array): Promise<void> => {
    await writeFrame(stream, bytes, signal, timeouts.responseMs)
  }
  const finish = async (): Promise<void> => {
    await stream.close({ signal: AbortSignal.any([signal, AbortSignal.timeout(timeouts.responseMs)]) })
    settle(stream)
  }
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
    if (!init.limiter.take(peerId)) {
      metrics?.rateLimited.inc({ protocol })
      throw new AgoraError('E206', `too many ${protocol} requests`, { why: 'over the per-peer rate limit' })
    }
    const request = await readRequest()
    const context: HandlerContext = {
      peerId,
      remoteAddr: connection.remoteAddr.toString(),
      signal: def.streaming === true ? signal : AbortSignal.any([signal, AbortSignal.timeout(timeouts.responseMs)])
    }
    const result = init.handler(request, context)
    if (def.streaming === true) {
      if (!isAsyncIterable(result)) throw new AgoraError('E599', `the ${protocol} handler must return an async iterable`)
      // pull the next value only once the previous frame was taken by the transport (backpressure)
      for await (const value of result) await write(encode(value))
      await write(frame(STATUS.END))
    } else {
      if (isAsyncIterable(result)) throw new AgoraError('E599', `the ${protocol} handler must return a promise`)
      await write(encode(await result))
    }
    await finish()
  } catch (err) {
    if (err instanceof Dropped) {
      outcome = 'E205'
      metrics?.badFrames.inc({ protocol, reason: err.reason })
      log.debug({ peerId, protocol, reason: err.reason, why: err.message }, 'bad request frame dropped')
      stream.abort(new AgoraError('E205', `bad ${protocol} request frame`, { why: err.message }))
    } else if (gone.signal.aborted || init.shutdown.aborted || isStreamGoneError(err)) {
      outcome = 'aborted'
      stream.abort(err instanceof Error ? err : new Error('aborted'))
    } else {
      const failure = err instanceof AgoraError ? err : new AgoraError('E207', `the remote failed to handle the ${protocol} request`)
      if (!(err instanceof AgoraError)) log.warn({ err, peerId, protocol }, 'request handler failed')
      outcome = failure.code
      await sendError(failure)
    }
  } finally {
    stream.removeEventListener('close', onClose)
    metrics?.requests.inc({ protocol, direction: 'inbound', outcome })
    metrics?.duration.observe({ protocol, direction: 'inbound' }, (performance.now() - started) / 1000)
  }

  async function readRequest (): Promise<unknown> {
    let bytes: Uint8Array
    try {
      const read = await lp.read({ signal: AbortSignal.any([signal, AbortSignal.timeout(timeouts.requestMs)]) })
      bytes = read.subarray()
    } catch (err) {
      if (isOversizedError(err)) throw new Dropped('oversized', (err as Error).message)
      if (!signal.aborted && !isStreamGoneError(err)) {
        throw new AgoraError('E204', `no complete ${protocol} request in time`, { why: `the request must arrive within ${timeouts.requestMs} ms` })
      }
      throw err
    }
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

  async function sendError (failure: AgoraError): Promise<void> {
    try {
      await write(errorFrame(failure))
      await finish()
    } catch {
      stream.abort(failure)
    }
  }
}

function isAsyncIterable (value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function'
}
