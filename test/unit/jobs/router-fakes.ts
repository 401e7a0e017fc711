/** Fixtures for the jobs router's tests: offers, an offer table, a router over a real peer book and store. */
import { AgoraEvents } from '../../../src/events.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { createRegistry, type Registry } from '../../../src/observability/metrics.ts'
import { PeerBook } from '../../../src/peers/index.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import { JobRouter, type JobRouterInit, type RouteRequest } from '../../../src/jobs/router/index.ts'
import { formatCredits, parseCredits, type Micro } from '../../../src/market/amount.ts'
import type { Offer } from '../../../src/offers/index.ts'

/** A syntactically valid Ed25519 peer id made of one repeated base58 letter. */
export function peer (letter: string): string {
  return `12D3KooW${letter.repeat(44)}`
}

export const SELF = peer('S')
export const A = peer('A')
export const B = peer('B')
export const C = peer('C')
export const D = peer('D')

export const T0 = 1_700_000_000_000

export interface OfferSpec {
  node: string
  name?: string
  taskTypes?: string[]
  models?: string[]
  tags?: string[]
  zone?: string
  /** Credits per task, as a user writes them ("2.5" or 2.5); default 1. */
  perTask?: string | number
  slotsIdle?: number
  trustMode?: Offer['trustMode']
  expiresAt?: number
}

/** Credits → micro-credits, for limits (max prices, budgets) in the router's unit. */
export function micro (credits: string | number): Micro {
  return parseCredits(credits)
}

export function offer (spec: OfferSpec): Offer {
  const slotsIdle = spec.slotsIdle ?? 4
  const o: Offer = {
    id: `offer-${spec.node.slice(-8)}`,
    node: spec.node,
    models: (spec.models ?? []).map(name => ({ name, provider: 'ollama', kind: 'chat' as const, contextLength: 4096 })),
    taskTypes: spec.taskTypes ?? ['text.embed'],
    tags: spec.tags ?? [],
    capacity: { slotsTotal: Math.max(4, slotsIdle), slotsIdle },
    prices: { perTask: formatCredits(parseCredits(spec.perTask ?? 1)), per1kPromptTokens: '0.000000', per1kCompletionTokens: '0.000000', currency: 'credits' },
    zone: spec.zone ?? '',
    trustMode: spec.trustMode ?? 'public',
    policyHash: '',
    expiresAt: spec.expiresAt ?? T0 + 5 * 60_000,
    lamport: 1
  }
  if (spec.name !== undefined) o.name = spec.name
  return o
}

/** The offer table as the router sees it: `list` holds ours too (as OfferService does). */
export class FakeOffers {
  offers: Offer[] = []
  listCalls = 0
  list (): Offer[] {
    this.listCalls++
    return [...this.offers]
  }

  local (): Offer | undefined {
    return this.offers.find(o => o.node === SELF)
  }
}

/** A peer book that records outcomes but keeps every peer a neutral stranger (isolates the bandit from reputation and bans). */
export class NeutralPeerBook {
  readonly records: Array<[string, string]> = []
  view (): undefined { return undefined }
  record (peerId: string, outcome: string): number {
    this.records.push([peerId, outcome])
    return 0.5
  }
}

export interface Fixture {
  router: JobRouter
  offers: FakeOffers
  /** The real peer book the router uses (unless `neutral` was asked for). */
  book: PeerBook
  neutral: NeutralPeerBook
  store: Store
  registry: Registry
  clock: { now: number }
}

export function fixture (offers: Offer[], init: JobRouterInit = {}, opts: { store?: Store, neutral?: boolean, shareOf?: (peer: string, type: string) => number } = {}): Fixture {
  const store = opts.store ?? openStore(':memory:')
  const clock = { now: T0 }
  const fake = new FakeOffers()
  fake.offers = offers
  const registry = createRegistry({ defaultMetrics: false })
  const book = new PeerBook({ peers: store.peers, events: new AgoraEvents(), logger: silentLogger() }, { now: () => clock.now })
  const neutral = new NeutralPeerBook()
  const router = new JobRouter({ offers: fake, peerBook: opts.neutral === true ? neutral : book, store, selfPeerId: SELF, logger: silentLogger(), metrics: registry, shareOf: opts.shareOf }, {
    now: () => clock.now, ...init
  })
  return { router, offers: fake, book, neutral, store, registry, clock }
}

export function request (extra: Partial<RouteRequest> = {}): RouteRequest {
  return { taskType: 'text.embed', models: [], constraints: { redundancy: 1 }, ...extra }
}

/** The value of a metric (with these labels) in the registry; 0 when absent. */
export async function metricValue (registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (metric === undefined) return 0
  const data = await metric.get()
  const match = data.values.find(v => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))
  return match?.value ?? 0
}
