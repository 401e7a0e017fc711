/** The offer service's components, options and results (its door re-exports them). */
import type { AgoraConfig } from '../config/schema.ts'
import type { AgoraEvents } from '../events.ts'
import type { NodeIdentity } from '../identity/index.ts'
import type { AgoraLogger } from '../observability/logger.ts'
import type { Gossip } from '../p2p/index.ts'
import type { ReqResp } from '../protocols/index.ts'
import type { CapabilityRegistry } from '../providers/registry.ts'
import type { Store } from '../store/index.ts'
import type { Offer } from './schema.ts'
import type { Micro } from '../market/amount.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** How the offers room reports peers' behaviour (the peer book implements it). */
export interface PeerFeedback {
  record(peerId: string, outcome: 'invalid' | 'success'): void
  isBanned(peerId: string): boolean
}

export interface OfferServiceComponents {
  identity: NodeIdentity
  store: Pick<Store, 'db' | 'kv'>
  gossip: Pick<Gossip, 'publish' | 'subscribe' | 'validate'>
  reqresp: Pick<ReqResp, 'handle' | 'unhandle' | 'request'>
  libp2p: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getPeers' | 'contentRouting'>
  registry: Pick<CapabilityRegistry, 'snapshot' | 'on' | 'off'>
  peerFeedback: PeerFeedback
  events: Pick<AgoraEvents, 'emit'>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export type OfferServiceInit = AgoraConfig['offers'] & {
  /** node.zone */
  zone: string
  /** access.trustMode */
  trustMode: Offer['trustMode']
  /** node.name (left out of the offer when empty). */
  nodeName?: string
  /** envelope.maxSkewMs: tolerated clock skew on timestamps and expiries. */
  maxSkewMs?: number
  /** Provide capability keys on the DHT (default true). */
  provideOnDht?: boolean
  changeDebounceMs?: number
  pruneIntervalMs?: number
  syncMinGapMs?: number
  syncConcurrency?: number
  withdrawOnStopMs?: number
  flushIntervalMs?: number
  now?: () => number
}

export interface WithdrawResult {
  /** False when there was no valid offer to withdraw. */
  withdrawn: boolean
  offerId: string | null
}

export interface ModelSummary {
  name: string
  kind: 'chat' | 'embedding'
  /** Nodes whose valid offer lists the model. */
  nodes: number
  /** Lowest price among them, micro-credits (see `offerPrice`). */
  bestPrice: Micro
  servedBy: string[]
}

export interface OfferStats {
  /** Valid or not yet pruned offers held. */
  offers: number
  /** WITHDRAW tombstones held. */
  tombstones: number
  /** Our last Lamport and our stable offer id. */
  lamport: number
  offerId: string
  /** Capability keys provided on the DHT, e.g. `model:llama3.2:3b`. */
  capabilityKeys: string[]
}
