/** Stub components for OfferService unit tests: gossip, reqresp and libp2p in memory, a recording peer feedback. */
import { AgoraError } from '../../../src/errors.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { OfferService, type OfferServiceInit, type PeerFeedback } from '../../../src/offers/index.ts'
import { CapabilityRegistry, type Capacity, type CapabilitySource, type ModelCapability } from '../../../src/providers/registry.ts'
import { defaultConfig } from '../../../src/config/schema.ts'
import type { NodeIdentity } from '../../../src/identity/index.ts'
import type { GossipValidator, GossipVerdict } from '../../../src/p2p/index.ts'
import type { HandlerContext, ProtocolDef, UnaryHandler } from '../../../src/protocols/index.ts'
import type { Store } from '../../../src/store/index.ts'

export class FakeFeedback implements PeerFeedback {
  readonly calls: Array<[string, 'invalid' | 'success']> = []
  readonly banned = new Set<string>()
  record (peerId: string, outcome: 'invalid' | 'success'): void { this.calls.push([peerId, outcome]) }
  isBanned (peerId: string): boolean { return this.banned.has(peerId) }
  count (peerId: string, outcome: 'invalid' | 'success'): number { return this.calls.filter(c => c[0] === peerId && c[1] === outcome).length }
}

export class FakeGossip {
  readonly published: string[] = []
  validator: GossipValidator | undefined
  /** Throw E210 (nobody subscribed) on publish. */
  lonely = false
  async publish (_topic: string, data: Uint8Array): Promise<{ recipients: number }> {
    this.published.push(new TextDecoder().decode(data))
    if (this.lonely) throw new AgoraError('E210', 'nobody received the message')
    return { recipients: 1 }
  }

  subscribe (): () => void { return () => {} }
  validate (_topic: string, validator: GossipValidator): () => void {
    this.validator = validator
    return () => { this.validator = undefined }
  }

  /** Hand a message to the validator as gossipsub would. */
  async deliver (raw: string, from: string, propagationSource = from): Promise<GossipVerdict> {
    if (this.validator === undefined) throw new Error('no validator')
    return await this.validator({ topic: '/agora/offers/1', data: new TextEncoder().encode(raw), from, propagationSource })
  }

  kinds (): string[] {
    return this.published.map(raw => (JSON.parse(raw) as { kind: string }).kind)
  }
}

/** The fakes that can reach each other (peer id → fake): one per test, so no test talks to another's nodes. */
export class FakeNetwork {
  readonly members = new Map<string, FakeReqResp>()
}

/** A reqresp whose requests go straight to the handler another fake on its network registered. */
export class FakeReqResp {
  readonly handlers = new Map<string, UnaryHandler<unknown, unknown>>()
  readonly self: string
  private readonly network: FakeNetwork
  constructor (self: string, network: FakeNetwork) {
    this.self = self
    this.network = network
    network.members.set(self, this)
  }

  async handle<Req, Res> (def: ProtocolDef<Req, Res>, handler: UnaryHandler<Req, Res>): Promise<void> {
    this.handlers.set(def.id, handler as UnaryHandler<unknown, unknown>)
  }

  async unhandle (id: string): Promise<void> { this.handlers.delete(id) }
  async request<Req, Res> (target: unknown, def: ProtocolDef<Req, Res>, request: Req): Promise<Res> {
    const handler = this.network.members.get(String(target))?.handlers.get(def.id)
    if (handler === undefined) throw new AgoraError('E207', 'not served')
    const context: HandlerContext = { peerId: this.self, remoteAddr: '/ip4/127.0.0.1/tcp/1', signal: new AbortController().signal }
    // through JSON and the schemas, as on the wire
    const parsed = def.request.parse(JSON.parse(JSON.stringify(request)))
    return def.response.parse(JSON.parse(JSON.stringify(await handler(parsed, context))))
  }
}

export class FakeSource implements CapabilitySource {
  readonly id: string
  modelList: ModelCapability[]
  tasks: string[]
  slots: Capacity
  constructor (id = 'fake', init: { models?: ModelCapability[], tasks?: string[], slots?: Capacity } = {}) {
    this.id = id
    this.modelList = init.models ?? [{ name: 'fake-chat', provider: id, kind: 'chat', contextLength: 2048 }]
    this.tasks = init.tasks ?? ['classify']
    this.slots = init.slots ?? { slotsTotal: 2, slotsIdle: 2 }
  }

  models (): ModelCapability[] { return this.modelList }
  taskTypes (): string[] { return this.tasks }
  capacity (): Capacity { return this.slots }
  tags (): string[] { return ['test'] }
}

export interface FakeNode {
  service: OfferService
  gossip: FakeGossip
  reqresp: FakeReqResp
  feedback: FakeFeedback
  events: AgoraEvents
  registry: CapabilityRegistry
  source: FakeSource
  provided: string[]
  /** Peer ids the fake libp2p says we are connected to. */
  peers: string[]
}

export function offersInit (overrides: Partial<OfferServiceInit> = {}): OfferServiceInit {
  return {
    ...defaultConfig().offers,
    zone: 'test',
    trustMode: 'public',
    changeDebounceMs: 20,
    // announcements are spaced by 60 s / perOriginPerMinute: keep that short in tests
    perOriginPerMinute: 6000,
    pruneIntervalMs: 20,
    flushIntervalMs: 0,
    ...overrides
  }
}

/** A node on its own network unless given one (nodes that sync with each other share a network). */
export function fakeNode (identity: NodeIdentity, store: Store, init: Partial<OfferServiceInit> = {}, source = new FakeSource(), network = new FakeNetwork()): FakeNode {
  const gossip = new FakeGossip()
  const reqresp = new FakeReqResp(identity.peerIdString, network)
  const feedback = new FakeFeedback()
  const events = new AgoraEvents()
  const registry = new CapabilityRegistry()
  registry.register(source)
  const provided: string[] = []
  const peers: string[] = []
  const target = new EventTarget()
  const libp2p = {
    addEventListener: target.addEventListener.bind(target),
    removeEventListener: target.removeEventListener.bind(target),
    getPeers: () => peers.map(peer => ({ toString: () => peer })),
    contentRouting: {
      provide: async (cid: { toString: () => string }) => { provided.push(cid.toString()) },
      cancelReprovide: async () => {},
      findProviders: async function * () {},
      put: async () => {},
      get: async () => new Uint8Array()
    }
  }
  const service = new OfferService({
    identity, store, gossip, reqresp, registry, events, peerFeedback: feedback, logger: silentLogger(),
    libp2p: libp2p as unknown as ConstructorParameters<typeof OfferService>[0]['libp2p']
  }, offersInit(init))
  return { service, gossip, reqresp, feedback, events, registry, source, provided, peers }
}
