/** Defaults of the serving-side access control (the config section `access` overrides them). */
import type { AgoraConfig } from '../../config/schema.ts'

export type AccessConfig = AgoraConfig['access']
export type TrustMode = AccessConfig['trustMode']

export const TRUST_MODES: readonly TrustMode[] = ['private', 'friends', 'public']

export const ACCESS_DEFAULTS: AccessConfig = {
  /** Trusted peers only. */
  trustMode: 'friends',
  /** Requests one peer may make per minute (burst: a whole minute's worth). */
  requestsPerMinute: 120,
  /** Prompt + completion tokens one peer may use per minute (burst: a whole minute's worth). */
  tokensPerMinute: 200_000,
  /** Empty: every model this node serves. */
  allowModels: [],
  /** Wins over allowModels. */
  denyModels: []
}

/** Peers whose budgets are tracked at once; idle (full) budgets are forgotten first, then the oldest. */
export const MAX_TRACKED_PEERS = 10_000

/** A peer may run up this many minutes of token debt (one huge answer), no more. */
export const MAX_DEBT_MINUTES = 10

/** Entries in allowModels / denyModels, each at most MAX_MODEL_PATTERN characters. */
export const MAX_MODEL_PATTERNS = 1000
export const MAX_MODEL_PATTERN = 256
