/**
 * The node's answers to the control API: status, identity and peers,
 * implemented over libp2p, the peer manager and the peer book.
 */
import { multiaddr as parseMultiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { AgoraError, messageOf } from '../errors.ts'
import { formatCredits } from '../market/amount.ts'
import type { ControlPlane } from '../api/control-plane.ts'
import type { Registry } from 'prom-client'
import { statusDetail } from './status-detail.ts'
import type { StatusDetail, StatusResponse, PeerEntry, IdentityResponse, OffersQuery, ModelEntry, RequestsQuery, ProviderEntry, AddProviderSpec } from '../client/schemas.ts'
import type { TrustMode } from '../api/control-plane.ts'
import type { Metering, RequestRecord } from '../gateway/index.ts'
import type { AccessControl } from '../gateway/access/index.ts'
import type { ProviderManager, ProviderInfo } from '../providers/index.ts'
import type { NodeIdentity } from '../identity/index.ts'
import type { AgoraLibp2p, PeerManager } from '../p2p/index.ts'
import type { PeerBook, PeerView } from '../peers/index.ts'
import type { Offer, OfferService } from '../offers/index.ts'
import { peerIdSchema } from '../offers/schema.ts'
import { VERSION } from '../version.ts'

export interface NodeControlComponents {
  identity: NodeIdentity
  libp2p: AgoraLibp2p
  peerManager: PeerManager
  peerBook: PeerBook
  offers: OfferService
  metering: Pick<Metering, 'list' | 'get'>
  providers: ProviderManager
  access: Pick<AccessControl, 'trustMode' | 'setTrustMode'>
  metrics: Registry
}

export interface NodeControlInit {
  dataDir: string
  name: string
  startedAt: number
  apiUrl: () => string
  ready: () => boolean
  requestStop: (reason: string) => void
  /** network.connections.maxConnections, shown against the connections in use. */
  maxConnections: number
}

export class NodeControl implements ControlPlane {
  private readonly components: NodeControlComponents
  private readonly init: NodeControlInit

  constructor (components: NodeControlComponents, init: NodeControlInit) {
    this.components = components
    this.init = init
  }

  status (): StatusResponse {
    const { libp2p, identity, peerBook } = this.components
    return {
      peerId: identity.peerIdString,
      did: identity.did,
      name: this.init.name === '' ? identity.peerIdString.slice(-8) : this.init.name,
      version: VERSION,
      pid: process.pid,
      dataDir: this.init.dataDir,
      apiUrl: this.init.apiUrl(),
      startedAt: this.init.startedAt,
      uptimeMs: Date.now() - this.init.startedAt,
      addresses: libp2p.getMultiaddrs().map(ma => ma.toString()),
      peers: libp2p.getPeers().length,
      connections: libp2p.getConnections().length,
      knownPeers: peerBook.count()
    }
  }

  async statusDetail (): Promise<StatusDetail> {
    return await statusDetail(this.components.libp2p, this.components.metrics, this.init.maxConnections)
  }

  async removePeer (peerId: string): Promise<boolean> {
    const id = toPeerId(peerId)
    const { libp2p, peerBook } = this.components
    // the ban check comes first: a refused removal must leave the peer as it was
    const inBook = peerBook.remove(id.toString())
    await libp2p.hangUp(id)
    const inStore = await libp2p.peerStore.has(id)
    if (inStore) await libp2p.peerStore.delete(id)
    return inBook || inStore
  }

  identity (): IdentityResponse {
    const { identity } = this.components
    return { peerId: identity.peerIdString, did: identity.did, publicKey: Buffer.from(identity.publicKeyRaw).toString('base64') }
  }

  peers (): PeerEntry[] {
    const { libp2p, peerBook } = this.components
    const connected = new Set(libp2p.getPeers().map(p => p.toString()))
    const entries = peerBook.list().map(view => this.entry(view, connected.has(view.peerId)))
    // connected but not yet in the book (the book records on connect; this covers the race)
    const listed = new Set(entries.map(e => e.peerId))
    for (const id of connected) {
      if (listed.has(id)) continue
      entries.push({ peerId: id, addresses: this.remoteAddrs(id, []), latencyMs: null, connected: true, lastSeen: null, reputation: peerBook.reputation(id), uptime: null, successes: 0, failures: 0, timeouts: 0, trusted: false, bannedUntil: null, banReason: null })
    }
    return entries
  }

  trust (peerId: string): PeerEntry {
    this.components.peerBook.trust(toPeerId(peerId).toString())
    return this.peer(peerId)
  }

  untrust (peerId: string): PeerEntry {
    this.components.peerBook.untrust(toPeerId(peerId).toString())
    return this.peer(peerId)
  }

  async ban (peerId: string, opts: { reason?: string | undefined, durationMs?: number | undefined }): Promise<PeerEntry> {
    const id = toPeerId(peerId).toString()
    this.components.peerBook.ban(id, { reason: opts.reason ?? 'banned by the operator', ...(opts.durationMs === undefined ? {} : { durationMs: opts.durationMs }) })
    return this.peer(id)
  }

  unban (peerId: string): PeerEntry {
    this.components.peerBook.unban(toPeerId(peerId).toString())
    return this.peer(peerId)
  }

  offers (query: OffersQuery): Offer[] {
    return this.components.offers.list(query)
  }

  localOffer (): Offer {
    const offer = this.components.offers.local()
    if (offer === undefined) throw new AgoraError('E505', 'this node has no live offer', { why: 'it was withdrawn, or nothing is registered to offer', hint: 'announce it again with `agora offers announce`' })
    return offer
  }

  offer (id: string): Offer {
    const offer = this.components.offers.get(id)
    if (offer === undefined) throw new AgoraError('E505', `no live offer '${id}'`, { why: 'unknown, expired or withdrawn', hint: 'see `agora offers list`' })
    return offer
  }

  async withdraw (): Promise<{ withdrawn: boolean, offerId: string | null }> {
    return await this.components.offers.withdraw()
  }

  async announce (): Promise<Offer> {
    return await this.components.offers.announce()
  }

  models (): ModelEntry[] {
    const { offers, peerBook, identity } = this.components
    const latencyOf = (peerId: string): number | null => peerId === identity.peerIdString ? 0 : peerBook.view(peerId)?.latencyMs ?? null
    return offers.models().map(model => {
      const latencies = model.servedBy.map(latencyOf).filter((l): l is number => l !== null)
      return {
        name: model.name,
        kind: model.kind,
        nodes: model.nodes,
        bestPrice: formatCredits(model.bestPrice),
        bestLatencyMs: latencies.length === 0 ? null : Math.min(...latencies),
        servedBy: model.servedBy
      }
    })
  }

  async connect (address: string, opts: { signal?: AbortSignal }): Promise<{ peerId: string, addresses: string[] }> {
    // a bare peer id: its addresses come from the peer book or the DHT (libp2p's peer routing)
    const byId = peerIdSchema.safeParse(address).success
    const target = byId ? toPeerId(address) : toMultiaddr(address)
    try {
      // force: an address given is dialled even when the peer is connected already (else libp2p hands back the old connection)
      const connection = await this.components.libp2p.dial(target, { signal: opts.signal, force: !byId })
      const peerId = connection.remotePeer.toString()
      return { peerId, addresses: this.remoteAddrs(peerId, [connection.remoteAddr.toString()]) }
    } catch (err) {
      throw new AgoraError('E202', `could not connect to ${address}`, { why: messageOf(err), cause: err })
    }
  }

  async disconnect (peerId: string): Promise<boolean> {
    const id = toPeerId(peerId)
    const wasConnected = this.components.libp2p.getConnections(id).length > 0
    await this.components.libp2p.hangUp(id)
    return wasConnected
  }

  async ping (peerId: string, opts: { signal?: AbortSignal }): Promise<number> {
    const id = toPeerId(peerId)
    if (this.components.libp2p.getConnections(id).length === 0) throw new AgoraError('E203', `not connected to ${peerId}`)
    return await this.components.peerManager.ping(id, opts)
  }

  requests (query: RequestsQuery): RequestRecord[] {
    return this.components.metering.list(query)
  }

  request (id: string): RequestRecord {
    const record = this.components.metering.get(id)
    if (record === undefined) throw new AgoraError('E505', `no request '${id}'`, { hint: 'see `agora requests list`' })
    return record
  }

  providers (): ProviderEntry[] {
    return this.components.providers.list().map(providerEntry)
  }

  async addProvider (spec: AddProviderSpec): Promise<ProviderEntry> {
    return providerEntry(await this.components.providers.add(spec))
  }

  async removeProvider (name: string): Promise<boolean> {
    await this.components.providers.remove(name)
    return true
  }

  async testProvider (name: string): Promise<ProviderEntry> {
    const result = await this.components.providers.test(name)
    const info = this.components.providers.list().find(p => p.name === name)
    if (info === undefined) throw new AgoraError('E505', `no provider '${name}'`, { hint: 'see `agora providers list`' })
    return providerEntry({ ...info, health: result.health, models: result.models })
  }

  trustMode (): TrustMode {
    return this.components.access.trustMode()
  }

  setTrustMode (mode: TrustMode): TrustMode {
    this.components.access.setTrustMode(mode)
    this.components.offers.setTrustMode(mode)
    return this.components.access.trustMode()
  }

  ready (): boolean { return this.init.ready() }

  requestStop (reason: string): void { this.init.requestStop(reason) }

  /** One peer as the API shows it; E505 when the book does not know it. */
  private peer (peerId: string): PeerEntry {
    const view = this.components.peerBook.view(peerId)
    if (view === undefined) throw new AgoraError('E505', `unknown peer ${peerId}`, { hint: 'see `agora peers list --all`' })
    const connected = this.components.libp2p.getConnections(toPeerId(peerId)).length > 0
    return this.entry(view, connected)
  }

  private entry (view: PeerView, connected: boolean): PeerEntry {
    return {
      peerId: view.peerId,
      // where it listens (identify told us): an inbound connection's address is an ephemeral port nobody can dial
      addresses: view.addresses.length > 0 ? view.addresses : connected ? this.remoteAddrs(view.peerId, []) : [],
      latencyMs: view.latencyMs,
      connected,
      lastSeen: view.lastSeen,
      reputation: view.reputation,
      uptime: view.uptime,
      successes: view.successes,
      failures: view.failures,
      timeouts: view.timeouts,
      trusted: view.trusted,
      bannedUntil: view.banned ? view.bannedUntil : null,
      banReason: view.banned ? view.banReason : null
    }
  }

  private remoteAddrs (peerId: string, fallback: string[]): string[] {
    const conns = this.components.libp2p.getConnections(peerIdFromString(peerId))
    const addrs = conns.map(c => c.remoteAddr.toString())
    return addrs.length > 0 ? [...new Set(addrs)] : fallback
  }
}

/** Parse a user-given multiaddr; E200 with a valid example when it is not one. */
export function toMultiaddr (address: string): Multiaddr {
  try {
    return parseMultiaddr(address)
  } catch (err) {
    throw new AgoraError('E200', `'${address}' is not a valid multiaddr`, { why: messageOf(err) })
  }
}

export function toPeerId (peerId: string): PeerId {
  try {
    return peerIdFromString(peerId)
  } catch (err) {
    throw new AgoraError('E220', `'${peerId}' is not a peer id`, { why: messageOf(err) })
  }
}

function providerEntry (info: ProviderInfo): ProviderEntry {
  return {
    name: info.name,
    kind: info.kind,
    url: info.url,
    source: info.source,
    health: { status: info.health.status, checkedAt: info.health.checkedAt, ...(info.health.lastError === undefined ? {} : { lastError: info.health.lastError }) },
    models: info.models.map(m => m.name)
  }
}
