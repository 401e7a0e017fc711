/**
 * The jobs router's door: candidates for a subtask from the offers (this
 * node included), a deterministic score, and a Thompson-sampling choice over
 * each worker's decayed successes and failures per task type.
 */
export type { JobRouterApi, RouteRequest, WorkerCandidate, RouteChoice } from './types.ts'
export { JobRouter } from './router.ts'
export type { JobRouterComponents, JobRouterInit } from './router.ts'
export { ROUTER_DEFAULTS } from './constants.ts'
export type { RouterWeights } from './constants.ts'
export { scoreWorkers, relativeLoad, recencyOf } from './score.ts'
export type { WorkerScoreInput, WorkerScoreOptions } from './score.ts'
export { sampleBeta, sampleGamma, sampleNormal, seededRandom } from './beta.ts'
export type { RandomSource } from './beta.ts'
export { requirementsOf, capabilityLacks } from './filter.ts'
export type { Requirements, ClosestOffer } from './filter.ts'
export { createJobRouterMetrics } from './metrics.ts'
export type { JobRouterMetrics } from './metrics.ts'
