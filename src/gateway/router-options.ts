/**
 * What the router needs from the rest of the node, as narrow interfaces so
 * the real pieces (ProviderManager, RemoteInference, OfferService, PeerBook)
 * and test fakes plug in alike, and its options with their defaults.
 */
import type { AgoraConfig } from '../config/schema.ts'
import type { AgoraLogger } from '../observability/logger.ts'
import type { OfferService } from '../offers/index.ts'
import type { PeerBook } from '../peers/index.ts'
import type { ChatRequest, EmbeddingsRequest, InferenceProvider } from '../providers/index.ts'
import type { Metering } from './metering/metering.ts'
import type { GatewayMarket } from './payments.ts'
import type { CallPayment, PricedChatEvent, PricedEmbeddingsResult } from './remote/index.ts'
import type { Registry } from 'prom-client'

/** The part of a local provider the gateway uses (an InferenceProvider fits). */
export type GatewayProvider = Pick<InferenceProvider, 'id' | 'kind' | 'models' | 'health' | 'chatStream' | 'embeddings'>

/** The local providers (the ProviderManager fits). */
export interface LocalProvidersLike {
  /** Providers serving the model, healthy ones first. */
  providerFor(model: string): GatewayProvider[]
  /** Every provider. */
  providers(): GatewayProvider[]
}

/** How a call to a peer is made: cancelled by `signal`, paid with `payment` (a peer that charges). */
export interface RemoteCallOpts {
  signal?: AbortSignal
  payment?: CallPayment | undefined
}

/**
 * The /agora/infer/1 client (RemoteInference fits): it enforces dial,
 * first-token and idle timeouts itself; a paid answer carries the price
 * the server claims.
 */
export interface RemoteInferenceLike {
  chatStream(peerId: string, request: ChatRequest, opts: RemoteCallOpts): AsyncIterable<PricedChatEvent>
  embeddings(peerId: string, request: EmbeddingsRequest, opts: RemoteCallOpts): Promise<PricedEmbeddingsResult>
}

export interface GatewayComponents {
  /** Our own peer id: our own offer is never a remote candidate. */
  selfPeerId: string
  local: LocalProvidersLike
  remote: RemoteInferenceLike
  offers: Pick<OfferService, 'list'>
  peerBook: Pick<PeerBook, 'view' | 'reputation' | 'record'>
  metering: Pick<Metering, 'record'>
  /** The buyer's side of the market: pays peers that charge (none: nothing is paid, as before the market). */
  market?: GatewayMarket | undefined
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export type GatewayConfig = AgoraConfig['gateway']

export interface GatewayInit extends Partial<Omit<GatewayConfig, 'timeouts'>> {
  timeouts?: Partial<GatewayConfig['timeouts']>
  /** Uniform [0, 1): backoff jitter and the score tie-break (Math.random by default). */
  random?: () => number
  /** The clock (ms) of the breakers and the metering rows. */
  now?: () => number
  /** Score weights (see scoring.ts). */
  weights?: Partial<ScoreWeights>
  /** Completion tokens a paid chat request without max_tokens holds for (market.gatewayHoldTokens). */
  holdTokens?: number
}

export interface ScoreWeights {
  latency: number
  load: number
  reputation: number
  price: number
  /** Size of the random tie-break added to each score. */
  tieBreak: number
}

export const GATEWAY_DEFAULTS = {
  strategy: 'prefer-local',
  attempts: 3,
  backoffMs: 100,
  /** Longest wait between two attempts. */
  maxBackoffMs: 5_000,
  /** Backoff jitter: the delay is scaled by a uniform factor in [1 − j, 1 + j]. */
  backoffJitter: 0.5,
  breakerFailures: 5,
  breakerCooldownMs: 30_000,
  timeouts: { dialMs: 5_000, firstTokenMs: 60_000, idleMs: 30_000, totalMs: 10 * 60_000 },
  /** EWMA weight of the newest first-token latency. */
  latencyAlpha: 0.3,
  /** Latency at which the latency term of the score is one half. */
  latencyScaleMs: 1_000,
  weights: { latency: 0.35, load: 0.25, reputation: 0.25, price: 0.15, tieBreak: 0.01 },
  /** market.gatewayHoldTokens's default. */
  holdTokens: 4096
} as const satisfies {
  strategy: GatewayConfig['strategy']
  attempts: number
  backoffMs: number
  maxBackoffMs: number
  backoffJitter: number
  breakerFailures: number
  breakerCooldownMs: number
  timeouts: GatewayConfig['timeouts']
  latencyAlpha: number
  latencyScaleMs: number
  weights: ScoreWeights
  holdTokens: number
}
