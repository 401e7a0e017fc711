/**
 * The calling side of one request: get a stream (an idle one from the pool
 * when the protocol reuses streams, else dial), send the request frame
 * (then half-close, unless the stream may carry another request), and read
 * status-prefixed frames under three named timeouts (dial, first byte,
 * response). While the consumer of a streamed answer is busy the stream is
 * paused, so the server's writes wait (end-to-end backpressure). A pooled
 * stream that turns out dead before any answer byte (the server closed it
 * meanwhile) is dropped and the request sent once more on a new stream.
 */
import { isPeerId } from '@libp2p/interface'
import { AgoraError, messageOf } from '../../errors.ts'
import { MAX_ERROR_FRAME_BYTES, STATUS } from './constants.ts'
import { FrameReader } from './frame-reader.ts'
import { varint } from './frame-writer.ts'
import { decodeErrorBody, jsonCodec, problemOf, splitFrame } from './frames.ts'
import { drained, isOversizedError, isStreamGoneError, settle } from './streams.ts'
import type { BadFrameReason, ReqRespMetrics } from './metrics.ts'
import type { Lease, StreamPool } from './pool.ts'
import type { ProtocolDef, ProtocolTimeouts } from './types.ts'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface OutboundInit {
  libp2p: Pick<Libp2p, 'dialProtocol'>
  def: ProtocolDef<unknown, unknown>
  target: PeerId | Multiaddr
  request: unknown
  timeouts: ProtocolTimeouts
  maxStreams: number
  metrics: ReqRespMetrics | undefined
  signal: AbortSignal
  /** Idle streams of this protocol (protocols with `reuseStreams`); undefined: one stream per request. */
  pool?: StreamPool | undefined
}

/**
 * Largest read buffer for a response: a few frames' worth, and more than the
 * yamux window (2 MiB) a fast sender can fill before our pause takes effect.
 */
function readBufferSize (maxResponseBytes: number): number {
  return Math.max(8 * 1024 * 1024, 4 * (maxResponseBytes + 16))
}

