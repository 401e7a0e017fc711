/**
 * Fixed values of the offers room and the defaults its services fall back
 * to when an init value is missing (the config keys live in
 * src/config/schema.ts, section `offers`).
 */

/** The kv key holding this node's offer id and last Lamport. */
export const LOCAL_OFFER_KV_KEY = 'offers.local'

/** What an offer's prices are counted in. */
export const OFFER_CURRENCY = 'credits'

/** Bounds of the offer schema (what a peer may claim in one offer). */
export const OFFER_LIMITS = {
  models: 256,
  taskTypes: 128,
  tags: 64,
  /** Characters in a model name. */
  nameLength: 256,
  /** Characters in a task type, tag, provider id or zone. */
  labelLength: 128,
  /** Characters in a node name. */
  nodeNameLength: 64,
  /** Characters in a policy hash. */
  policyHashLength: 128,
  /** Slots one offer may claim. */
  slots: 1_000_000,
  /** Largest context length accepted. */
  contextLength: 100_000_000
} as const

export const OFFER_DEFAULTS = {
  /** Clock skew tolerated on expiries and timestamps (matches envelope.maxSkewMs). */
  maxSkewMs: 30_000,
  /** Registry changes within this window make one re-announcement. */
  changeDebounceMs: 1_000,
  /** How often expired offers and tombstones are dropped. */
  pruneIntervalMs: 1_000,
  /** How long stop() waits for the WITHDRAW to go out. */
  withdrawOnStopMs: 1_000,
  /** Persist table changes in one transaction at most this often. */
  flushIntervalMs: 50,
  /** A new connection to a peer we synced with less than this ago does not trigger another round. */
  syncMinGapMs: 1_000,
  /** Anti-entropy rounds run at once; one: the next round's digest holds what the last pulled, so nothing is pulled (and verified) twice. */
  syncConcurrency: 1,
  /** Peers waiting for a round at most; more are dropped (the periodic round catches up). */
  syncQueueSize: 64,
  /** After a round that pulled news, this many connected peers are nudged to pull from us. */
  nudgePeers: 16,
  /** Longest a nudge may take. */
  nudgeTimeoutMs: 2_000,
  /** Longest one anti-entropy round may take. */
  syncRoundTimeoutMs: 60_000,
  /** Capability keys are provided again this often (and after the first good sync round, when the DHT has peers). */
  provideRefreshMs: 30 * 60_000,
  /** Longest a DHT provide of one capability key may take. */
  provideTimeoutMs: 30_000,
  /** Longest findProviders waits by default. */
  findProvidersTimeoutMs: 5_000,
  /** Providers returned by findProviders at most. */
  findProvidersLimit: 20
} as const

/** DHT keys for capabilities: the CID of `<prefix><name>`. */
export const CAPABILITY_KEY_PREFIX = {
  model: '/agora/cap/model/',
  task: '/agora/cap/task/'
} as const
