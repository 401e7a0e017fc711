/**
 * What the Ollama and OpenAI-compatible adapters share: health (set by the
 * periodic check, and passively by failing or succeeding calls), the model
 * list cached with a TTL, capacity from calls in flight, call accounting and
 * the abort plumbing. An adapter only says how to probe, list, chat and
 * embed over its wire format.
 *
 * An unhealthy provider advertises no models and no capacity (it leaves the
 * offer) but keeps its cached list for `knownModels()` and the manager.
 */
import { AgoraError } from '../../errors.ts'
import { PROVIDER_DEFAULTS } from '../constants.ts'
import { Agent } from 'undici'
import { UpstreamCall, cancelled } from './upstream.ts'
import { extraPromptChars } from '../inference.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { ProviderMetrics } from '../metrics.ts'
import type { Capacity, ModelCapability } from '../registry.ts'
import type {
  ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult, HealthStatus, InferenceCallOptions,
  InferenceProvider, ProviderHealth, ProviderKind
} from '../inference.ts'

export interface HttpProviderComponents {
  logger: AgoraLogger
  metrics?: ProviderMetrics | undefined
  /** Called when the health status or the model list changed (the manager re-announces the offer). */
  onChange?: (() => void) | undefined
}

export interface HttpProviderInit {
  /** Provider id (unique in the registry), e.g. `ollama-local`. */
  id: string
  /** Base URL of the engine, e.g. `http://127.0.0.1:11434`. */
  url: string
  /** Name of the environment variable holding a bearer key (read on each call, never stored). */
  apiKeyEnv?: string | undefined
  /** Requests advertised as runnable at once. */
  slots?: number
  modelsTtlMs?: number
  probeTimeoutMs?: number
  /** Where `apiKeyEnv` is read (default process.env). */
  env?: Record<string, string | undefined>
}

export interface RefreshOptions extends InferenceCallOptions {
  /** Ignore the cache. */
  force?: boolean
}

type Outcome = 'ok' | 'error' | 'cancelled'

export abstract class HttpProvider implements InferenceProvider {
  abstract readonly kind: Exclude<ProviderKind, 'wink' | 'echo'>
  readonly id: string
  readonly url: string
  readonly apiKeyEnv: string | undefined
  protected readonly log: Logger
  /** Keep-alive connections to the engine, closed by `stop()`. */
  private readonly dispatcher: Agent
  private readonly metrics: ProviderMetrics | undefined
  private readonly onChange: (() => void) | undefined
  private readonly slots: number
  private readonly modelsTtlMs: number
  private readonly probeTimeoutMs: number
  private readonly env: Record<string, string | undefined>
  private readonly stopController = new AbortController()
  private state: ProviderHealth = { status: 'unhealthy', lastError: 'not checked yet', checkedAt: 0 }
  private cached: ModelCapability[] = []
  private fetchedAt = 0
  private inflight = 0

  constructor (components: HttpProviderComponents, init: HttpProviderInit) {
    this.id = init.id
    this.url = init.url.replace(/\/+$/, '')
    this.apiKeyEnv = init.apiKeyEnv
    this.log = components.logger.forComponent(`agora:providers:${init.id}`)
    this.metrics = components.metrics
    this.onChange = components.onChange
    this.dispatcher = newProviderAgent()
    this.slots = init.slots ?? PROVIDER_DEFAULTS.slots
    this.modelsTtlMs = init.modelsTtlMs ?? PROVIDER_DEFAULTS.modelsTtlMs
    this.probeTimeoutMs = init.probeTimeoutMs ?? PROVIDER_DEFAULTS.probeTimeoutMs
    this.env = init.env ?? process.env
  }

  /** Checks the engine answers at all (cheap). */
  protected abstract probe (call: UpstreamCall): Promise<void>
  protected abstract listModels (call: UpstreamCall): Promise<ModelCapability[]>
  protected abstract streamChat (request: ChatRequest, call: UpstreamCall): AsyncIterable<ChatEvent>
  protected abstract embed (request: EmbeddingsRequest, call: UpstreamCall): Promise<EmbeddingsResult>

  health (): ProviderHealth {
    return { ...this.state }
  }

  models (): ModelCapability[] {
    return this.state.status === 'unhealthy' ? [] : [...this.cached]
  }

  /** The cached list, whatever the health. */
  knownModels (): ModelCapability[] {
    return [...this.cached]
  }

  taskTypes (): string[] {
    return []
  }

  tags (): string[] {
    return [this.kind]
  }

  capacity (): Capacity {
    if (this.state.status === 'unhealthy') return { slotsTotal: 0, slotsIdle: 0 }
    return { slotsTotal: this.slots, slotsIdle: Math.max(0, this.slots - this.inflight) }
  }

  async checkHealth (opts: InferenceCallOptions = {}): Promise<ProviderHealth> {
    const call = this.call(opts.signal, this.probeTimeoutMs)
    try {
      await this.probe(call)
      const key = this.apiKeyEnv
      if (key !== undefined && (this.env[key] ?? '') === '') this.setHealth('degraded', `the API key variable ${key} is not set in the node's environment`)
      else this.setHealth('healthy')
    } catch (err) {
      const error = call.fail(err, 'connect')
      if (opts.signal?.aborted === true) throw error
      this.setHealth('unhealthy', summary(error))
    } finally {
      call.dispose()
    }
    return this.health()
  }

