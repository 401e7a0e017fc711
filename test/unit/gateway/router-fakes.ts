/** Fakes for the router's unit tests: scripted providers and remote peers, an offer table, a recording peer book and market. */
import { AgoraError } from '../../../src/errors.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { InferenceGateway, Metering, type CallPayment, type GatewayInit, type PricedChatEvent, type PricedEmbeddingsResult, type RequestContext } from '../../../src/gateway/index.ts'
import type { GatewayMarket } from '../../../src/gateway/payments.ts'
import type { CaptureInput, PaySource } from '../../../src/market/index.ts'
import { Database } from '../../../src/store/index.ts'
import { formatCredits, parseCredits, type Micro } from '../../../src/market/amount.ts'
import type { Offer } from '../../../src/offers/index.ts'
import type { PeerView } from '../../../src/peers/index.ts'
import type {
  ChatEvent, ChatRequest, EmbeddingsRequest, EmbeddingsResult, InferenceCallOptions, InferenceProvider, ModelCapability, ProviderHealth
} from '../../../src/providers/index.ts'

export const SELF = peer('S')
export const PEER_A = peer('A')
export const PEER_B = peer('B')
export const PEER_C = peer('C')

/** A syntactically valid Ed25519 peer id made of one repeated base58 letter. */
export function peer (letter: string): string {
  return `12D3KooW${letter.repeat(44)}`
}

/**
 * How a fake server behaves: answer, fail before the first token, hang until
 * aborted (first-token timeout), or fail after one token.
 */
export type Behaviour = 'answer' | 'fail' | 'hang' | 'fail-mid' | 'stall-mid' | 'rate-limited' | 'refuse'

export const ANSWER = ['Hello', ', ', 'world']
export const USAGE = { promptTokens: 12, completionTokens: 3 }

async function waitForAbort (signal: AbortSignal | undefined): Promise<never> {
  return await new Promise((_resolve, reject) => {
    const fail = (): void => { reject(new AgoraError('E703', 'cancelled')) }
    if (signal === undefined) return
    if (signal.aborted) fail()
    else signal.addEventListener('abort', fail, { once: true })
  })
}

/** The scripted stream every fake serves. */
export async function * script (behaviour: Behaviour, signal: AbortSignal | undefined, label: string): AsyncGenerator<ChatEvent> {
  await Promise.resolve()
  if (behaviour === 'fail') throw new AgoraError('E700', `${label} is broken`)
  if (behaviour === 'rate-limited') throw new AgoraError('E904', `too many requests at ${label}`, { details: { retryAfterMs: label.length * 100 } })
  if (behaviour === 'refuse') throw new AgoraError('E901', `${label} serves only trusted peers`, { why: 'friends mode', details: { remote: true } })
  if (behaviour === 'hang') await waitForAbort(signal)
  yield { type: 'delta', text: ANSWER[0] as string }
  if (behaviour === 'fail-mid') throw new AgoraError('E700', `${label} broke mid-answer`)
  if (behaviour === 'stall-mid') await waitForAbort(signal)
  for (const text of ANSWER.slice(1)) yield { type: 'delta', text }
  yield { type: 'done', finishReason: 'stop', usage: USAGE }
}

export class FakeProvider implements InferenceProvider {
  readonly id: string
  readonly kind = 'ollama' as const
  behaviour: Behaviour = 'answer'
  status: ProviderHealth['status'] = 'healthy'
  readonly signals: AbortSignal[] = []
  calls = 0
  private readonly served: ModelCapability[]

  constructor (id: string, models: Array<{ name: string, kind?: 'chat' | 'embedding' }>) {
    this.id = id
    this.served = models.map(m => ({ name: m.name, provider: id, kind: m.kind ?? 'chat', contextLength: 4096 }))
  }

  /** As an HTTP engine whose health check failed: its models leave the offer (models() is empty) but it still knows them. */
  offline = false
  models (): ModelCapability[] { return this.offline ? [] : this.served }
  known (): ModelCapability[] { return this.served }
  taskTypes (): string[] { return [] }
  capacity (): { slotsTotal: number, slotsIdle: number } { return { slotsTotal: 1, slotsIdle: 1 } }
  health (): ProviderHealth { return { status: this.status, checkedAt: 0 } }
  async checkHealth (): Promise<ProviderHealth> { return this.health() }
  async refreshModels (): Promise<ModelCapability[]> { return this.served }
  async stop (): Promise<void> {}

