/**
 * An offer's prices as the node computes with them: integer micro-credits
 * (docs/market.md, Amounts). The signed offer carries six-decimal strings;
 * they are read here once per offer (offers are immutable once parsed, so
 * the result is cached by the prices object) and written back by
 * `wirePrices` when this node builds its own offer.
 */
import { formatCredits, parseCredits, type Micro } from '../market/amount.ts'
import { OFFER_CURRENCY } from './constants.ts'
import type { AgoraConfig } from '../config/schema.ts'
import type { Offer } from './schema.ts'

/** What a node asks, in micro-credits; token prices are per 1,000 tokens. */
export interface Prices {
  perTask: Micro
  per1kPromptTokens: Micro
  per1kCompletionTokens: Micro
}

/** A local provider's prices: nothing. */
export const FREE_PRICES: Readonly<Prices> = Object.freeze({ perTask: 0, per1kPromptTokens: 0, per1kCompletionTokens: 0 })

const cache = new WeakMap<Offer['prices'], Prices>()

/** The signed prices (six-decimal strings, checked by the offer schema) as micro-credits. */
export function pricesOf (wire: Offer['prices']): Prices {
  let prices = cache.get(wire)
  if (prices === undefined) {
    prices = Object.freeze({
      perTask: parseCredits(wire.perTask, 'prices.perTask'),
      per1kPromptTokens: parseCredits(wire.per1kPromptTokens, 'prices.per1kPromptTokens'),
      per1kCompletionTokens: parseCredits(wire.per1kCompletionTokens, 'prices.per1kCompletionTokens')
    })
    cache.set(wire, prices)
  }
  return prices
}

/** An offer's prices in micro-credits. */
export function offerPrices (offer: Pick<Offer, 'prices'>): Prices {
  return pricesOf(offer.prices)
}

/** Micro-credits → the prices an offer signs. */
export function wirePrices (prices: Prices): Offer['prices'] {
  return {
    perTask: formatCredits(prices.perTask),
    per1kPromptTokens: formatCredits(prices.per1kPromptTokens),
    per1kCompletionTokens: formatCredits(prices.per1kCompletionTokens),
    currency: OFFER_CURRENCY
  }
}

/** offers.prices from the config (validated at load) as micro-credits; E1100 naming the key otherwise. */
export function configPrices (prices: AgoraConfig['offers']['prices']): Prices {
  return {
    perTask: parseCredits(prices.perTask, 'offers.prices.perTask'),
    per1kPromptTokens: parseCredits(prices.per1kPromptTokens, 'offers.prices.per1kPromptTokens'),
    per1kCompletionTokens: parseCredits(prices.per1kCompletionTokens, 'offers.prices.per1kCompletionTokens')
  }
}

/**
 * The price a filter compares: with a model named, that model's token price
 * (per 1k completion tokens for a chat model, per 1k prompt tokens for an
 * embedding model, which has no completion); otherwise the per-task price.
 * Undefined when the offer does not serve the model.
 */
export function offerPrice (offer: Offer, model?: string): Micro | undefined {
  const prices = offerPrices(offer)
  if (model === undefined) return prices.perTask
  const served = offer.models.find(m => m.name === model)
  if (served === undefined) return undefined
  return served.kind === 'embedding' ? prices.per1kPromptTokens : prices.per1kCompletionTokens
}
