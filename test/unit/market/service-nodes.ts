/**
 * Market services wired to each other in one process, without libp2p: a
 * `LoopNet` delivers /agora/market/1 requests straight to the other node's
 * handler, through the protocol's schemas, with the caller's peer id, and
 * turns a thrown AgoraError into what a peer would see (same code, marked
 * remote). Each node has a real store in memory, a real EnvelopeVerifier
 * (persisted replay guard), a real PeerBook, and a fixed offer table.
 */
import { AgoraError } from '../../../src/errors.ts'
import { AgoraEvents, type AgoraEventMap, type AgoraEventName } from '../../../src/events.ts'
import { EnvelopeVerifier, generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { MarketService, type MarketServiceInit } from '../../../src/market/index.ts'
import { OFFER_CURRENCY } from '../../../src/offers/constants.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { createRegistry, type Registry } from '../../../src/observability/metrics.ts'
import { PeerBook } from '../../../src/peers/index.ts'
import { Database, PeersRepository, ReplayRepository } from '../../../src/store/index.ts'
import type { Offer } from '../../../src/offers/index.ts'
import type { HandlerContext, ReqResp, RequestOptions, RequestTarget, UnaryHandler, UnaryProtocol } from '../../../src/protocols/index.ts'

export const C = 1_000_000

type Handler = UnaryHandler<unknown, unknown>

/** The peers of a test and their handlers, by protocol. */
export class LoopNet {
  readonly handlers = new Map<string, Map<string, Handler>>()
  /** Requests sent, by protocol and type (for assertions). */
  readonly sent: Array<{ from: string, to: string, type: string }> = []
  /** Drop every request to these peers (a peer that is gone). */
  readonly down = new Set<string>()

  endpoint (self: string): Pick<ReqResp, 'handle' | 'unhandle' | 'request'> {
    return endpointOf(this, self)
  }
}

function endpointOf (net: LoopNet, self: string): Pick<ReqResp, 'handle' | 'unhandle' | 'request'> {
  return {
    async handle<Req, Res> (def: UnaryProtocol<Req, Res>, handler: UnaryHandler<Req, Res>): Promise<void> {
      let mine = net.handlers.get(self)
      if (mine === undefined) net.handlers.set(self, mine = new Map())
      mine.set(def.id, handler as Handler)
    },
    async unhandle (id: string): Promise<void> {
      net.handlers.get(self)?.delete(id)
    },
    async request<Req, Res> (target: RequestTarget, def: UnaryProtocol<Req, Res>, request: Req, options: RequestOptions = {}): Promise<Res> {
      const to = String(target)
      net.sent.push({ from: self, to, type: (request as { type?: string }).type ?? '?' })
      const handler = net.down.has(to) ? undefined : net.handlers.get(to)?.get(def.id)
      if (handler === undefined) throw new AgoraError('E202', `cannot reach ${to} for ${def.id}`)
      const wire = def.request.parse(JSON.parse(JSON.stringify(request)))
      const context: HandlerContext = { peerId: self, remoteAddr: '/memory', signal: options.signal ?? new AbortController().signal }
      let answer: unknown
      try {
        answer = await handler(wire, context)
      } catch (err) {
        if (err instanceof AgoraError) throw new AgoraError(err.code, err.what, { ...(err.why === undefined ? {} : { why: err.why }), details: { remote: true, remoteCode: err.code } })
        throw new AgoraError('E207', `the remote failed to handle the ${def.id} request`, { details: { remote: true } })
      }
      return def.response.parse(JSON.parse(JSON.stringify(answer)))
    }
  }
}

export interface OfferInit {
  taskTypes?: string[]
  models?: string[]
  perTask?: string
  per1kCompletion?: string
  slotsIdle?: number
  slotsTotal?: number
}

export function offerOf (node: string, init: OfferInit = {}): Offer {
  return {
    id: `offer-${node.slice(-12)}`,
    node,
    models: (init.models ?? ['test-chat']).map(name => ({ name, provider: 'test', kind: 'chat' as const, contextLength: 4096 })),
    taskTypes: init.taskTypes ?? ['classify'],
    tags: [],
    capacity: { slotsTotal: init.slotsTotal ?? 4, slotsIdle: init.slotsIdle ?? Math.min(4, init.slotsTotal ?? 4) },
    prices: { perTask: init.perTask ?? '0.500000', per1kPromptTokens: '0.100000', per1kCompletionTokens: init.per1kCompletion ?? '0.200000', currency: OFFER_CURRENCY },
    zone: '',
    trustMode: 'public',
    policyHash: '',
    expiresAt: Date.now() + 3_600_000,
    lamport: 1
  }
}

/** Everything the nodes of a test see of offers. */
export class OfferBoard {
  readonly offers = new Map<string, Offer>()
  put (offer: Offer): Offer {
    this.offers.set(offer.id, offer)
    return offer
  }

  view (self: string): { local: () => Offer | undefined, get: (id: string) => Offer | undefined } {
    return {
      local: () => [...this.offers.values()].find(o => o.node === self),
      get: id => this.offers.get(id)
    }
  }
}

export interface MarketNode {
  identity: NodeIdentity
  peerId: string
  db: Database
  market: MarketService
  peerBook: PeerBook
  events: AgoraEvents
  metrics: Registry
  /** Events seen, in order: [name, payload]. */
  seen: Array<[AgoraEventName, unknown]>
  stop(): Promise<void>
}

export interface MarketNodeOptions {
  market?: MarketServiceInit
  identity?: NodeIdentity
  /** A database file (restart tests); in memory otherwise. */
  path?: string
}

const WATCHED: AgoraEventName[] = [
  'wallet:update', 'contract:proposed', 'contract:accepted', 'contract:rejected', 'contract:settled', 'contract:refunded',
  'contract:expired', 'contract:cancelled', 'payment:sent', 'payment:received', 'payment:refused'
]

export async function marketNode (net: LoopNet, board: OfferBoard, options: MarketNodeOptions = {}): Promise<MarketNode> {
  const identity = options.identity ?? await generateIdentity()
  const peerId = identity.peerIdString
  const db = new Database({ path: options.path ?? ':memory:' })
  const events = new AgoraEvents()
  const logger = silentLogger()
  const metrics = createRegistry({ defaultMetrics: false })
  const peerBook = new PeerBook({ peers: new PeersRepository(db), events, logger })
  const envelopes = new EnvelopeVerifier({ replay: new ReplayRepository(db) }, { selfPeerId: peerId })
  const market = new MarketService({
    db, identity, reqresp: net.endpoint(peerId), envelopes, peerBook, offers: board.view(peerId), events, logger, metrics
  }, { initialCredits: '1000', paymentEveryMs: 50, ...options.market })
  const seen: Array<[AgoraEventName, unknown]> = []
  for (const name of WATCHED) events.on(name, (payload: AgoraEventMap[typeof name]) => { seen.push([name, payload]) })
  await market.start()
  return {
    identity, peerId, db, market, peerBook, events, metrics, seen,
    stop: async () => {
      await market.stop()
      db.close()
    }
  }
}

/** Events of one name seen by a node. */
export function eventsOf<K extends AgoraEventName> (node: MarketNode, name: K): Array<AgoraEventMap[K]> {
  return node.seen.filter(([n]) => n === name).map(([, payload]) => payload as AgoraEventMap[K])
}

/** grant + earned − spent = available + held, on one node's wallet. */
export function walletBalances (node: MarketNode): boolean {
  const w = node.market.wallet()
  return w.grant + w.earned - w.spent === w.available + w.held && w.balance === w.available + w.held
}