  async refreshModels (opts: RefreshOptions = {}): Promise<ModelCapability[]> {
    if (opts.force !== true && this.fetchedAt > 0 && Date.now() - this.fetchedAt < this.modelsTtlMs) return [...this.cached]
    const call = this.call(opts.signal, this.probeTimeoutMs)
    try {
      const models = await this.listModels(call)
      const changed = signature(models) !== signature(this.cached)
      this.cached = models
      this.fetchedAt = Date.now()
      if (changed) {
        this.log.info({ models: models.map(m => m.name) }, 'model list changed')
        this.onChange?.()
      }
      return [...models]
    } catch (err) {
      const error = call.fail(err, 'body')
      if (opts.signal?.aborted !== true && this.state.status === 'healthy') this.setHealth('degraded', `listing models failed: ${summary(error)}`)
      throw error
    } finally {
      call.dispose()
    }
  }

  async * chatStream (request: ChatRequest, opts: InferenceCallOptions = {}): AsyncGenerator<ChatEvent> {
    const call = this.call(opts.signal)
    let outcome: Outcome | undefined
    this.inflight++
    try {
      if (opts.signal?.aborted === true) throw cancelled(opts.signal)
      for await (const event of this.streamChat(request, call)) {
        if (event.type === 'done') {
          outcome = 'ok'
          this.setHealthyAfterCall()
          yield event
          return
        }
        yield event
      }
      throw new AgoraError('E706', `provider '${this.id}' ended the answer without finishing it`, { why: 'no done event' })
    } catch (err) {
      const error = call.fail(err, 'body')
      outcome = error.code === 'E703' ? 'cancelled' : 'error'
      this.noteFailure(error)
      throw error
    } finally {
      call.dispose(outcome === 'ok')
      this.inflight--
      // left early by the consumer (break / return): the upstream request is aborted above
      this.metrics?.requests.inc({ provider: this.id, op: 'chat', outcome: outcome ?? 'cancelled' })
    }
  }

  async embeddings (request: EmbeddingsRequest, opts: InferenceCallOptions = {}): Promise<EmbeddingsResult> {
    const call = this.call(opts.signal)
    let outcome: Outcome = 'error'
    this.inflight++
    try {
      if (opts.signal?.aborted === true) throw cancelled(opts.signal)
      const result = await this.embed(request, call)
      if (result.vectors.length !== request.input.length) {
        throw new AgoraError('E705', `provider '${this.id}' sent a malformed answer`, { why: `${result.vectors.length} vectors for ${request.input.length} inputs` })
      }
      outcome = 'ok'
      this.setHealthyAfterCall()
      return result
    } catch (err) {
      const error = call.fail(err, 'body')
      if (error.code === 'E703') outcome = 'cancelled'
      this.noteFailure(error)
      throw error
    } finally {
      call.dispose(outcome === 'ok')
      this.inflight--
      this.metrics?.requests.inc({ provider: this.id, op: 'embeddings', outcome })
    }
  }

  /** Aborts calls in flight (they fail with E700); later calls fail at once. */
  async stop (): Promise<void> {
    this.stopController.abort()
    await this.dispatcher.destroy().catch(() => {})
  }

  /** Headers of every request: the bearer key when one is configured and set. */
  protected headers (): Record<string, string> {
    const key = this.apiKeyEnv === undefined ? undefined : this.env[this.apiKeyEnv]
    return key === undefined || key === '' ? {} : { authorization: `Bearer ${key}` }
  }

  private call (signal: AbortSignal | undefined, timeoutMs?: number): UpstreamCall {
    return new UpstreamCall({ provider: this.id, dispatcher: this.dispatcher, signal, stopped: this.stopController.signal, timeoutMs })
  }

  /** Passive health: an unreachable engine is unhealthy; a broken answer or a 5xx degrades it; 4xx and cancels say nothing. */
  private noteFailure (error: AgoraError): void {
    if (error.code === 'E708') this.setHealth('unhealthy', summary(error))
    else if (error.code === 'E705' || error.code === 'E706') this.setHealth('degraded', summary(error))
    else if (error.code === 'E707' && Number(error.details?.status ?? 0) >= 500) this.setHealth('degraded', summary(error))
  }

  private setHealthyAfterCall (): void {
    if (this.state.status !== 'healthy') this.setHealth('healthy')
  }

  private setHealth (status: HealthStatus, lastError?: string): void {
    const previous = this.state.status
    this.state = lastError === undefined ? { status, checkedAt: Date.now() } : { status, lastError, checkedAt: Date.now() }
    if (previous === status) return
    if (status === 'healthy') this.log.info({ previous }, 'provider healthy')
    else this.log.warn({ previous, status, lastError }, 'provider not healthy')
    this.onChange?.()
  }
}

/**
 * A keep-alive pool for one engine: idle connections are kept a while
 * (engines are called in bursts). undici's own header and body timeouts are
 * off: a generation may think for minutes, and the caller's signal, the
 * gateway's first-token and idle timeouts and the probe limit decide.
 */
export function newProviderAgent (): Agent {
  return new Agent({ keepAliveTimeout: PROVIDER_DEFAULTS.keepAliveMs, keepAliveMaxTimeout: PROVIDER_DEFAULTS.keepAliveMs, headersTimeout: 0, bodyTimeout: 0 })
}

function summary (error: AgoraError): string {
  return error.why === undefined ? `${error.code} ${error.what}` : `${error.code} ${error.what}: ${error.why}`
}

function signature (models: ModelCapability[]): string {
  return JSON.stringify(models.map(m => [m.name, m.kind, m.contextLength]))
}

/** Rough token count when an engine reports none: ~4 characters per token (English text, BPE vocabularies). */
export function estimateTokens (chars: number): number {
  return Math.ceil(chars / 4)
}

/** Characters of a chat request's messages, for `estimateTokens`. */
export function promptChars (request: ChatRequest): number {
  return request.messages.reduce((sum, m) => sum + m.content.length, 0) + extraPromptChars(request)
}
