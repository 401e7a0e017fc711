/** The peers room's door: the peer book (reputation, trust, bans), the guard acting on it, and the formula. */
export { PeerBook } from './peer-book.ts'
export type { PeerBookComponents, PeerBookInit, PeerView, BanOptions, ReputationConfig } from './peer-book.ts'
export { PeerGuard, backoffDelay } from './peer-guard.ts'
export type { PeerGuardComponents, PeerGuardInit } from './peer-guard.ts'
export {
  OUTCOMES, OUTCOME_WEIGHTS, REPUTATION_PRIOR, APP_SCORE_SPAN, APP_SCORE_BANNED, APP_SCORE_TRUSTED,
  decayFactor, priorState, decayState, observe, score, reputationAt, evidence, shouldBan,
  observeUptime, uptimeFraction, appScore
} from './reputation.ts'
export type { Outcome, BetaState, UptimeState, BanRule } from './reputation.ts'
export { REPUTATION_DEFAULTS, AUTO_BAN_REASON, BAN_FOREVER, MAX_BAN_DURATION_MS } from './constants.ts'
