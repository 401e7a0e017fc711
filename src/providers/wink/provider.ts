/**
 * The embedded engine as a capability source and an inference provider:
 * what it serves (the `agora/wink-embed-100d` model and four text task
 * types) and its capacity, read on demand by the offer builder (no events on
 * every call), and embeddings through the one provider interface (so
 * /v1/embeddings serves them). It has no chat model: `chatStream` fails with
 * E709. Healthy once constructed; degraded while its last call failed
 * because the engine could not load or crashed (E700). Disabled, it
 * advertises nothing, is unhealthy and its engine refuses calls with E700.
 */
import { join } from 'node:path'
import { AgoraError, isAgoraError } from '../../errors.ts'
import { WINK_DEFAULTS, WINK_DIMENSIONS, WINK_EMBED_MODEL, WINK_PROVIDER_ID, WINK_TAGS } from './constants.ts'
import { WinkEngine, type WinkEngineInit } from './engine.ts'
import type { AgoraLogger } from '../../observability/logger.ts'
import type { Capacity, ModelCapability } from '../registry.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult, InferenceCallOptions, InferenceProvider, ProviderHealth } from '../inference.ts'
import type { Registry } from 'prom-client'

export interface WinkProviderComponents {
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface WinkProviderInit extends WinkEngineInit {
  /** Calls advertised as runnable at once. */
  slots?: number
}

export class WinkProvider implements InferenceProvider {
  readonly id = WINK_PROVIDER_ID
  readonly kind = 'wink' as const
  readonly enabled: boolean
  private slotCount: number
  /** Dimensions of the embedding model. */
  readonly dimensions = WINK_DIMENSIONS
  readonly engine: WinkEngine
  private state: ProviderHealth

  constructor (components: WinkProviderComponents, init: WinkProviderInit) {
    this.enabled = init.enabled ?? true
    this.slotCount = checkSlots(init.slots ?? WINK_DEFAULTS.slots)
    this.engine = new WinkEngine(components, { ...init, enabled: this.enabled })
    this.state = this.enabled
      ? { status: 'healthy', checkedAt: Date.now() }
      : { status: 'unhealthy', lastError: 'disabled in the config (providers.wink.enabled)', checkedAt: Date.now() }
  }

  /** Calls advertised as runnable at once (providers.wink.slots). */
  get slots (): number {
    return this.slotCount
  }

  /** Advertise another number of slots (config changed at run time); the registry's owner announces it. */
  setSlots (slots: number): void {
    this.slotCount = checkSlots(slots)
  }

  models (): ModelCapability[] {
    if (!this.enabled) return []
    return [{ name: WINK_EMBED_MODEL, provider: WINK_PROVIDER_ID, kind: 'embedding', contextLength: WINK_DEFAULTS.contextLength }]
  }

  /** None: the jobs worker (src/jobs/worker) advertises the task types it runs on this engine, within its own slots. */
  taskTypes (): string[] {
    return []
  }

  tags (): string[] {
    return this.enabled ? [...WINK_TAGS] : []
  }

  capacity (): Capacity {
    if (!this.enabled) return { slotsTotal: 0, slotsIdle: 0 }
    return { slotsTotal: this.slots, slotsIdle: Math.max(0, this.slots - this.engine.pending) }
  }

  health (): ProviderHealth {
    return { ...this.state }
  }

  /** Nothing to probe without loading the engine (seconds, hundreds of MB): the health its calls left. */
  async checkHealth (_opts: InferenceCallOptions = {}): Promise<ProviderHealth> {
    this.state = { ...this.state, checkedAt: Date.now() }
    return this.health()
  }

  async refreshModels (_opts: InferenceCallOptions = {}): Promise<ModelCapability[]> {
    return this.models()
  }

  chatStream (request: ChatRequest, _opts: InferenceCallOptions = {}): AsyncIterable<ChatEvent> {
    const error = new AgoraError('E709', `model '${request.model}' does not support chat`, { why: `the embedded engine serves embeddings only (${WINK_EMBED_MODEL})` })
    return { [Symbol.asyncIterator]: () => ({ next: async () => { throw error } }) }
  }

  /** One unit-length 100-d vector per input (all zeros for an input with no known word); prompt tokens = wink-nlp tokens. */
  async embeddings (request: EmbeddingsRequest, opts: InferenceCallOptions = {}): Promise<EmbeddingsResult> {
    if (request.model !== WINK_EMBED_MODEL) {
      throw new AgoraError('E712', `the embedded engine does not serve '${request.model}'`, { why: `its one model is ${WINK_EMBED_MODEL}` })
    }
    try {
      const { vectors, tokens } = await this.engine.embed(request.input, { signal: opts.signal })
      if (this.state.status !== 'healthy' && this.enabled) this.state = { status: 'healthy', checkedAt: Date.now() }
      return { vectors: vectors.map(v => Array.from(v)), usage: { promptTokens: tokens.reduce((sum, n) => sum + n, 0) } }
    } catch (err) {
      // the engine failed to load or its worker died (not a refusal of this call's input, not a cancel)
      if (isAgoraError(err, 'E700') && this.enabled && this.state.status !== 'unhealthy') {
        this.state = { status: 'degraded', lastError: err.why === undefined ? err.what : `${err.what}: ${err.why}`, checkedAt: Date.now() }
      }
      throw err
    }
  }

  /** Terminates the engine's worker; node.ts calls it on stop. */
  async stop (): Promise<void> {
    await this.engine.close()
    this.state = { status: 'unhealthy', lastError: 'stopped', checkedAt: Date.now() }
  }
}

/** Where the embeddings cache goes: the configured folder, else `<dataDir>/models`. */
export function winkCacheDir (dataDir: string, configured = ''): string {
  return configured === '' ? join(dataDir, 'models') : configured
}

export function createWinkProvider (components: WinkProviderComponents, init: WinkProviderInit): WinkProvider {
  return new WinkProvider(components, init)
}

function checkSlots (slots: number): number {
  if (!Number.isInteger(slots) || slots < 1) throw new AgoraError('E704', 'invalid wink provider slots', { why: `slots must be a positive integer, got ${slots}` })
  return slots
}
