/**
 * The offers room's door: signed offers of what each node serves, the
 * table of everyone's offers (gossip on /agora/offers/1, anti-entropy on
 * /agora/sync/1) and DHT provider records for capabilities.
 */
export { OfferService } from './service.ts'
export type { OfferServiceComponents, OfferServiceInit, PeerFeedback, WithdrawResult, ModelSummary, OfferStats } from './types.ts'
export { offerSchema, offeredModelSchema, withdrawSchema } from './schema.ts'
export { configPrices, FREE_PRICES, offerPrice, offerPrices, pricesOf, wirePrices } from './prices.ts'
export type { Prices } from './prices.ts'
export type { Offer, OfferedModel, OfferFilter, Withdrawal } from './schema.ts'
export { buildLocalOffer, hasSomethingToOffer } from './builder.ts'
export { capabilityCid } from './dht.ts'
export type { CapabilityQuery, FindProvidersOptions } from './dht.ts'
export { REJECT_CODES } from './validator.ts'
export type { RejectReason } from './validator.ts'
export type { SyncResult, SyncOutcome } from './sync/round.ts'
export { syncProtocol } from './sync/protocol.ts'
export { SYNC_PROTOCOL_ID } from './sync/constants.ts'
export { OFFER_CURRENCY } from './constants.ts'
