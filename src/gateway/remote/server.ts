/**
 * The serving side of /agora/infer/1: access control first — who asks,
 * before its request is read; then the model and the limits — a refusal
 * goes back with its code through the engine's ERROR status; then the local
 * providers' events become frames. The engine pulls the next frame only
 * when the transport took the previous one, so a slow caller slows the
 * provider; when the caller goes away the engine's signal aborts, and that
 * signal is the one the provider call got (the upstream HTTP request or
 * worker job is cancelled).
 *
 * When this node charges for inference (its offer asks a price, and it has a
 * market), a request is paid: checked after access control and before any
 * compute (charge.ts: E950 without payment, E1102 past the credit limit),
 * and its receipt issued and durable before the final frame carries its price.
 */
import { AgoraError, isAgoraError } from '../../errors.ts'
import { estimateEmbeddingsTokens, estimatePromptTokens } from '../access/estimate.ts'
import { abortable, raceAbort } from '../../abort.ts'
import { INFER_MAX_DELTA_CHARS, INFER_MAX_DIMENSIONS, INFER_RATE_LIMIT, INFER_STALL_MS, INFER_VECTOR_FRAME_BUDGET } from './constants.ts'
import { chunkVectors, splitText, toolCallFrames } from './encode.ts'
import { chargeFor, issueReceipt, type Charge, type SellerMarket } from './charge.ts'
import { formatCredits, type Micro } from '../../market/amount.ts'
import { FREE_PRICES, type Prices } from '../../offers/prices.ts'
import { createInferServerMetrics, type InferServerMetrics } from './metrics.ts'
import { createInferProtocol, type InferProtocol } from './protocol.ts'
import type { AccessControl } from '../access/access-control.ts'
import type { Requester } from '../types.ts'
import type { InferFrame, InferOp, InferPayment, InferRequest } from './schema.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { HandlerContext, RateLimit, ReqResp } from '../../protocols/index.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult, InferenceCallOptions, Usage } from '../../providers/inference.ts'
import type { Registry } from 'prom-client'

/** How a served call reaches the local providers: the caller's signal, who asks, and the most a paid call may cost (for metering). */
export interface ServedCallOptions extends InferenceCallOptions {
  signal: AbortSignal
  requester: Requester
  maxPrice?: Micro | undefined
}

/** What the server needs from this node's providers (the gateway's LocalInference facade fits). */
export interface LocalInferenceLike {
  chatStream(request: ChatRequest, opts: ServedCallOptions): AsyncIterable<ChatEvent>
  embeddings(request: EmbeddingsRequest, opts: ServedCallOptions): Promise<EmbeddingsResult>
  /** What our offer asks, micro-credits (free when left out). */
  ownPrices?(): Prices
}

export interface InferenceServerComponents {
  reqresp: Pick<ReqResp, 'handleStream' | 'unhandle'>
  access: Pick<AccessControl, 'check' | 'charge' | 'admitPeer'>
  local: LocalInferenceLike
  /** The seller's side of the market: without it every request is served free, as before the market. */
  market?: SellerMarket | undefined
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface InferenceServerInit {
  /** The longest one frame may wait for a paused reader before the stream is given up. */
  stallMs?: number
  /** Per-peer streams per second in the engine (a flood guard under access control's limits). */
  rateLimit?: RateLimit
}

export class InferenceServer {
  private readonly reqresp: InferenceServerComponents['reqresp']
  private readonly access: InferenceServerComponents['access']
  private readonly local: LocalInferenceLike
  private readonly market: SellerMarket | undefined
  private readonly log: Logger
  private readonly metrics: InferServerMetrics | undefined
  readonly protocol: InferProtocol

  constructor (components: InferenceServerComponents, init: InferenceServerInit = {}) {
    this.reqresp = components.reqresp
    this.access = components.access
    this.local = components.local
    this.market = components.market
    this.log = components.logger.forComponent('agora:infer')
    this.metrics = createInferServerMetrics(components.metrics)
    this.protocol = createInferProtocol({ responseMs: init.stallMs ?? INFER_STALL_MS }, init.rateLimit ?? INFER_RATE_LIMIT)
  }

