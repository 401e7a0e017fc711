/** Metering's door: the requests table (one row per inference request) and the gateway's request metrics. */
export { Metering, priceOwed } from './metering.ts'
export type { MeteringComponents, MeteringInit, RequestRecord, RequestQuery, RequestOutcome, RequestOp, TokenPrices } from './metering.ts'
export { createGatewayRequestMetrics } from './metrics.ts'
export type { GatewayRequestMetrics } from './metrics.ts'
