/**
 * The serving side of a paid /agora/infer/1 request (docs/market.md, "Jobs
 * and the gateway"). When this node's offer asks a price, a peer's request
 * must carry a payment — the receipt id to issue under and the buyer's
 * hold, the most the request may cost — and the buyer must stay within the
 * credit limit this node extends to it; both are checked before any compute
 * is spent (E950, E1102). When the answer is complete its price — our
 * prices × the usage, capped at the buyer's hold — is issued as a receipt
 * and made durable before the final frame leaves, so the buyer's payment
 * proof for it can always be checked here. A request cut short (the caller
 * left, a failure) issues nothing: the buyer captures nothing for it either.
 * (A caller that leaves in the moment between the issue and the final frame
 * leaves a receipt no one captures: it stays unpaid and counts toward that
 * buyer's exposure here, never toward what it is charged.)
 */
import { AgoraError } from '../../errors.ts'
import { formatCredits, parseCredits, type Micro } from '../../market/amount.ts'
import { priceOwed } from '../metering/metering.ts'
import type { MarketApi } from '../../market/types.ts'
import type { Prices } from '../../offers/prices.ts'
import type { InferPayment } from './schema.ts'
import type { Usage } from '../../providers/inference.ts'

/** What the server needs of the market (its seller side). */
export type SellerMarket = Pick<MarketApi, 'admit' | 'issue' | 'durable'>

/** A request that is paid for: where its receipt goes, and what it may cost at most. */
export interface Charge {
  receiptId: string
  maxPrice: Micro
  /** Our prices when the request arrived (a price change mid-request does not move its price). */
  prices: Prices
  /** Give back the credit reserved for the request (after the receipt is issued, or when it failed); once. */
  release: () => void
}

/** Whether `prices` ask nothing at all. */
export function isFree (prices: Prices): boolean {
  return prices.perTask === 0 && prices.per1kPromptTokens === 0 && prices.per1kCompletionTokens === 0
}

/**
 * How a request from `peer` is paid; undefined when it is free (no market,
 * or our prices are zero). E950 without a payment, or with one that does not
 * even cover the prompt (a hold of 0 would buy compute for nothing); E1102
 * when the buyer would pass its credit limit here.
 */
export function chargeFor (
  market: SellerMarket | undefined, prices: Prices, request: { peer: string, model: string, promptTokens: number, payment: InferPayment | undefined }
): Charge | undefined {
  if (market === undefined || isFree(prices)) return undefined
  const { peer, model, payment } = request
  if (payment === undefined) {
    throw new AgoraError('E950', `model '${model}' costs credits on this node and the request carried no payment`, { details: { model } })
  }
  const maxPrice = parseCredits(payment.maxPrice, 'payment.maxPrice')
  const least = priceOwed(prices, { promptTokens: request.promptTokens, completionTokens: 0 })
  if (maxPrice < least) {
    throw new AgoraError('E950', `the payment for '${model}' does not cover the prompt`, {
      why: `it holds ${formatCredits(maxPrice)} credits, the prompt alone costs ${formatCredits(least)}`,
      details: { model, maxPrice: payment.maxPrice, least: formatCredits(least) }
    })
  }
  const release = market.admit(peer, maxPrice, model)
  return { receiptId: payment.receiptId, maxPrice, prices, release }
}

/**
 * The answer is complete: issue the receipt for its price (never above the
 * buyer's hold) and wait until the books are on disk; the price to send in
 * the final frame.
 */
export async function issueReceipt (market: SellerMarket, charge: Charge, buyer: string, model: string, usage: Usage): Promise<Micro> {
  const price = Math.min(priceOwed(charge.prices, usage), charge.maxPrice)
  if (price === 0) return 0
  market.issue({ receiptId: charge.receiptId, buyer, amount: price, what: model })
  await market.durable()
  return price
}