  async start (): Promise<void> {
    await this.reqresp.handleStream(this.protocol, (request, context) => this.serve(request, context), { admit: peerId => this.access.admitPeer(peerId) })
  }

  async stop (): Promise<void> {
    await this.reqresp.unhandle(this.protocol.id)
  }

  /** One request: the frames of its answer (dispatch on the op). */
  private serve (request: InferRequest, context: HandlerContext): AsyncGenerator<InferFrame, void, undefined> {
    switch (request.op) {
      case 'chat': return this.serveChat(request.request, request.payment, context)
      case 'embeddings': return this.serveEmbeddings(request.request, request.payment, context)
    }
  }

  private async * serveChat (request: ChatRequest, payment: InferPayment | undefined, context: HandlerContext): AsyncGenerator<InferFrame, void, undefined> {
    const { peerId, signal } = context
    const prompt = estimatePromptTokens(request)
    const reserved = this.admit('chat', peerId, request.model, prompt + (request.max_tokens ?? 0))
    const charge = this.charge('chat', peerId, request.model, prompt, payment, reserved)
    const outcome = new Outcome('chat', peerId, request.model, signal)
    let usage: Usage | undefined
    let deltas = 0
    try {
      for await (const event of abortable(this.local.chatStream(request, { signal, requester: { kind: 'peer', peerId }, maxPrice: charge?.maxPrice }), signal)) {
        if (event.type === 'delta') {
          if (event.text.length === 0) continue
          deltas++
          // a long delta goes in pieces; its log-probabilities ride with the first
          let logprobs = event.logprobs
          for (const text of splitText(event.text, INFER_MAX_DELTA_CHARS)) {
            yield logprobs === undefined ? { type: 'delta', text } : { type: 'delta', text, logprobs }
            logprobs = undefined
          }
          continue
        }
        if (event.type === 'tool_calls') {
          deltas++
          yield * toolCallFrames(event.calls, INFER_MAX_DELTA_CHARS * 16)
          continue
        }
        usage = event.usage
        const price = await this.bill(charge, peerId, request.model, event.usage)
        yield { type: 'done', finishReason: event.finishReason, usage: event.usage, ...price }
        outcome.ok()
        return
      }
      throw new AgoraError('E915', 'the provider ended the chat stream without a done event')
    } catch (err) {
      throw outcome.failed(err)
    } finally {
      // what was produced is paid for, even when the caller left half-way (about one token per delta)
      this.access.charge(peerId, usage === undefined ? prompt + deltas : usage.promptTokens + usage.completionTokens, reserved)
      // the credit held for the request: taken over by its receipt, or given back
      charge?.release()
      this.finish(outcome)
    }
  }

  private async * serveEmbeddings (request: EmbeddingsRequest, payment: InferPayment | undefined, context: HandlerContext): AsyncGenerator<InferFrame, void, undefined> {
    const { peerId, signal } = context
    const estimated = estimateEmbeddingsTokens(request)
    const reserved = this.admit('embeddings', peerId, request.model, estimated)
    const charge = this.charge('embeddings', peerId, request.model, estimated, payment, reserved)
    const outcome = new Outcome('embeddings', peerId, request.model, signal)
    let tokens = estimated
    try {
      const result = await raceAbort(this.local.embeddings(request, { signal, requester: { kind: 'peer', peerId }, maxPrice: charge?.maxPrice }), signal)
      checkVectors(result, request.input.length)
      tokens = result.usage.promptTokens
      for (const chunk of chunkVectors(result.vectors, INFER_VECTOR_FRAME_BUDGET)) yield { type: 'vectors', offset: chunk.offset, vectors: chunk.vectors }
      // the receipt is issued once every vector went out: a caller that left half-way owes nothing
      const price = await this.bill(charge, peerId, request.model, { promptTokens: result.usage.promptTokens, completionTokens: 0 })
      yield { type: 'embeddings', count: result.vectors.length, usage: { promptTokens: result.usage.promptTokens }, ...price }
      outcome.ok()
    } catch (err) {
      throw outcome.failed(err)
    } finally {
      this.access.charge(peerId, tokens, reserved)
      charge?.release()
      this.finish(outcome)
    }
  }