/** Yields each response value; unary protocols yield exactly one. */
export async function * exchange (init: OutboundInit): AsyncGenerator<unknown, void, undefined> {
  const { def, timeouts, metrics, pool } = init
  const protocol = def.id
  const codec = def.codec ?? jsonCodec
  const streaming = def.streaming === true
  const details = { peer: init.target.toString(), protocol }
  // only a peer id names one peer for the pool (a multiaddr may reach anyone)
  const poolKey = pool !== undefined && isPeerId(init.target) ? details.peer : undefined
  const started = performance.now()
  let outcome = 'ok'

  const bad = (reason: BadFrameReason, why: string): AgoraError => {
    metrics?.badFrames.inc({ protocol, reason })
    return new AgoraError('E205', `bad ${protocol} response frame`, { why, details })
  }

  const checked = def.request.safeParse(init.request)
  if (!checked.success) throw new AgoraError('E599', `invalid ${protocol} request (a bug in the caller)`, { why: problemOf(checked.error) })
  const requestBytes = codec.encode(checked.data)
  if (requestBytes.byteLength > def.maxRequestBytes) {
    throw new AgoraError('E111', `the ${protocol} request is too large`, { why: `${requestBytes.byteLength} > ${def.maxRequestBytes} bytes`, details })
  }

  let lease: Lease | undefined
  // the answer ended as the protocol says (a value, END or an ERROR frame): the stream is clean
  let done = false
  // the named timeouts abort this controller with their own E204
  const deadline = new AbortController()
  const arm = (ms: number, why: string): NodeJS.Timeout =>
    setTimeout(() => { deadline.abort(new AgoraError('E204', `${protocol} request to ${details.peer} timed out`, { why, details })) }, ms)
  let firstByte: NodeJS.Timeout | undefined
  let whole: NodeJS.Timeout | undefined
  let gap: NodeJS.Timeout | undefined
  const signal = AbortSignal.any([init.signal, deadline.signal])
  const onFirstByte = (): void => {
    clearTimeout(firstByte)
    if (streaming) gap = arm(timeouts.responseMs, `no frame for ${timeouts.responseMs} ms (response)`)
  }

  /** A stream with the request sent on it, and the first answer frame (undefined: closed without one). */
  const start = async (): Promise<[Lease, Uint8Array | undefined]> => {
    for (let retry = false; ; retry = true) {
      const pooled = poolKey === undefined || retry ? undefined : pool?.take(poolKey)
      const current = pooled ?? await open(init, details)
      lease = current
      metrics?.streams.inc({ protocol, source: pooled === undefined ? 'new' : 'reused' })
      firstByte ??= arm(timeouts.firstByteMs, `no first byte within ${timeouts.firstByteMs} ms (first byte)`)
      if (!streaming) whole ??= arm(timeouts.responseMs, `the response did not complete within ${timeouts.responseMs} ms (response)`)
      const { stream, reader } = current
      const before = reader.receivedBytes
      stream.addEventListener('message', onFirstByte, { once: true })
      try {
        if (!stream.send(withLength(requestBytes))) await drained(stream, signal)
        // one request per stream: half-close, the server answers and closes
        if (poolKey === undefined) await stream.close({ signal })
        const first = await next(reader, signal, bad)
        if (first !== undefined || !current.reused) return [current, first]
      } catch (err) {
        if (!current.reused || reader.receivedBytes !== before || signal.aborted || !isStreamGoneError(err)) throw err
      }
      // a pooled stream the server had closed meanwhile: nothing was answered, ask again on a new one
      metrics?.streams.inc({ protocol, source: 'stale' })
      stream.removeEventListener('message', onFirstByte)
      stream.abort(new Error('stale pooled stream'))
      lease = undefined
    }
  }

  try {
    const [{ stream, reader }, first] = await start()
    let bytes = first
    while (true) {
      if (bytes === undefined) throw new AgoraError('E207', `${details.peer} closed the ${protocol} stream without an answer`, { why: 'the stream ended', details })
      const parts = splitFrame(bytes)
      if (parts === undefined) throw bad('empty', 'an empty frame')
      if (parts.status === STATUS.ERROR) {
        const remote = decodeErrorBody(parts.body, details)
        if (remote === undefined) throw bad('decode', 'an error frame that is not a valid error')
        done = true
        throw remote
      }
      if (parts.status === STATUS.END && streaming) {
        done = true
        return
      }
      if (parts.status !== STATUS.OK) throw bad('status', `unexpected status ${parts.status}`)
      if (parts.body.byteLength > def.maxResponseBytes) throw bad('oversized', `${parts.body.byteLength} > ${def.maxResponseBytes} bytes`)
      let value: unknown
      try {
        value = codec.decode(parts.body)
      } catch (err) {
        throw bad('decode', problemOf(err))
      }
      const parsed = def.response.safeParse(value)
      if (!parsed.success) throw bad('schema', problemOf(parsed.error))
      if (!streaming) {
        done = true
        yield parsed.data
        return
      }
      clearTimeout(gap)
      // hold the remote while our consumer works on this frame
      if (stream.readStatus === 'readable') stream.pause()
      yield parsed.data
      if (stream.readStatus === 'paused') stream.resume()
      gap = arm(timeouts.responseMs, `no frame for ${timeouts.responseMs} ms (response)`)
      bytes = await next(reader, signal, bad)
    }
  } catch (err) {
    const failure = toAgoraError(err, init.signal, deadline.signal, details)
    outcome = failure.code
    if (!done) lease?.stream.abort(failure)
    throw failure
  } finally {
    clearTimeout(firstByte)
    clearTimeout(whole)
    clearTimeout(gap)
    if (lease !== undefined) {
      lease.stream.removeEventListener('message', onFirstByte)
      if (done) release(lease, poolKey === undefined ? undefined : pool, poolKey)
      else if (outcome === 'ok') {
        // the consumer stopped early: tell the server to stop too
        outcome = 'cancelled'
        lease.stream.abort(new AgoraError('E204', `${protocol} response abandoned by the caller`))
      }
    }
    metrics?.requests.inc({ protocol, direction: 'outbound', outcome })
    metrics?.duration.observe({ protocol, direction: 'outbound' }, (performance.now() - started) / 1000)
  }
}

