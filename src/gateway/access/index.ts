/** Serving-side access control: who may spend this node's compute, how much, on which models. */
export { AccessControl, globMatch } from './access-control.ts'
export type { AccessControlComponents, AccessControlInit, AccessLimits, AccessLists, AccessRequest } from './access-control.ts'
export { ACCESS_DEFAULTS, TRUST_MODES } from './constants.ts'
export type { AccessConfig, TrustMode } from './constants.ts'
export { CHARS_PER_TOKEN, estimateChatTokens, estimateEmbeddingsTokens, estimatePromptTokens, estimateTextTokens } from './estimate.ts'
export { TokenMeter } from './token-meter.ts'
export type { TokenMeterInit } from './token-meter.ts'
