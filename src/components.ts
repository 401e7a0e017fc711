/**
 * The typed bag of shared dependencies that `node.ts` builds once and hands
 * to each room. A room declares the few of these it needs as its own
 * `XComponents` interface; nothing takes the whole bag.
 */
import type { Registry } from 'prom-client'
import type { AgoraConfig } from './config/index.ts'
import type { AgoraEvents } from './events.ts'
import type { NodeIdentity, EnvelopeVerifier } from './identity/index.ts'
import type { AgoraLogger } from './observability/logger.ts'
import type { AgoraLibp2p, Gossip } from './p2p/index.ts'
import type { ReqResp } from './protocols/index.ts'
import type { CapabilityRegistry, ProviderManager, WinkProvider } from './providers/index.ts'
import type { AccessControl, Gateway, Metering } from './gateway/index.ts'
import type { ApiKeys } from './api/index.ts'
import type { JobCoordinator } from './jobs/index.ts'
import type { MarketService } from './market/index.ts'
import type { VerifyService } from './verify/index.ts'
import type { PackageService } from './packages/service.ts'
import type { PeerBook } from './peers/index.ts'
import type { OfferService } from './offers/index.ts'
import type { Store } from './store/index.ts'

export interface AgoraComponents {
  readonly dataDir: string
  readonly config: AgoraConfig
  readonly logger: AgoraLogger
  readonly metrics: Registry
  readonly events: AgoraEvents
  readonly store: Store
  readonly identity: NodeIdentity
  readonly envelopes: EnvelopeVerifier
  readonly libp2p: AgoraLibp2p
  /** Publish and subscribe on the allow-listed gossip topics (rate-limited). */
  readonly gossip: Gossip
  /** Serve and call request/response stream protocols. */
  readonly reqresp: ReqResp
  /** What this node serves (models, task types, capacity); offers are built from it. */
  readonly capabilities: CapabilityRegistry
  /** The embedded NLP engine (wink-nlp): embeddings, chunks, sentiment, entities. */
  readonly wink: WinkProvider
  /** Reputation, trust and bans; every protocol reports peer outcomes here. */
  readonly peerBook: PeerBook
  /** Everyone's signed offers (gossip + anti-entropy) and our own. */
  readonly offers: OfferService
  /** Inference engines: built-in, discovered on local ports, added by the operator. */
  readonly providers: ProviderManager
  /** Who may spend this node's compute (trust mode, per-peer limits, model lists). */
  readonly access: AccessControl
  /** Every inference request: who, where, model, tokens, latency, outcome, price. */
  readonly metering: Metering
  /** Routes chat and embeddings to local providers or peers, with failover. */
  readonly gateway: Gateway
  /** API keys for /v1. */
  readonly keys: ApiKeys
  /** The wallet and the market: holds, captures, receipts, payments, contracts (docs/market.md). */
  readonly market: MarketService
  /** Verification: attestations and decisions over gossip, the quorum (docs/verification.md). */
  readonly verify: VerifyService
  /** Our jobs: submit, plan, route, dispatch, aggregate, resume (the coordinator). */
  readonly jobs: JobCoordinator
  /** Packages over IPFS: publish, search, install (docs/packages.md); off with packages.enabled false. */
  readonly packages: PackageService
}
