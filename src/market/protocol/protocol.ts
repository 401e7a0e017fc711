/** The definition of /agora/market/1 both sides share (schemas, caps, timeouts, rate limit). */
import { defineProtocol, type RateLimit, type UnaryProtocol } from '../../protocols/index.ts'
import { MARKET_MAX_REQUEST_BYTES, MARKET_MAX_RESPONSE_BYTES, MARKET_PROTOCOL_ID, MARKET_RATE_LIMIT, MARKET_STREAM_REUSE, MARKET_TIMEOUTS } from './constants.ts'
import { marketRequestSchema, marketResponseSchema, type MarketRequest, type MarketResponse } from './schema.ts'

export type MarketProtocol = UnaryProtocol<MarketRequest, MarketResponse>

/** The protocol with another per-peer rate limit (a benchmark's; nodes use `marketProtocol`). */
export function createMarketProtocol (rateLimit: RateLimit = MARKET_RATE_LIMIT): MarketProtocol {
  return defineProtocol({
    id: MARKET_PROTOCOL_ID,
    request: marketRequestSchema,
    response: marketResponseSchema,
    maxRequestBytes: MARKET_MAX_REQUEST_BYTES,
    maxResponseBytes: MARKET_MAX_RESPONSE_BYTES,
    timeouts: MARKET_TIMEOUTS,
    rateLimit,
    // a buyer and its sellers talk in bursts (requests, proofs, balance checks): a warm stream saves the setup of each
    reuseStreams: MARKET_STREAM_REUSE
  })
}

export const marketProtocol = createMarketProtocol()
