/**
 * Fixed values of the p2p room: gossip topics, protocol suffixes and the
 * defaults the room's services fall back to when an init value is missing.
 */

/** Gossip topic for signed capability offers (and their tombstones). */
export const OFFERS_TOPIC = '/agora/offers/1'
/** Gossip topic for auction needs (buyers asking for work). */
export const NEEDS_TOPIC = '/agora/needs/1'
/** Gossip topic for signed package manifests. */
export const PACKAGES_TOPIC = '/agora/packages/1'
/** Gossip topic for verification: attestations, decisions, challenges (docs/verification.md). */
export const VERIFY_TOPIC = '/agora/verify/1'

/** The only gossip topics this node subscribes to, publishes on or tracks for peers. */
export const ALLOWED_TOPICS = [OFFERS_TOPIC, NEEDS_TOPIC, PACKAGES_TOPIC, VERIFY_TOPIC] as const

export type GossipTopic = typeof ALLOWED_TOPICS[number]

export function isAllowedTopic (topic: string): topic is GossipTopic {
  return (ALLOWED_TOPICS as readonly string[]).includes(topic)
}

/** Kademlia protocol suffix appended to `network.dht.protocolPrefix`. */
export const DHT_PROTOCOL_SUFFIX = '/kad/1.0.0'

/**
 * gossipsub charges each remote subscription its topic length plus this many
 * bytes (its `GossipsubTopicEntryOverhead`); we size its per-peer byte budget
 * from `network.gossip.maxTopicsPerPeer` with it.
 */
export const GOSSIPSUB_TOPIC_ENTRY_OVERHEAD = 1024
/** Longest topic string we budget for when sizing the per-peer topic budget. */
export const MAX_TOPIC_LENGTH = 256

/**
 * Weight of the application score in gossipsub's peer score. The peer book
 * scores −10..+10 by reputation and −1000 for a banned peer, so with weight
 * 1 only a ban reaches the graylist threshold below.
 */
export const APP_SCORE_WEIGHT = 1

/** Gossipsub's score thresholds (its defaults, stated so the app score above is sized against them). */
export const GOSSIPSUB_SCORE_THRESHOLDS = {
  /** Below: no gossip (IHAVE/IWANT) to or from the peer. */
  gossipThreshold: -10,
  /** Below: we do not flood-publish to the peer. */
  publishThreshold: -50,
  /** Below: every message from the peer is ignored. */
  graylistThreshold: -80,
  /** At or above: peer exchange from the peer is accepted (a trusted peer scores +10). */
  acceptPXThreshold: 10,
  /** Median mesh score under which opportunistic grafting kicks in. */
  opportunisticGraftThreshold: 20
} as const

export const PEER_MANAGER_DEFAULTS = {
  /** Peers to keep connected. */
  target: 8,
  /** How often to top the peer count up to `target`. */
  reconnectIntervalMs: 15_000,
  /** How often to ping each connected peer. */
  pingIntervalMs: 30_000,
  /** Give up one dial after this long. */
  dialTimeoutMs: 10_000,
  /** Give up one ping after this long. */
  pingTimeoutMs: 10_000,
  /** Dials in flight at once while topping up. */
  dialConcurrency: 4,
  /** Persisted peers read at start. */
  maxKnownPeers: 1000
} as const

export const GOSSIP_DEFAULTS = {
  /** Messages this node may publish per second (burst: one second's worth). */
  publishPerSecond: 50,
  /** How long `waitForTopicPeers` waits when the caller gives no signal. */
  waitForPeersTimeoutMs: 10_000
} as const
