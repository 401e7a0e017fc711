/** The provider manager's public shapes (manager.ts): what it is given, and what it answers of each provider. */
import type { DiscoveryTarget } from './constants.ts'
import type { AgoraLogger } from '../observability/logger.ts'
import type { KvRepository } from '../store/index.ts'
import type { InferenceProvider, ProviderHealth, ProviderKind } from './inference.ts'
import type { CapabilityRegistry, ModelCapability } from './registry.ts'
import type { Registry } from 'prom-client'
import type { AgoraEvents } from '../events.ts'

export interface ProviderManagerComponents {
  registry: CapabilityRegistry
  store: { kv: KvRepository }
  logger: AgoraLogger
  metrics?: Registry | undefined
  /** Told when a provider's health changes (provider:status). */
  events?: Pick<AgoraEvents, 'emit'> | undefined
  /** Providers built elsewhere and registered at start, e.g. the wink provider (not stopped by the manager). */
  builtin?: InferenceProvider[]
}

export interface ProviderManagerInit {
  /** Probe the usual local ports (config providers.discovery). */
  discovery?: boolean
  /** Discovery, health checks and model refreshes run this often (config providers.discoveryIntervalMs). */
  discoveryIntervalMs?: number
  /** Model lists are cached this long (config providers.modelsTtlMs). */
  modelsTtlMs?: number
  /** Ports probed by discovery (tests point them at fake engines). */
  discoveryPorts?: Partial<Record<DiscoveryTarget, number>>
  discoveryHost?: string
  discoveryTimeoutMs?: number
  /** Rounds in a row a discovered engine may be missing before it is unregistered. */
  discoveryMisses?: number
  probeTimeoutMs?: number
  /** Slots advertised per HTTP provider. */
  slots?: number
  /** Where API key variables are read (default process.env). */
  env?: Record<string, string | undefined>
}

export type ProviderSource = 'builtin' | 'discovered' | 'user'

export interface ProviderInfo {
  name: string
  kind: ProviderKind
  /** Base URL, or `embedded` for the wink engine. */
  url: string
  source: ProviderSource
  health: ProviderHealth
  /** The cached model list (listed even while unhealthy; the offer leaves it out then). */
  models: ModelCapability[]
  /** Name of the variable holding the API key, when one is configured. */
  apiKeyEnv?: string
}

export interface ProviderTestResult {
  name: string
  health: ProviderHealth
  models: ModelCapability[]
  /** Why listing the models failed, when it did. */
  modelsError?: string
  /** How long the test took. */
  ms: number
}
