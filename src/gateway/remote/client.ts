/**
 * The calling side of /agora/infer/1: run a chat or an embeddings request
 * on a peer. Named timeouts, each with its own code: dial (E910), first
 * token (E911), idle between tokens (E912), total (E913); the caller's
 * signal cancels (E914). Any of them closes the stream, so the serving
 * node cancels its provider call. The chat answer is pulled frame by frame
 * as the consumer asks (a slow consumer slows the remote provider).
 * A refusal comes back with the code of the rule that refused it
 * (E900–E905; E904/E905 with `details.retryAfterMs`; E950 and E1102 for
 * payment). A paid call sends its payment with the request and hands back
 * the price the server issued its receipt for; checking and capturing it
 * is the gateway's (payments.ts).
 */
import { isAgoraError } from '../../errors.ts'
import { parseCredits, type Micro } from '../../market/amount.ts'
import { ENGINE_TIMEOUT_SLACK_MS, REMOTE_TIMEOUT_DEFAULTS, type RemoteTimeouts } from './constants.ts'
import { Deadlines } from './deadlines.ts'
import { toWireRequest, type CallPayment } from './encode.ts'
import { createInferClientMetrics, type InferClientMetrics } from './metrics.ts'
import { createInferProtocol, type InferProtocol } from './protocol.ts'
import { Session } from './session.ts'
import type { InferOp, InferRequest } from './schema.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { ReqResp } from '../../protocols/index.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult } from '../../providers/inference.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface RemoteInferenceComponents {
  reqresp: Pick<ReqResp, 'requestStream'>
  /** Dials the peer first (unless `getConnections` shows an open connection), so that reaching it has its own timeout (E910). */
  libp2p: Pick<Libp2p, 'dial'> & Partial<Pick<Libp2p, 'getConnections'>>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface RemoteCallOptions {
  /** Aborting cancels the call here and on the remote (E914, or the reason when it is an AgoraError). */
  signal?: AbortSignal
  /** A paid call: the receipt id and the buyer's hold, the most it may cost. */
  payment?: CallPayment | undefined
}

/** A chat event from a peer; the `done` of a paid answer carries the price the server claims, micro-credits. */
export type PricedChatEvent = ChatEvent & { price?: Micro }

/** Embeddings from a peer; a paid answer carries the price the server claims, micro-credits. */
export type PricedEmbeddingsResult = EmbeddingsResult & { price?: Micro }

export class RemoteInference {
  private readonly reqresp: RemoteInferenceComponents['reqresp']
  private readonly libp2p: RemoteInferenceComponents['libp2p']
  private readonly log: Logger
  private readonly metrics: InferClientMetrics | undefined
  private readonly timeouts: RemoteTimeouts
  private readonly protocol: InferProtocol

  constructor (components: RemoteInferenceComponents, init: Partial<RemoteTimeouts> = {}) {
    this.reqresp = components.reqresp
    this.libp2p = components.libp2p
    this.log = components.logger.forComponent('agora:infer')
    this.metrics = createInferClientMetrics(components.metrics)
    this.timeouts = {
      dialMs: init.dialMs ?? REMOTE_TIMEOUT_DEFAULTS.dialMs,
      firstTokenMs: init.firstTokenMs ?? REMOTE_TIMEOUT_DEFAULTS.firstTokenMs,
      idleMs: init.idleMs ?? REMOTE_TIMEOUT_DEFAULTS.idleMs,
      totalMs: init.totalMs ?? REMOTE_TIMEOUT_DEFAULTS.totalMs
    }
    // the engine's own timers (E204) stay behind ours
    this.protocol = createInferProtocol({
      dialMs: this.timeouts.dialMs + ENGINE_TIMEOUT_SLACK_MS,
      firstByteMs: this.timeouts.firstTokenMs + ENGINE_TIMEOUT_SLACK_MS,
      responseMs: this.timeouts.idleMs + ENGINE_TIMEOUT_SLACK_MS
    })
  }

