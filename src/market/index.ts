/**
 * The market room's door (docs/market.md): the service behind `MarketApi`
 * (wallet, contracts, direct requests, holds, captures, receipts), the
 * /agora/market/1 protocol, amounts, and the public types.
 */
export { MarketService } from './service.ts'
export type { MarketServiceComponents, MarketServiceInit } from './parts.ts'
export { MARKET_DEFAULTS, contractHoldId, contractOfHold } from './constants.ts'
export { marketProtocol, createMarketProtocol } from './protocol/protocol.ts'
export type { MarketProtocol } from './protocol/protocol.ts'
export { MARKET_PROTOCOL_ID } from './protocol/constants.ts'
export type { MarketRequest, MarketResponse, RequestPayload, AcceptPayload, RejectPayload, BalanceViewWire } from './protocol/schema.ts'
export {
  MICRO_PER_CREDIT, MAX_MICRO, isMicro, parseCredits, formatCredits, addMicro, mulMicro, perThousand, sumMicro, creditsInput, creditsWire
} from './amount.ts'
export type { Micro } from './amount.ts'
export { CONTRACT_STATES, FINISHED_CONTRACT_STATES, REJECT_REASONS } from './types.ts'
export type {
  BalanceView, CaptureInput, Contract, ContractState, DirectRequest, MarketApi, PaySource, PeerBalance, RejectReason, Wallet, WalletEntry
} from './types.ts'