  chatStream (_request: ChatRequest, opts: InferenceCallOptions = {}): AsyncIterable<ChatEvent> {
    this.calls++
    if (opts.signal !== undefined) this.signals.push(opts.signal)
    return script(this.behaviour, opts.signal, this.id)
  }

  async embeddings (request: EmbeddingsRequest, opts: InferenceCallOptions = {}): Promise<EmbeddingsResult> {
    this.calls++
    if (this.behaviour === 'fail') throw new AgoraError('E700', `${this.id} is broken`)
    if (this.behaviour === 'hang') await waitForAbort(opts.signal)
    return { vectors: request.input.map(() => [1, 0]), usage: { promptTokens: 2 * request.input.length } }
  }
}

export class FakeProviders {
  readonly list: FakeProvider[]
  constructor (list: FakeProvider[]) { this.list = list }
  providers (): FakeProvider[] { return this.list }
  providerFor (model: string): FakeProvider[] {
    const serving = this.list.filter(p => p.known().some(m => m.name === model))
    return [...serving.filter(p => p.status === 'healthy'), ...serving.filter(p => p.status !== 'healthy')]
  }
}

export class FakeRemote {
  readonly behaviour = new Map<string, Behaviour>()
  readonly calls: string[] = []
  readonly signals = new Map<string, AbortSignal>()
  /** The price a peer claims in its final frame (none: it claims nothing). */
  readonly claims = new Map<string, Micro>()
  /** The payment each call carried, in call order. */
  readonly payments: Array<CallPayment | undefined> = []

  chatStream (peerId: string, _request: ChatRequest, opts: { signal?: AbortSignal, payment?: CallPayment | undefined }): AsyncIterable<PricedChatEvent> {
    this.calls.push(peerId)
    this.payments.push(opts.payment)
    if (opts.signal !== undefined) this.signals.set(peerId, opts.signal)
    return this.priced(peerId, script(this.behaviour.get(peerId) ?? 'answer', opts.signal, peerId))
  }

  async embeddings (peerId: string, request: EmbeddingsRequest, opts: { signal?: AbortSignal, payment?: CallPayment | undefined }): Promise<PricedEmbeddingsResult> {
    this.calls.push(peerId)
    this.payments.push(opts.payment)
    const behaviour = this.behaviour.get(peerId) ?? 'answer'
    if (behaviour === 'fail') throw new AgoraError('E700', `${peerId} is broken`)
    if (behaviour === 'hang') await waitForAbort(opts.signal)
    const claim = this.claims.get(peerId)
    return { vectors: request.input.map(() => [0, 1]), usage: { promptTokens: 3 * request.input.length }, ...(claim === undefined ? {} : { price: claim }) }
  }

  private async * priced (peerId: string, events: AsyncIterable<ChatEvent>): AsyncGenerator<PricedChatEvent> {
    for await (const event of events) {
      const claim = this.claims.get(peerId)
      yield event.type === 'done' && claim !== undefined ? { ...event, price: claim } : event
    }
  }
}

/** The buyer's side of a market, recording every call; holds beyond `available` are refused (E1101). */
export class FakeMarket implements GatewayMarket {
  available: Micro = 1_000_000_000
  /** hold / capture / release, in order. */
  readonly calls: Array<{ op: 'hold', holdId: string, amount: Micro, expiresAt: number | undefined } | { op: 'capture', input: CaptureInput } | { op: 'release', holdId: string }> = []
  readonly held = new Map<string, Micro>()
  /** An accepted contract's hold to draw on, when set. */
  contract: PaySource | undefined

  hold (holdId: string, amount: Micro, options: { expiresAt?: number } = {}): void {
    if (amount > this.available) throw new AgoraError('E1101', `the wallet cannot hold ${formatCredits(amount)} credits`, { why: `available is ${formatCredits(this.available)}` })
    this.calls.push({ op: 'hold', holdId, amount, expiresAt: options.expiresAt })
    this.available -= amount
    this.held.set(holdId, amount)
  }