  /** Access control; a refusal is thrown to the engine, which sends it with its code. Answers the tokens reserved. */
  private admit (op: InferOp, peerId: string, model: string, estimatedTokens: number): number {
    try {
      return this.access.check(peerId, { model, estimatedTokens })
    } catch (err) {
      const code = isAgoraError(err) ? err.code : 'E599'
      this.metrics?.served.inc({ op, outcome: code })
      throw err
    }
  }

  /** How the request is paid (undefined: free); a refusal (E950, E1102) gives the tokens reserved back and is thrown to the engine. */
  private charge (op: InferOp, peerId: string, model: string, promptTokens: number, payment: InferPayment | undefined, reserved: number): Charge | undefined {
    try {
      return chargeFor(this.market, this.local.ownPrices?.() ?? FREE_PRICES, { peer: peerId, model, promptTokens, payment })
    } catch (err) {
      this.access.charge(peerId, 0, reserved)
      const code = isAgoraError(err) ? err.code : 'E599'
      this.metrics?.served.inc({ op, outcome: code })
      this.log.debug({ peerId, op, model, code }, 'paid request refused')
      throw err
    }
  }

  /** The final frame's price (a paid request: issued and durable first); nothing for a free one. */
  private async bill (charge: Charge | undefined, peerId: string, model: string, usage: Usage): Promise<{ price?: string }> {
    if (charge === undefined || this.market === undefined) return {}
    return { price: formatCredits(await issueReceipt(this.market, charge, peerId, model, usage)) }
  }

  private finish (outcome: Outcome): void {
    const result = outcome.result()
    this.metrics?.served.inc({ op: outcome.op, outcome: result })
    this.log.debug({ peerId: outcome.peerId, op: outcome.op, model: outcome.model, outcome: result }, 'inference request served')
  }
}

/** How one served request ended: ok, cancelled by the caller, or an error code. */
class Outcome {
  readonly op: InferOp
  readonly peerId: string
  readonly model: string
  private readonly signal: AbortSignal
  private value: string | undefined

  constructor (op: InferOp, peerId: string, model: string, signal: AbortSignal) {
    this.op = op
    this.peerId = peerId
    this.model = model
    this.signal = signal
  }

  ok (): void {
    this.value = 'ok'
  }

  /** Record the failure; returns what to throw (the caller's cancellation stays as it is). */
  failed (err: unknown): unknown {
    this.value = this.signal.aborted ? 'cancelled' : isAgoraError(err) ? err.code : 'error'
    return err
  }

  /** Left without ok or failure: the engine stopped pulling (the caller went away). */
  result (): string {
    return this.value ?? 'cancelled'
  }
}

/** One finite vector per input, each within the protocol's dimensions. */
function checkVectors (result: EmbeddingsResult, inputs: number): void {
  if (result.vectors.length !== inputs) {
    throw new AgoraError('E915', 'the provider returned the wrong number of vectors', { why: `${result.vectors.length} vectors for ${inputs} inputs` })
  }
  for (const vector of result.vectors) {
    if (vector.length === 0 || vector.length > INFER_MAX_DIMENSIONS) {
      throw new AgoraError('E915', 'the provider returned a vector the protocol cannot carry', { why: `${vector.length} dimensions (1 to ${INFER_MAX_DIMENSIONS})` })
    }
    if (!vector.every(Number.isFinite)) throw new AgoraError('E915', 'the provider returned a vector with a non-finite number')
  }
}
