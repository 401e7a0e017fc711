/**
 * LocalInference: this node's providers behind one chat/embeddings facade,
 * picking the first healthy provider that serves the model (the provider
 * manager lists healthy ones first). It is what /agora/infer/1 serves to
 * peers: the serving side never routes onwards. With a Metering it records
 * one row per call (requester: the peer; price: our own offer's prices,
 * i.e. what the peer owes us, capped at what a paid call may cost).
 */
import { randomUUID } from 'node:crypto'
import { AgoraError } from '../errors.ts'
import { suggestModels } from './candidates.ts'
import { codeOf } from './deadline.ts'
import { priceOwed, type Metering } from './metering/metering.ts'
import { FREE_PRICES, pricesOf, type Prices } from '../offers/prices.ts'
import type { Micro } from '../market/amount.ts'
import type { Offer } from '../offers/schema.ts'
import type { GatewayProvider, LocalProvidersLike } from './router-options.ts'
import type { Requester } from './types.ts'
import type { ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult, Usage } from '../providers/index.ts'

export interface LocalInferenceComponents {
  local: LocalProvidersLike
  /** Record served calls (optional). */
  metering?: Pick<Metering, 'record'> | undefined
  /** Our own offer's prices as signed, for the price a peer owes (e.g. `() => offers.local()?.prices`); free when undefined. */
  prices?: (() => Offer['prices'] | undefined) | undefined
}

export interface LocalCallOptions {
  signal?: AbortSignal
  /** Who asks, for the metering row (a peer over /agora/infer/1 by default unknown: local, no key). */
  requester?: Requester
  /** A paid call: the buyer's hold caps its price (and the metering row's). */
  maxPrice?: Micro | undefined
}

export class LocalInference {
  private readonly c: LocalInferenceComponents

  constructor (components: LocalInferenceComponents) {
    this.c = components
  }

  /** What our offer asks, micro-credits; free before the offer exists. */
  ownPrices (): Prices {
    const wire = this.c.prices?.()
    return wire === undefined ? FREE_PRICES : pricesOf(wire)
  }

  /** Models served here (first provider wins per name). */
  models (): string[] {
    const names = new Set<string>()
    for (const provider of this.c.local.providers()) for (const m of provider.models()) names.add(m.name)
    return [...names]
  }

  /** The provider that would serve `model` for this kind of call (healthy first); E930 / E941 when none can. */
  pick (model: string, kind: 'chat' | 'embedding'): GatewayProvider {
    const serving = this.c.local.providerFor(model)
      .filter(p => p.models().some(m => m.name === model))
    if (serving.length === 0) {
      const suggestions = suggestModels(model, this.models())
      throw new AgoraError('E930', `unknown model '${model}'`, { why: 'no local provider serves it', details: { model, suggestions } })
    }
    const ofKind = serving.filter(p => p.models().some(m => m.name === model && m.kind === kind))
    if (ofKind.length === 0) throw new AgoraError('E941', `model '${model}' is not ${kind === 'chat' ? 'a chat' : 'an embedding'} model`, { details: { model } })
    // all unhealthy: try the first anyway (its health may be stale; the call tells)
    return ofKind.find(p => p.health().status !== 'unhealthy') ?? ofKind[0] as GatewayProvider
  }

  async * chatStream (request: ChatRequest, opts: LocalCallOptions = {}): AsyncGenerator<ChatEvent, void, undefined> {
    const meter = this.meter('chat', request.model, opts.requester, opts.maxPrice)
    let provider: GatewayProvider | undefined
    let firstTokenMs: number | null = null
    let done = false
    try {
      provider = this.pick(request.model, 'chat')
      for await (const event of provider.chatStream(request, { signal: opts.signal })) {
        firstTokenMs ??= meter.elapsed()
        if (event.type === 'done') {
          done = true
          meter.end({ provider: provider.id, usage: event.usage, firstTokenMs })
          yield event
          return
        }
        yield event
      }
      throw new AgoraError('E939', `provider ${provider.id} ended the answer without a done event`)
    } catch (err) {
      if (!done) {
        done = true
        meter.end({ provider: provider?.id ?? null, firstTokenMs, err })
      }
      throw err
    } finally {
      if (!done) meter.end({ provider: provider?.id ?? null, firstTokenMs, cancelled: true })
    }
  }

  async embeddings (request: EmbeddingsRequest, opts: LocalCallOptions = {}): Promise<EmbeddingsResult> {
    const meter = this.meter('embeddings', request.model, opts.requester, opts.maxPrice)
    let provider: GatewayProvider | undefined
    try {
      provider = this.pick(request.model, 'embedding')
      const result = await provider.embeddings(request, { signal: opts.signal })
      meter.end({ provider: provider.id, usage: { promptTokens: result.usage.promptTokens, completionTokens: 0 }, firstTokenMs: meter.elapsed() })
      return result
    } catch (err) {
      meter.end({ provider: provider?.id ?? null, firstTokenMs: null, err })
      throw err
    }
  }

  private meter (op: 'chat' | 'embeddings', model: string, requester: Requester = { kind: 'local', keyId: null }, maxPrice = Number.MAX_SAFE_INTEGER): Meter {
    const ts = Date.now()
    const t0 = performance.now()
    const metering = this.c.metering
    return {
      elapsed: () => performance.now() - t0,
      end: (r) => {
        if (metering === undefined) return
        const code = r.err !== undefined ? codeOf(r.err) : r.cancelled === true ? 'E940' : null
        const outcome = code === null ? 'ok' : code === 'E940' || code === 'E703' ? 'cancelled' : 'error'
        const usage = r.usage ?? { promptTokens: 0, completionTokens: 0 }
        metering.record({
          id: randomUUID(),
          ts,
          requester,
          server: 'local',
          provider: r.provider,
          model,
          op,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          firstTokenMs: r.firstTokenMs,
          totalMs: performance.now() - t0,
          outcome,
          errorCode: code,
          price: outcome === 'ok' ? Math.min(priceOwed(this.ownPrices(), usage), maxPrice) : 0,
          attempts: r.provider === null ? 0 : 1
        })
      }
    }
  }
}

interface Meter {
  elapsed: () => number
  end: (r: { provider: string | null, usage?: Usage, firstTokenMs: number | null, err?: unknown, cancelled?: boolean }) => void
}
