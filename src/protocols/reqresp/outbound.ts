/**
 * The calling side of one stream: dial, send the request frame, half-close,
 * then read status-prefixed frames under three named timeouts (dial, first
 * byte, response). While the consumer of a streamed answer is busy the
 * stream is paused, so the server's writes wait (end-to-end backpressure).
 */
import { lpStream } from '@libp2p/utils'
import { AgoraError, messageOf } from '../../errors.ts'
import { MAX_ERROR_FRAME_BYTES, STATUS } from './constants.ts'
import { decodeErrorBody, jsonCodec, problemOf, splitFrame } from './frames.ts'
import { isOversizedError, isStreamGoneError, settle } from './streams.ts'
import type { BadFrameReason, ReqRespMetrics } from './metrics.ts'
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
  const { def, timeouts, metrics } = init
  const protocol = def.id
  const codec = def.codec ?? jsonCodec
  const streaming = def.streaming === true
  const details = { peer: init.target.toString(), protocol }
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

  let stream: Stream | undefined
  let done = false
  // the named timeouts abort this controller with their own E204
  const deadline = new AbortController()
  const arm = (ms: number, why: string): NodeJS.Timeout =>
    setTimeout(() => { deadline.abort(new AgoraError('E204', `${protocol} request to ${details.peer} timed out`, { why, details })) }, ms)
  let firstByte: NodeJS.Timeout | undefined
  let whole: NodeJS.Timeout | undefined
  let gap: NodeJS.Timeout | undefined
  const signal = AbortSignal.any([init.signal, deadline.signal])

  try {
    stream = await dial(init, details)
    const lp = lpStream(stream, { maxDataLength: Math.max(def.maxResponseBytes + 1, MAX_ERROR_FRAME_BYTES), maxBufferSize: readBufferSize(def.maxResponseBytes) })
    firstByte = arm(timeouts.firstByteMs, `no first byte within ${timeouts.firstByteMs} ms (first byte)`)
    if (!streaming) whole = arm(timeouts.responseMs, `the response did not complete within ${timeouts.responseMs} ms (response)`)
    stream.addEventListener('message', () => {
      clearTimeout(firstByte)
      if (streaming) gap = arm(timeouts.responseMs, `no frame for ${timeouts.responseMs} ms (response)`)
    }, { once: true })

    await lp.write(requestBytes, { signal })
    await stream.close({ signal })

    while (true) {
      let bytes: Uint8Array
      try {
        bytes = (await lp.read({ signal })).subarray()
      } catch (err) {
        if (isOversizedError(err)) throw bad('oversized', messageOf(err))
        throw err
      }
      const parts = splitFrame(bytes)
      if (parts === undefined) throw bad('empty', 'an empty frame')
      if (parts.status === STATUS.ERROR) {
        const remote = decodeErrorBody(parts.body, details)
        if (remote === undefined) throw bad('decode', 'an error frame that is not a valid error')
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
    }
  } catch (err) {
    const failure = toAgoraError(err, init.signal, deadline.signal, details)
    outcome = failure.code
    stream?.abort(failure)
    throw failure
  } finally {
    clearTimeout(firstByte)
    clearTimeout(whole)
    clearTimeout(gap)
    if (stream !== undefined) {
      if (done) settle(stream)
      else if (outcome === 'ok') {
        // the consumer stopped early: tell the server to stop too
        outcome = 'cancelled'
        stream.abort(new AgoraError('E204', `${protocol} response abandoned by the caller`))
      }
    }
    metrics?.requests.inc({ protocol, direction: 'outbound', outcome })
    metrics?.duration.observe({ protocol, direction: 'outbound' }, (performance.now() - started) / 1000)
  }
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