/** The next frame; an oversized one is a bad frame. */
async function next (reader: FrameReader, signal: AbortSignal, bad: (reason: BadFrameReason, why: string) => AgoraError): Promise<Uint8Array | undefined> {
  try {
    return await reader.read(signal)
  } catch (err) {
    if (isOversizedError(err)) throw bad('oversized', messageOf(err))
    throw err
  }
}

/** A finished exchange: back to the pool, or (one request per stream) let the server close it. */
function release (lease: Lease, pool: StreamPool | undefined, key: string | undefined): void {
  if (pool !== undefined && key !== undefined) {
    pool.put(key, lease)
    return
  }
  lease.reader.detach()
  settle(lease.stream)
}

function withLength (body: Uint8Array): Uint8Array {
  const prefix = varint(body.byteLength)
  const out = new Uint8Array(prefix.length + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}

async function open (init: OutboundInit, details: Record<string, string>): Promise<Lease> {
  const stream = await dial(init, details)
  const { def } = init
  const reader = new FrameReader(stream, { maxDataLength: Math.max(def.maxResponseBytes + 1, MAX_ERROR_FRAME_BYTES), maxBufferSize: readBufferSize(def.maxResponseBytes) })
  return { stream, reader, reused: false }
}

async function dial (init: OutboundInit, details: Record<string, string>): Promise<Stream> {
  const timeout = AbortSignal.timeout(init.timeouts.dialMs)
  try {
    return await init.libp2p.dialProtocol(init.target, init.def.id, {
      signal: AbortSignal.any([init.signal, timeout]),
      maxOutboundStreams: init.maxStreams
    })
  } catch (err) {
    if (init.signal.aborted) throw cancelled(init.signal, details)
    if (timeout.aborted) {
      throw new AgoraError('E204', `dialling ${details.peer ?? ''} for ${init.def.id} timed out`, { why: `no connection within ${init.timeouts.dialMs} ms (dial)`, cause: err, details })
    }
    const name = err instanceof Error ? err.name : ''
    if (name === 'UnsupportedProtocolError') {
      throw new AgoraError('E207', `${details.peer ?? ''} does not serve ${init.def.id}`, { why: 'protocol not supported by the peer', cause: err, details })
    }
    if (name === 'TooManyOutboundProtocolStreamsError') {
      throw new AgoraError('E206', `too many open ${init.def.id} requests to ${details.peer ?? ''}`, { why: messageOf(err), cause: err, details })
    }
    throw new AgoraError('E202', `cannot reach ${details.peer ?? ''} for ${init.def.id}`, { why: messageOf(err), cause: err, details })
  }
}

function cancelled (signal: AbortSignal, details: Record<string, string>): AgoraError {
  if (signal.reason instanceof AgoraError) return signal.reason
  return new AgoraError('E204', `${details.protocol ?? ''} request to ${details.peer ?? ''} cancelled`, { why: 'cancelled by the caller', cause: signal.reason, details })
}

function toAgoraError (err: unknown, caller: AbortSignal, deadline: AbortSignal, details: Record<string, string>): AgoraError {
  if (err instanceof AgoraError) return err
  if (caller.aborted) return cancelled(caller, details)
  if (deadline.aborted && deadline.reason instanceof AgoraError) return deadline.reason
  if (isStreamGoneError(err)) {
    return new AgoraError('E207', `${details.peer ?? ''} closed the ${details.protocol ?? ''} stream without an answer`, { why: messageOf(err), cause: err, details })
  }
  return new AgoraError('E202', `${details.protocol ?? ''} request to ${details.peer ?? ''} failed`, { why: messageOf(err), cause: err, details })
}
