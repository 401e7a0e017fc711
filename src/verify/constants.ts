/** Verification defaults (docs/verification.md explains each; config `verify.*` overrides them). */
export const VERIFY_DEFAULTS = {
  /** Largest quorum (k_target). */
  kTarget: 5,
  /** Share of the active verifiers a quorum may take. */
  alpha: 0.3,
  /** Bootstrap mode (K = 1, provisional decisions) while fewer verifiers than this are active… */
  bootstrapMinVerifiers: 10,
  /** …and until the count has held for this long. */
  bootstrapStableMs: 24 * 60 * 60_000,
  /** Consecutive cross-checked valid results before a worker is trusted for a task type. */
  trustAfter: 10,
  /** A trusted worker's result is checked with probability max(pMin, 1/n). */
  pMin: 0.05,
  /** Fresh workers added when replicas disagree, before anyone is blamed (K + this). */
  escalateExtra: 2
} as const

/** Comparator thresholds; docs/verification.md gives the calibration behind each. */
export const COMPARE_DEFAULTS = {
  /** Two embeddings of one chunk agree at cosine ≥ this. */
  embedCosine: 0.99,
  /** …and when their norms differ by at most this share. */
  embedNormTolerance: 0.01,
  /** Two answers of a chat or map agree when their sentence vectors' cosine is ≥ this. */
  textCosine: 0.9,
  /** A sentiment score within ±this is neutral. */
  sentimentNeutral: 0.05,
  /** Two sentiment results agree when at least this share of their chunks carry the same label. */
  sentimentAgreement: 1
} as const
