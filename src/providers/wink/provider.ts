/**
 * The embedded engine as a capability source: what it serves (the
 * `agora/wink-embed-100d` model and four text task types) and its capacity,
 * read on demand by the offer builder (no events on every call). Disabled,
 * it advertises nothing and its engine refuses calls with E700.
 */
import { join } from 'node:path'
import { AgoraError } from '../../errors.ts'
import { WINK_DEFAULTS, WINK_DIMENSIONS, WINK_EMBED_MODEL, WINK_PROVIDER_ID, WINK_TAGS, WINK_TASK_TYPES } from './constants.ts'
import { WinkEngine, type WinkEngineInit } from './engine.ts'
import type { AgoraLogger } from '../../observability/logger.ts'
import type { Capacity, CapabilitySource, ModelCapability } from '../registry.ts'
import type { Registry } from 'prom-client'

export interface WinkProviderComponents {
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface WinkProviderInit extends WinkEngineInit {
  /** Calls advertised as runnable at once. */
  slots?: number
}

export class WinkProvider implements CapabilitySource {
  readonly id = WINK_PROVIDER_ID
  readonly enabled: boolean
  readonly slots: number
  /** Dimensions of the embedding model. */
  readonly dimensions = WINK_DIMENSIONS
  readonly engine: WinkEngine

  constructor (components: WinkProviderComponents, init: WinkProviderInit) {
    this.enabled = init.enabled ?? true
    this.slots = init.slots ?? WINK_DEFAULTS.slots
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new AgoraError('E704', 'invalid wink provider slots', { why: `slots must be a positive integer, got ${this.slots}` })
    this.engine = new WinkEngine(components, { ...init, enabled: this.enabled })
  }

  models (): ModelCapability[] {
    if (!this.enabled) return []
    return [{ name: WINK_EMBED_MODEL, provider: WINK_PROVIDER_ID, kind: 'embedding', contextLength: WINK_DEFAULTS.contextLength }]
  }

  taskTypes (): string[] {
    return this.enabled ? [...WINK_TASK_TYPES] : []
  }

  tags (): string[] {
    return this.enabled ? [...WINK_TAGS] : []
  }

  capacity (): Capacity {
    if (!this.enabled) return { slotsTotal: 0, slotsIdle: 0 }
    return { slotsTotal: this.slots, slotsIdle: Math.max(0, this.slots - this.engine.pending) }
  }

  /** Terminates the engine's worker; node.ts calls it on stop. */
  async stop (): Promise<void> {
    await this.engine.close()
  }
}

/** Where the embeddings cache goes: the configured folder, else `<dataDir>/models`. */
export function winkCacheDir (dataDir: string, configured = ''): string {
  return configured === '' ? join(dataDir, 'models') : configured
}

export function createWinkProvider (components: WinkProviderComponents, init: WinkProviderInit): WinkProvider {
  return new WinkProvider(components, init)
}
