/**
 * One remote inference call on the calling side: dial under the dial
 * timeout, open the /agora/infer/1 stream, and hand out its frames one at
 * a time under the first-token and idle timeouts. Frames are pulled only
 * when asked for, so the engine keeps the stream paused (and the server
 * waiting) while our consumer is busy: nothing is buffered here.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { AgoraError, messageOf } from '../../errors.ts'
import { raceAbort } from '../../abort.ts'
import type { Deadlines } from './deadlines.ts'
import type { InferClientMetrics } from './metrics.ts'
import type { InferProtocol } from './protocol.ts'
import type { InferFrame, InferOp, InferRequest } from './schema.ts'
import type { ReqResp } from '../../protocols/index.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

export interface SessionInit {
  op: InferOp
  peer: string
  request: InferRequest
  protocol: InferProtocol
  deadlines: Deadlines
  reqresp: Pick<ReqResp, 'requestStream'>
  /** `getConnections`, when given, skips the dial while a connection to the peer is open. */
  libp2p: Pick<Libp2p, 'dial'> & Partial<Pick<Libp2p, 'getConnections'>>
  metrics: InferClientMetrics | undefined
}

export class Session {
  private readonly init: SessionInit
  private readonly started = performance.now()
  private engine: AsyncGenerator<InferFrame, void, undefined> | undefined
  private frames = 0
  private closed = false

  constructor (init: SessionInit) {
    this.init = init
    // a timeout or the caller's cancel while our consumer is away: close the stream now, so the remote stops
    init.deadlines.onAbort(() => { void this.engine?.return().catch(() => {}) })
  }

  /** The next answer frame; undefined once the remote ended the answer. Throws the call's AgoraError. */
  async next (): Promise<InferFrame | undefined> {
    const { deadlines } = this.init
    try {
      if (deadlines.signal.aborted) throw deadlines.signal.reason
      if (this.engine === undefined) {
        await this.dial()
        this.engine = this.init.reqresp.requestStream(this.init.peer, this.init.protocol, this.init.request, { signal: deadlines.signal })
        deadlines.arm('first')
      } else {
        deadlines.arm(this.frames === 0 ? 'first' : 'idle')
      }
      const result = await raceAbort(this.engine.next(), deadlines.signal)
      deadlines.disarm()
      if (result.done === true) return undefined
      if (this.frames++ === 0) this.init.metrics?.firstFrame.observe((performance.now() - this.started) / 1000)
      return result.value
    } catch (err) {
      deadlines.disarm()
      throw withRetryAfter(deadlines.failure(err))
    }
  }

  /** Stop the timers and the stream (the remote sees a cancel unless the answer was complete). */
  async close (outcome: string): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.init.deadlines.clear()
    await this.engine?.return().catch(() => {})
    this.init.metrics?.requests.inc({ op: this.init.op, outcome })
  }

  /** An answer that breaks the protocol (E915). */
  protocolError (why: string): AgoraError {
    return new AgoraError('E915', `${this.init.peer} sent an invalid ${this.init.op} answer`, { why, details: { peer: this.init.peer } })
  }

  private async dial (): Promise<void> {
    const { deadlines, peer } = this.init
    let target: PeerId
    try {
      target = peerIdFromString(peer)
    } catch (err) {
      throw new AgoraError('E220', `not a peer id: ${peer}`, { why: messageOf(err) })
    }
    // already connected: the stream opens on that connection, there is nothing to dial
    if (this.init.libp2p.getConnections?.(target).some(c => c.status === 'open') === true) return
    deadlines.arm('dial')
    try {
      await raceAbort(this.init.libp2p.dial(target, { signal: deadlines.signal }), deadlines.signal)
    } catch (err) {
      if (deadlines.signal.aborted) throw err
      throw new AgoraError('E202', `cannot reach ${peer}`, { why: messageOf(err), cause: err, details: { peer } })
    } finally {
      deadlines.disarm()
    }
  }
}

const RETRY_AFTER = /retry after (\d+) ms/

/**
 * A peer's rate-limit refusal (E904/E905) crosses the wire as code, message
 * and why only; its `why` ends with "retry after N ms", read back here into
 * `details.retryAfterMs` for the API's Retry-After header.
 */
export function withRetryAfter (err: AgoraError): AgoraError {
  if ((err.code !== 'E904' && err.code !== 'E905') || typeof err.details?.retryAfterMs === 'number') return err
  const match = RETRY_AFTER.exec(err.why ?? '')
  if (match === null) return err
  return new AgoraError(err.code, err.what, { why: err.why, hint: err.hint, cause: err.cause, details: { ...err.details, retryAfterMs: Number(match[1]) } })
}