  contractFor (): PaySource | undefined { return this.contract }

  capture (input: CaptureInput): void {
    const left = this.held.get(input.holdId) ?? 0
    if (input.amount > left) throw new AgoraError('E1104', `cannot capture ${input.amount} from ${input.holdId}`)
    this.calls.push({ op: 'capture', input })
    this.held.set(input.holdId, left - input.amount)
  }

  release (holdId: string): void {
    this.calls.push({ op: 'release', holdId })
    this.available += this.held.get(holdId) ?? 0
    this.held.delete(holdId)
  }

  ops (): string[] {
    return this.calls.map(c => c.op === 'capture' ? `capture ${c.input.receiptId} ${c.input.amount}` : `${c.op} ${c.holdId}${c.op === 'hold' ? ` ${c.amount}` : ''}`)
  }
}

export interface OfferSpec {
  node: string
  models: Array<{ name: string, kind?: 'chat' | 'embedding' }>
  /** Credits, as a user writes them ("0.5" or 0.5); default 0. */
  per1kCompletionTokens?: string | number
  per1kPromptTokens?: string | number
  perTask?: string | number
}

const credits = (value: string | number = 0): string => formatCredits(parseCredits(value))

export function offer (spec: OfferSpec): Offer {
  return {
    id: `offer-${spec.node.slice(-8)}`,
    node: spec.node,
    models: spec.models.map(m => ({ name: m.name, provider: 'ollama', kind: m.kind ?? 'chat', contextLength: 4096 })),
    taskTypes: [],
    tags: [],
    capacity: { slotsTotal: 1, slotsIdle: 1 },
    prices: { perTask: credits(spec.perTask), per1kPromptTokens: credits(spec.per1kPromptTokens), per1kCompletionTokens: credits(spec.per1kCompletionTokens), currency: 'credits' },
    zone: '',
    trustMode: 'public',
    policyHash: '',
    expiresAt: Date.now() + 60_000,
    lamport: 1
  } as Offer
}

export class FakeOffers {
  offers: Offer[] = []
  list (filter: { model?: string | undefined } = {}): Offer[] {
    return this.offers.filter(o => filter.model === undefined || o.models.some(m => m.name === filter.model))
  }
}

export class FakePeerBook {
  readonly records: Array<[string, string]> = []
  readonly reputations = new Map<string, number>()
  readonly latencies = new Map<string, number>()
  readonly banned = new Set<string>()

  record (peerId: string, outcome: string): number {
    this.records.push([peerId, outcome])
    return this.reputation(peerId)
  }

  reputation (peerId: string): number { return this.reputations.get(peerId) ?? 0.5 }

  view (peerId: string): PeerView | undefined {
    return { peerId, latencyMs: this.latencies.get(peerId) ?? null, banned: this.banned.has(peerId) } as PeerView
  }
}

export interface Setup {
  gateway: InferenceGateway
  providers: FakeProviders
  remote: FakeRemote
  offers: FakeOffers
  peerBook: FakePeerBook
  metering: Metering
  db: Database
  market: FakeMarket | undefined
}

/** A gateway over fakes and a real Metering on an in-memory store. */
export function setup (locals: FakeProvider[], offers: Offer[], init: GatewayInit = {}, market?: FakeMarket): Setup {
  const providers = new FakeProviders(locals)
  const remote = new FakeRemote()
  const fakeOffers = new FakeOffers()
  fakeOffers.offers = offers
  const peerBook = new FakePeerBook()
  const db = new Database({ path: ':memory:' })
  const metering = new Metering({ db })
  const gateway = new InferenceGateway({
    selfPeerId: SELF, local: providers, remote, offers: fakeOffers, peerBook, metering, market, logger: silentLogger()
  }, { backoffMs: 1, random: () => 0.5, ...init })
  return { gateway, providers, remote, offers: fakeOffers, peerBook, metering, db, market }
}

export function ctx (extra: Partial<RequestContext> = {}): RequestContext {
  return { requester: { kind: 'local', keyId: 'key-1' }, signal: new AbortController().signal, ...extra }
}

export const chat = (model: string): ChatRequest => ({ model, messages: [{ role: 'user', content: 'hi' }] })