  /** The timeouts in force. */
  settings (): RemoteTimeouts {
    return { ...this.timeouts }
  }

  /**
   * Stream a chat completion from `peerId`: deltas, then one `done`. Breaking
   * out of the loop (or aborting the signal) cancels it on the remote.
   */
  async * chatStream (peerId: string, request: ChatRequest, options: RemoteCallOptions = {}): AsyncGenerator<PricedChatEvent, void, undefined> {
    const session = this.open('chat', peerId, toWireRequest('chat', request, options.payment), options)
    let outcome = 'abandoned'
    try {
      while (true) {
        const frame = await session.next()
        if (frame === undefined) throw session.protocolError('the answer ended without a done frame')
        if (frame.type === 'delta') {
          yield frame.logprobs === undefined ? { type: 'delta', text: frame.text } : { type: 'delta', text: frame.text, logprobs: frame.logprobs }
          continue
        }
        if (frame.type === 'tool_calls') {
          yield { type: 'tool_calls', calls: frame.calls }
          continue
        }
        if (frame.type !== 'done') throw session.protocolError(`a ${frame.type} frame in a chat answer`)
        // read the end now: a consumer that stops at `done` then leaves a complete stream, not a cancelled one
        if (await session.next() !== undefined) throw session.protocolError('a frame after done')
        outcome = 'ok'
        yield { type: 'done', finishReason: frame.finishReason, usage: frame.usage, ...priceOf(frame.price) }
        return
      }
    } catch (err) {
      outcome = isAgoraError(err) ? err.code : 'error'
      throw err
    } finally {
      await session.close(outcome)
      this.log.debug({ peerId, model: request.model, outcome }, 'remote chat ended')
    }
  }

  /** Embed `request.input` on `peerId`: one vector per input, in order. */
  async embeddings (peerId: string, request: EmbeddingsRequest, options: RemoteCallOptions = {}): Promise<PricedEmbeddingsResult> {
    const session = this.open('embeddings', peerId, toWireRequest('embeddings', request, options.payment), options)
    const inputs = request.input.length
    let outcome = 'abandoned'
    try {
      const vectors: number[][] = []
      while (true) {
        const frame = await session.next()
        if (frame === undefined) throw session.protocolError('the answer ended without an embeddings frame')
        if (frame.type === 'vectors') {
          if (frame.offset !== vectors.length || vectors.length + frame.vectors.length > inputs) {
            throw session.protocolError(`vectors at offset ${frame.offset} after ${vectors.length} of ${inputs}`)
          }
          for (const vector of frame.vectors) vectors.push(vector)
          continue
        }
        if (frame.type !== 'embeddings') throw session.protocolError(`a ${frame.type} frame in an embeddings answer`)
        if (frame.count !== inputs || vectors.length !== inputs) throw session.protocolError(`${vectors.length} vectors (count ${frame.count}) for ${inputs} inputs`)
        if (await session.next() !== undefined) throw session.protocolError('a frame after the embeddings frame')
        outcome = 'ok'
        return { vectors, usage: { promptTokens: frame.usage.promptTokens }, ...priceOf(frame.price) }
      }
    } catch (err) {
      outcome = isAgoraError(err) ? err.code : 'error'
      throw err
    } finally {
      await session.close(outcome)
      this.log.debug({ peerId, model: request.model, outcome }, 'remote embeddings ended')
    }
  }

  private open (op: InferOp, peer: string, request: InferRequest, options: RemoteCallOptions): Session {
    return new Session({
      op,
      peer,
      request,
      protocol: this.protocol,
      deadlines: new Deadlines(this.timeouts, { peer, op }, options.signal),
      reqresp: this.reqresp,
      libp2p: this.libp2p,
      metrics: this.metrics
    })
  }
}

/** The price of a final frame (validated six-decimal credits) as micro-credits; nothing when the frame has none. */
function priceOf (wire: string | undefined): { price?: Micro } {
  return wire === undefined ? {} : { price: parseCredits(wire, 'price') }
}
