/**
 * The serving side of /agora/market/1: one handler per request type (a
 * dispatch table, so a missing one does not compile). Each checks what
 * arrived before anything acts on it:
 *
 *  - request: the envelope is the caller's own (from = the connection's
 *    peer, else E1117), then the EnvelopeVerifier (kind REQUEST, addressed
 *    to us, age window, signature, persisted replay guard: E110–E117), then
 *    the payload schema (E1117); the seller's policy answers it;
 *  - payment: the caller's own, kind PAYMENT (E113), addressed to us (E117);
 *    the payee's checks (signature, nonce, cumulative, receipts: E112,
 *    E1120, E1121) decide — no replay guard here: a proof sent again
 *    unchanged must be answered OK, its nonce is the replay protection;
 *  - balance: this node's view of the pair with the caller;
 *  - void: the caller's own; the payee's checks (kind, addressee, signature,
 *    the receipt issued to the caller, at most what is unpaid of it: E113,
 *    E117, E112, E1390–E1393) decide; a VOID sent again is answered OK;
 *  - propose: the caller's own; the auction's checks (verifier, need open,
 *    deadline, budget, the seller's offer) decide.
 *
 * A refusal whose cause is the caller (forged, replayed, malformed, out of
 * order) is reported to `refused`, which counts it and lowers the peer's
 * reputation; the error travels back as the reqresp error status.
 */
import { AgoraError } from '../../errors.ts'
import { problemOf } from './problem.ts'
import { requestPayloadSchema, type MarketRequest, type MarketRequestType, type MarketResponse } from './schema.ts'
import type { Envelope, EnvelopeKind } from '../../identity/index.ts'
import type { HandlerContext, UnaryHandler } from '../../protocols/index.ts'
import type { RequestPayload } from './schema.ts'

export interface MarketHandlerDeps {
  /** This node's peer id. */
  self: string
  /** The EnvelopeVerifier's checks, replay guard included. */
  verify: (envelope: Envelope, kind: EnvelopeKind) => Envelope
  /** Seller: decide a REQUEST (or answer one asked again). */
  onRequest: (buyer: string, payload: RequestPayload, envelope: Envelope, signal: AbortSignal) => Promise<MarketResponse>
  /** Payee: check and book a PAYMENT proof (throws the refusal). */
  onPayment: (payer: string, envelope: Envelope) => Promise<void>
  /** Payee: check and book a VOID of part of a receipt (throws the refusal). */
  onVoid: (payer: string, envelope: Envelope) => Promise<void>
  /** Buyer: keep a seller's PROPOSE for one of our needs (throws the refusal). */
  onPropose: (seller: string, envelope: Envelope) => void
  /** This node's view of the pair with `peer`. */
  balance: (peer: string) => MarketResponse
  /** A message refused because of its sender. */
  refused: (peer: string, err: AgoraError) => void
}

type Handlers = { [T in MarketRequestType]: (request: Extract<MarketRequest, { type: T }>, context: HandlerContext) => Promise<MarketResponse> }

/** Codes that blame the sender: its message was forged, replayed, malformed, misaddressed or out of order. */
const SENDER_FAULTS = new Set(['E110', 'E111', 'E112', 'E113', 'E114', 'E115', 'E116', 'E117', 'E1117', 'E1118', 'E1120', 'E1121', 'E1390', 'E1391', 'E1392', 'E1393'])

export function isSenderFault (err: unknown): err is AgoraError {
  return err instanceof AgoraError && SENDER_FAULTS.has(err.code)
}

export function createMarketHandler (deps: MarketHandlerDeps): UnaryHandler<MarketRequest, MarketResponse> {
  const handlers: Handlers = {
    request: async (request, context) => {
      const envelope = own(request.envelope, context.peerId)
      deps.verify(envelope, 'REQUEST')
      return await deps.onRequest(context.peerId, parsePayload(envelope), envelope, context.signal)
    },
    payment: async (request, context) => {
      const envelope = own(request.envelope, context.peerId)
      if (envelope.kind !== 'PAYMENT') throw new AgoraError('E113', `unexpected ${envelope.kind} envelope`, { why: 'a payment carries a PAYMENT envelope' })
      if (envelope.to !== deps.self) throw new AgoraError('E117', 'PAYMENT envelope addressed to another node', { why: `it is for ${envelope.to ?? 'nobody'}` })
      await deps.onPayment(context.peerId, envelope)
      return { type: 'payment', ok: true }
    },
    balance: async (_request, context) => deps.balance(context.peerId),
    void: async (request, context) => {
      await deps.onVoid(context.peerId, own(request.envelope, context.peerId))
      return { type: 'void', ok: true }
    },
    propose: async (request, context) => {
      deps.onPropose(context.peerId, own(request.envelope, context.peerId))
      return { type: 'proposal', ok: true }
    }
  }
  return async (request, context) => {
    try {
      // the union is narrowed by `type`; the table holds the handler of each
      const handler = handlers[request.type] as (request: MarketRequest, context: HandlerContext) => Promise<MarketResponse>
      return await handler(request, context)
    } catch (err) {
      if (isSenderFault(err)) deps.refused(context.peerId, err)
      throw err
    }
  }
}

/** The envelope, if the caller signed it (a message relayed from someone else is refused). */
function own (envelope: Envelope, peerId: string): Envelope {
  if (envelope.from !== peerId) {
    throw new AgoraError('E1117', `a ${envelope.kind} envelope signed by another node`, { why: `it is from ${envelope.from}, the caller is ${peerId}` })
  }
  return envelope
}

function parsePayload (envelope: Envelope): RequestPayload {
  const parsed = requestPayloadSchema.safeParse(envelope.payload)
  if (!parsed.success) throw new AgoraError('E1117', 'malformed REQUEST payload', { why: problemOf(parsed.error) })
  return parsed.data
}
