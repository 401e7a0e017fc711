/**
 * The built-in echo chat engine: a chat model, `agora/echo`, that answers
 * with the last user message, labelled as an echo, streamed word by word
 * with usage counts. It needs no download and no engine, so a new swarm (the
 * `agora demo`) can route a chat to a peer before any real model is
 * installed. Off by default (`providers.echo.enabled`); disabled, it
 * advertises nothing and refuses calls with E1300.
 */
import { AgoraError } from '../../errors.ts'
import { estimateTokens, promptChars } from '../http/base.ts'
import { cancelled } from '../http/upstream.ts'
import { ECHO_CHAT_MODEL, ECHO_DEFAULTS, ECHO_LABEL, ECHO_PROVIDER_ID, ECHO_TAGS } from './constants.ts'
import type { Capacity, ModelCapability } from '../registry.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult, InferenceCallOptions, InferenceProvider, ProviderHealth } from '../inference.ts'

export interface EchoProviderInit {
  enabled?: boolean
  /** Calls advertised as runnable at once. */
  slots?: number
}

export class EchoProvider implements InferenceProvider {
  readonly id = ECHO_PROVIDER_ID
  readonly kind = 'echo' as const
  readonly enabled: boolean
  readonly slots: number
  private running = 0
  private stopped = false

  constructor (init: EchoProviderInit = {}) {
    this.enabled = init.enabled ?? false
    this.slots = init.slots ?? ECHO_DEFAULTS.slots
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new AgoraError('E704', 'invalid echo provider slots', { why: `slots must be a positive integer, got ${this.slots}` })
  }

  models (): ModelCapability[] {
    if (!this.enabled) return []
    return [{ name: ECHO_CHAT_MODEL, provider: ECHO_PROVIDER_ID, kind: 'chat', contextLength: ECHO_DEFAULTS.contextLength }]
  }

  taskTypes (): string[] {
    return []
  }

  tags (): string[] {
    return this.enabled ? [...ECHO_TAGS] : []
  }

  capacity (): Capacity {
    if (!this.enabled) return { slotsTotal: 0, slotsIdle: 0 }
    return { slotsTotal: this.slots, slotsIdle: Math.max(0, this.slots - this.running) }
  }

  health (): ProviderHealth {
    if (!this.enabled) return { status: 'unhealthy', lastError: 'disabled in the config (providers.echo.enabled)', checkedAt: Date.now() }
    if (this.stopped) return { status: 'unhealthy', lastError: 'stopped', checkedAt: Date.now() }
    return { status: 'healthy', checkedAt: Date.now() }
  }

  async checkHealth (_opts: InferenceCallOptions = {}): Promise<ProviderHealth> {
    return this.health()
  }

  async refreshModels (_opts: InferenceCallOptions = {}): Promise<ModelCapability[]> {
    return this.models()
  }

  /** `[echo from agora/echo] <last user message>`, one word per delta; `max_tokens` cuts it (finish reason `length`). */
  chatStream (request: ChatRequest, opts: InferenceCallOptions = {}): AsyncIterable<ChatEvent> {
    return this.echo(request, opts)
  }

  async embeddings (request: EmbeddingsRequest, _opts: InferenceCallOptions = {}): Promise<EmbeddingsResult> {
    throw new AgoraError('E1300', `the echo engine does not embed ('${request.model}')`, { why: `its one model, ${ECHO_CHAT_MODEL}, is a chat model` })
  }

  async stop (): Promise<void> {
    this.stopped = true
  }

  private async * echo (request: ChatRequest, opts: InferenceCallOptions): AsyncGenerator<ChatEvent> {
    this.refuseUnless(request)
    const last = request.messages.findLast(m => m.role === 'user')
    if (last === undefined) throw new AgoraError('E1300', 'the echo engine has nothing to echo', { why: 'the request has no user message' })
    const words = `${ECHO_LABEL} ${last.content}`.split(/(?<=\s)/)
    const limit = request.max_tokens ?? Number.POSITIVE_INFINITY
    this.running++
    try {
      let sent = 0
      for (const word of words) {
        if (sent >= limit) break
        if (opts.signal?.aborted === true) throw cancelled(opts.signal)
        yield { type: 'delta', text: word }
        sent++
      }
      yield { type: 'done', finishReason: sent < words.length ? 'length' : 'stop', usage: { promptTokens: estimateTokens(promptChars(request)), completionTokens: sent } }
    } finally {
      this.running--
    }
  }

  private refuseUnless (request: ChatRequest): void {
    if (!this.enabled || this.stopped) {
      throw new AgoraError('E1300', 'the echo engine is off', { why: this.stopped ? 'the node is stopping' : 'providers.echo.enabled is false', hint: 'set providers.echo.enabled: true in the config and restart the node' })
    }
    if (request.model !== ECHO_CHAT_MODEL) throw new AgoraError('E1300', `the echo engine does not serve '${request.model}'`, { why: `its one model is ${ECHO_CHAT_MODEL}` })
  }
}
