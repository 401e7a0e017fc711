/**
 * The gateway room's door: the router (InferenceGateway, implementing the
 * Gateway interface of types.ts), the local facade served to peers, the
 * circuit breakers, metering, and the shared types.
 */
export type { Gateway, GatewayModel, ChatRun, EmbeddingsRun, RequestContext, Requester, RoutingStrategy, ServedBy } from './types.ts'
// router, breaker, local facade, metering
export { InferenceGateway } from './router.ts'
export { GATEWAY_DEFAULTS } from './router-options.ts'
export type { GatewayComponents, GatewayInit, GatewayConfig, GatewayProvider, LocalProvidersLike, RemoteInferenceLike, ScoreWeights } from './router-options.ts'
export { CircuitBreakers } from './breaker.ts'
export type { BreakerInit, BreakerState, BreakerSnapshot, BreakerTransition } from './breaker.ts'
export { parseModelRef, findCandidates, suggestModels, knownModels } from './candidates.ts'
export type { Candidate, LocalCandidate, RemoteCandidate, Operation, Prices } from './candidates.ts'
export { scoreCandidate, rankCandidates, CandidateStats } from './scoring.ts'
export type { ScoreInput, ScoreContext } from './scoring.ts'
export { LocalInference } from './local.ts'
export type { LocalInferenceComponents, LocalCallOptions } from './local.ts'
export { Metering, priceOwed } from './metering/index.ts'
export type { MeteringComponents, MeteringInit, RequestRecord, RequestQuery, RequestOutcome, RequestOp, TokenPrices } from './metering/index.ts'
// serving-side access control (trust mode, per-peer limits, model lists) and /agora/infer/1 (server + client)
export * from './access/index.ts'
export * from './remote/index.ts'
