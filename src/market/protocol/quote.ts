/**
 * Quotes: what a seller asks for `what` under its offer, the seller's
 * policy on a REQUEST, and the buyer's check of the ACCEPT it gets back.
 * Pure functions (the clock and the checks that need state are passed in).
 *
 * A unit is one task for a task type, and 1,000 tokens for a model (its
 * completion tokens; prompt tokens for an embedding model) — the offer's
 * own prices, so a contract's price is the offer's.
 */
import { AgoraError, isAgoraError } from '../../errors.ts'
import { offerPrice, offerPrices, type Offer } from '../../offers/index.ts'
import { formatCredits, mulMicro, parseCredits, type Micro } from '../amount.ts'
import type { RejectReason } from '../types.ts'
import type { AcceptPayload, RequestPayload } from './schema.ts'

/** The price of one unit of `what` under `offer`; undefined when the offer does not serve it. */
export function unitPriceOf (offer: Offer, what: string): Micro | undefined {
  if (offer.taskTypes.includes(what)) return offerPrices(offer).perTask
  return offerPrice(offer, what)
}

/** What a request asks when the buyer does not say: the one thing the offer serves; undefined when it serves several or none. */
export function soleWhat (offer: Offer): string | undefined {
  const served = [...offer.taskTypes, ...offer.models.map(m => m.name)]
  return served.length === 1 ? served[0] : undefined
}

/** A REQUEST as the seller reads it: amounts in micro-credits. */
export interface AskedTerms {
  requestId: string
  offerId: string
  what: string
  quantity: number
  maxUnitPrice: Micro
  expiresAt: number
}

export function askedTerms (payload: RequestPayload): AskedTerms {
  return { ...payload, maxUnitPrice: parseCredits(payload.maxUnitPrice, 'maxUnitPrice') }
}

/** Whether two REQUEST payloads ask the same thing (a request asked again must not change its terms). */
export function sameTerms (a: AskedTerms, b: AskedTerms): boolean {
  return a.requestId === b.requestId && a.offerId === b.offerId && a.what === b.what && a.quantity === b.quantity &&
    a.maxUnitPrice === b.maxUnitPrice && a.expiresAt === b.expiresAt
}

export interface PolicyInput {
  asked: AskedTerms
  buyer: string
  /** This node's valid offer, if it has one. */
  offer: Offer | undefined
  now: number
  /** The longest a contract may run from now. */
  maxTtlMs: number
  /** The access rules' refusal of the buyer, if any (trust mode, bans). */
  trustRefusal: AgoraError | undefined
  /** Throws E1102 when the buyer's credit limit cannot take `amount` more. */
  admit: (amount: Micro) => void
}

/** The terms a seller would accept, in micro-credits. */
export interface Terms {
  unitPrice: Micro
  maxTotal: Micro
  expiresAt: number
}

export type PolicyVerdict =
  | { accept: true, terms: Terms }
  | { accept: false, reason: RejectReason, message: string }

/** The seller's policy: the first rule a request breaks, or the terms it gets. */
export function decide (input: PolicyInput): PolicyVerdict {
  const { asked, offer, now } = input
  const no = (reason: RejectReason, message: string): PolicyVerdict => ({ accept: false, reason, message })
  if (asked.expiresAt <= now) return no('expired', `the request expired ${now - asked.expiresAt} ms ago`)
  if (offer === undefined || offer.id !== asked.offerId) return no('unknown-offer', `offer ${asked.offerId} is not this node's current offer`)
  const unitPrice = unitPriceOf(offer, asked.what)
  if (unitPrice === undefined) return no('unknown-offer', `the offer does not serve ${asked.what}`)
  if (input.trustRefusal !== undefined) return no('trust', input.trustRefusal.what)
  if (unitPrice > asked.maxUnitPrice) return no('price', `the price is ${formatCredits(unitPrice)} per unit, above the ${formatCredits(asked.maxUnitPrice)} offered`)
  // a contract buys work over its life, not a slot now: the announced idle count lags by seconds after a busy spell
  if (offer.capacity.slotsTotal < 1) return no('capacity', 'this node takes no work from the network (no slots)')
  let maxTotal: Micro
  try {
    maxTotal = mulMicro(unitPrice, asked.quantity, 'maxTotal')
    input.admit(maxTotal)
  } catch (err) {
    if (isAgoraError(err, 'E1100') || isAgoraError(err, 'E1102')) return no('credit-limit', err.why ?? err.what)
    throw err
  }
  return { accept: true, terms: { unitPrice, maxTotal, expiresAt: Math.min(asked.expiresAt, now + input.maxTtlMs) } }
}

/** A quote (ACCEPT payload) as the buyer reads it: amounts in micro-credits. */
export interface Quote {
  contractId: string
  requestId: string
  buyer: string
  seller: string
  offerId: string
  what: string
  quantity: number
  unitPrice: Micro
  maxTotal: Micro
  expiresAt: number
}

export function quoteOf (payload: AcceptPayload): Quote {
  return { ...payload, unitPrice: parseCredits(payload.unitPrice, 'unitPrice'), maxTotal: parseCredits(payload.maxTotal, 'maxTotal') }
}

export function quotePayload (quote: Quote): AcceptPayload {
  return { ...quote, unitPrice: formatCredits(quote.unitPrice), maxTotal: formatCredits(quote.maxTotal) }
}

/**
 * The buyer's check of the seller's quote against what it asked: E1117 for
 * an answer to another request or another buyer, E1118 for terms it did
 * not ask for (a price above the max, another quantity, offer or `what`, a
 * total that is not price × quantity, a longer life), E1113 when it expired.
 */
export function checkQuote (quote: Quote, asked: AskedTerms, parties: { buyer: string, seller: string }, now: number): Quote {
  const violation = (why: string): AgoraError => new AgoraError('E1117', `the seller's ACCEPT does not answer this request`, { why, details: { contractId: quote.contractId, requestId: asked.requestId } })
  const mismatch = (why: string): AgoraError => new AgoraError('E1118', 'the seller\'s quote does not match the request', { why, details: { contractId: quote.contractId, requestId: asked.requestId } })
  if (quote.requestId !== asked.requestId) throw violation(`it answers request ${quote.requestId}`)
  if (quote.buyer !== parties.buyer) throw violation(`it is a contract of another buyer, ${quote.buyer}`)
  if (quote.seller !== parties.seller) throw violation(`it names another seller, ${quote.seller}`)
  if (quote.unitPrice > asked.maxUnitPrice) throw mismatch(`the unit price ${formatCredits(quote.unitPrice)} is above the max of ${formatCredits(asked.maxUnitPrice)}`)
  if (quote.offerId !== asked.offerId) throw mismatch(`offer ${quote.offerId} instead of ${asked.offerId}`)
  if (quote.what !== asked.what) throw mismatch(`${quote.what} instead of ${asked.what}`)
  if (quote.quantity !== asked.quantity) throw mismatch(`quantity ${quote.quantity} instead of ${asked.quantity}`)
  if (BigInt(quote.maxTotal) !== BigInt(quote.unitPrice) * BigInt(quote.quantity)) throw mismatch(`the total ${formatCredits(quote.maxTotal)} is not ${formatCredits(quote.unitPrice)} × ${quote.quantity}`)
  if (quote.expiresAt > asked.expiresAt) throw mismatch('it lasts longer than the request allows')
  if (quote.expiresAt <= now) throw new AgoraError('E1113', `contract ${quote.contractId} expired before it arrived`, { details: { contractId: quote.contractId } })
  return quote
}
