/**
 * Keeps the node connected: records every peer it meets in the persisted
 * peer book, pings connected peers for latency, and tops the peer count up
 * to `target` from the book and libp2p's peer store, so a restarted node
 * finds its old peers again without bootstrap. Peers are counted with
 * `getPeers()` (a peer often has more than one connection).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { AgoraError, messageOf } from '../errors.ts'
import { PEER_MANAGER_DEFAULTS } from './constants.ts'
import { createPeerMetrics, type PeerMetrics } from './metrics.ts'
import type { AgoraEvents } from '../events.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { PeersRepository } from '../store/index.ts'
import type { IdentifyResult, Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Registry } from 'prom-client'

/** Told every ping result (the peer book: latency, uptime, reputation). */
export interface PingObserver {
  recordPing(peerId: string, ok: boolean, latencyMs?: number): void
}

export interface PeerManagerComponents {
  libp2p: Libp2p<{ ping: Ping }>
  peers: PeersRepository
  events: AgoraEvents
  logger: AgoraLogger
  metrics?: Registry | undefined
  /** When given, it records each ping's latency (the manager then does not, so the EWMA moves once). */
  pingObserver?: PingObserver | undefined
}

export interface PeerManagerInit {
  /** Peers to keep connected. */
  target?: number
  /** How often to top up to `target`. */
  reconnectIntervalMs?: number
  /** How often to ping every connected peer. */
  pingIntervalMs?: number
  dialTimeoutMs?: number
  pingTimeoutMs?: number
  /** Dials in flight at once while topping up. */
  dialConcurrency?: number
}

export interface ConnectedPeer {
  peerId: string
  /** Remote addresses of the open connections. */
  addresses: string[]
  /** Latency EWMA from the peer book (null until a ping answered). */
  latencyMs: number | null
}

interface Candidate {
  peerId: PeerId
  /** Addresses from the peer book, merged into the peer store before dialling. */
  multiaddrs: Multiaddr[]
}

export class PeerManager {
  private readonly libp2p: Libp2p<{ ping: Ping }>
  private readonly peers: PeersRepository
  private readonly events: AgoraEvents
  private readonly log: Logger
  private readonly metrics: PeerMetrics | undefined
  private readonly pingObserver: PingObserver | undefined
  private readonly init: Required<PeerManagerInit>
  private shutdown = new AbortController()
  private reconnectTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private toppingUp: Promise<number> | undefined
  private started = false

  constructor (components: PeerManagerComponents, init: PeerManagerInit = {}) {
    this.libp2p = components.libp2p
    this.peers = components.peers
    this.events = components.events
    this.log = components.logger.forComponent('agora:peer-manager')
    this.metrics = createPeerMetrics(components.metrics)
    this.pingObserver = components.pingObserver
    this.init = {
      target: init.target ?? PEER_MANAGER_DEFAULTS.target,
      reconnectIntervalMs: init.reconnectIntervalMs ?? PEER_MANAGER_DEFAULTS.reconnectIntervalMs,
      pingIntervalMs: init.pingIntervalMs ?? PEER_MANAGER_DEFAULTS.pingIntervalMs,
      dialTimeoutMs: init.dialTimeoutMs ?? PEER_MANAGER_DEFAULTS.dialTimeoutMs,
      pingTimeoutMs: init.pingTimeoutMs ?? PEER_MANAGER_DEFAULTS.pingTimeoutMs,
      dialConcurrency: init.dialConcurrency ?? PEER_MANAGER_DEFAULTS.dialConcurrency
    }
  }

  /** Listen to libp2p, load the peer book into the peer store, start the timers and a first top-up (not awaited). */
  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.libp2p.addEventListener('peer:connect', this.onConnect)
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.libp2p.addEventListener('peer:discovery', this.onDiscovery)
    await this.loadPeerBook()
    this.reconnectTimer = setInterval(() => { void this.topUp().catch(() => {}) }, this.init.reconnectIntervalMs)
    this.reconnectTimer.unref()
    this.schedulePing()
    void this.topUp().catch(() => {})
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.shutdown.abort(new AgoraError('E504', 'the peer manager is stopping'))
    clearInterval(this.reconnectTimer)
    clearTimeout(this.pingTimer)
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    await this.toppingUp?.catch(() => {})
  }

  connected (): ConnectedPeer[] {
    return this.libp2p.getPeers().map(peerId => ({
      peerId: peerId.toString(),
      addresses: this.libp2p.getConnections(peerId).map(connection => connection.remoteAddr.toString()),
      latencyMs: this.peers.get(peerId.toString())?.latencyMs ?? null
    }))
  }

  /** Ping a peer (dialling it if needed); records the latency and returns this round trip in ms. E204 on timeout, E202 when unreachable. */
  async ping (peer: string | PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    const peerId = typeof peer === 'string' ? parsePeerId(peer) : peer
    const timeout = AbortSignal.timeout(this.init.pingTimeoutMs)
    const signals = [timeout, this.shutdown.signal]
    if (options.signal !== undefined) signals.push(options.signal)
    let rtt: number
    try {
      rtt = await this.libp2p.services.ping.ping(peerId, { signal: AbortSignal.any(signals) })
    } catch (err) {
      // a ping we cancelled (caller or shutdown) says nothing about the peer
      const cancelled = options.signal?.aborted === true || this.shutdown.signal.aborted
      if (!cancelled) this.observePing(peerId.toString(), false)
      if (timeout.aborted) throw new AgoraError('E204', `ping to ${peerId.toString()} timed out`, { why: `no answer within ${this.init.pingTimeoutMs} ms`, cause: err })
      if (options.signal?.aborted === true) throw new AgoraError('E204', `ping to ${peerId.toString()} cancelled`, { why: 'cancelled by the caller', cause: err })
      throw new AgoraError('E202', `cannot ping ${peerId.toString()}`, { why: messageOf(err), cause: err })
    }
    let latencyMs: number
    if (this.pingObserver === undefined) {
      latencyMs = this.peers.recordLatency(peerId.toString(), rtt)
    } else {
      this.observePing(peerId.toString(), true, rtt)
      latencyMs = this.peers.get(peerId.toString())?.latencyMs ?? rtt
    }
    this.events.emit('peer:latency', { peerId: peerId.toString(), latencyMs })
    return rtt
  }

  /** Dial known peers until `target` are connected (one top-up at a time); resolves with the peer count. */
  async topUp (): Promise<number> {
    this.toppingUp ??= this.runTopUp().finally(() => { this.toppingUp = undefined })
    return await this.toppingUp
  }

  private async runTopUp (): Promise<number> {
    const count = (): number => this.libp2p.getPeers().length
    if (!this.started || count() >= this.init.target) return count()
    const candidates = await this.candidates()
    let next = 0
    const worker = async (): Promise<void> => {
      while (this.started && count() < this.init.target && next < candidates.length) {
        const { peerId, multiaddrs } = candidates[next++] as Candidate
        if (this.libp2p.getConnections(peerId).length > 0) continue
        try {
          if (multiaddrs.length > 0) await this.libp2p.peerStore.merge(peerId, { multiaddrs })
          await this.libp2p.dial(peerId, { signal: AbortSignal.any([AbortSignal.timeout(this.init.dialTimeoutMs), this.shutdown.signal]) })
          this.metrics?.dials.inc({ outcome: 'success' })
        } catch (err) {
          this.metrics?.dials.inc({ outcome: 'failure' })
          this.log.debug({ peerId: peerId.toString(), err: messageOf(err) }, 'dial to known peer failed')
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.init.dialConcurrency, candidates.length) }, worker))
    return count()
  }

  /** Peers worth dialling: the book's most recent first, then the rest of the peer store; never banned, self or connected ones. */
  private async candidates (): Promise<Candidate[]> {
    const self = this.libp2p.peerId.toString()
    const now = Date.now()
    const seen = new Set<string>([self])
    const result: Candidate[] = []
    const add = (peerId: PeerId, multiaddrs: Multiaddr[]): void => {
      const id = peerId.toString()
      if (seen.has(id)) return
      seen.add(id)
      const banned = this.peers.get(id)?.bannedUntil ?? null
      if (banned !== null && banned > now) return
      if (this.libp2p.getConnections(peerId).length > 0) return
      result.push({ peerId, multiaddrs })
    }
    for (const record of this.peers.list(PEER_MANAGER_DEFAULTS.maxKnownPeers)) {
      const multiaddrs = record.addresses.flatMap(address => parseAddress(address))
      if (multiaddrs.length === 0) continue
      try { add(peerIdFromString(record.peerId), multiaddrs) } catch { /* a corrupt row: skip it */ }
    }
    for (const peer of await this.libp2p.peerStore.all({ signal: this.shutdown.signal })) {
      if (peer.addresses.length > 0) add(peer.id, [])
    }
    return result
  }

  /** Put every usable address of the peer book into libp2p's peer store. */
  private async loadPeerBook (): Promise<void> {
    const self = this.libp2p.peerId.toString()
    const now = Date.now()
    let loaded = 0
    for (const record of this.peers.list(PEER_MANAGER_DEFAULTS.maxKnownPeers)) {
      if (record.peerId === self || (record.bannedUntil !== null && record.bannedUntil > now)) continue
      const multiaddrs = record.addresses.flatMap(address => parseAddress(address))
      if (multiaddrs.length === 0) continue
      try {
        await this.libp2p.peerStore.merge(peerIdFromString(record.peerId), { multiaddrs })
        loaded++
      } catch (err) {
        this.log.debug({ peerId: record.peerId, err: messageOf(err) }, 'skipping a peer book entry')
      }
    }
    this.log.debug({ loaded }, 'peer book loaded into the peer store')
  }

  private schedulePing (): void {
    this.pingTimer = setTimeout(() => {
      void this.pingAll().finally(() => { if (this.started) this.schedulePing() })
    }, this.init.pingIntervalMs)
    this.pingTimer.unref()
  }

  private async pingAll (): Promise<void> {
    const peers = this.libp2p.getPeers()
    let next = 0
    const worker = async (): Promise<void> => {
      while (this.started && next < peers.length) {
        const peerId = peers[next++] as PeerId
        await this.ping(peerId).catch(err => { this.log.debug({ peerId: peerId.toString(), err: messageOf(err) }, 'ping failed') })
      }
    }
    await Promise.all(Array.from({ length: Math.min(8, peers.length) }, worker))
  }

  private readonly onConnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail.toString()
    const connections = this.libp2p.getConnections(event.detail)
    // only addresses we dialled are worth keeping: an inbound remote address carries an ephemeral port
    const dialled = connections.filter(c => c.direction === 'outbound').map(c => withoutPeerId(c.remoteAddr, peerId))
    this.record(peerId, dialled)
    this.metrics?.connected.set(this.libp2p.getPeers().length)
    this.events.emit('peer:connected', { peerId, address: connections[0]?.remoteAddr.toString() })
  }

  /**
   * A peer just found (mDNS, bootstrap, DHT) is dialled now when we are below
   * `target`, not at the next top-up tick: a new LAN peer connects in seconds.
   */
  private readonly onDiscovery = (event: CustomEvent<PeerInfo>): void => {
    const { id: peerId, multiaddrs } = event.detail
    if (!this.started || peerId.equals(this.libp2p.peerId) || multiaddrs.length === 0) return
    const id = peerId.toString()
    // dials under way count toward the target: a burst of discoveries (a DHT walk) starts no more than it needs
    if (this.libp2p.getPeers().length + this.discoveryDials.size >= this.init.target || this.discoveryDials.has(id) || this.libp2p.getConnections(peerId).length > 0) return
    const banned = this.peers.get(id)?.bannedUntil ?? null
    if (banned !== null && banned > Date.now()) return
    this.discoveryDials.add(id)
    this.libp2p.dial(peerId, { signal: AbortSignal.any([AbortSignal.timeout(this.init.dialTimeoutMs), this.shutdown.signal]) }).then(
      () => { this.metrics?.dials.inc({ outcome: 'success' }) },
      (err: unknown) => {
        this.metrics?.dials.inc({ outcome: 'failure' })
        this.log.debug({ peerId: id, err: messageOf(err) }, 'dial to discovered peer failed')
      }).finally(() => { this.discoveryDials.delete(id) })
  }

  /** Peers being dialled because they were just discovered. */
  private readonly discoveryDials = new Set<string>()

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.metrics?.connected.set(this.libp2p.getPeers().length)
    this.events.emit('peer:disconnected', { peerId: event.detail.toString() })
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const peerId = event.detail.peerId.toString()
    this.record(peerId, event.detail.listenAddrs.map(address => withoutPeerId(address, peerId)))
    // a first latency figure right away, rather than one ping interval later
    if (this.started) void this.ping(event.detail.peerId).catch(err => { this.log.debug({ peerId, err: messageOf(err) }, 'first ping failed') })
  }

  private observePing (peerId: string, ok: boolean, latencyMs?: number): void {
    try {
      this.pingObserver?.recordPing(peerId, ok, latencyMs)
    } catch (err) {
      this.log.warn({ peerId, err: messageOf(err) }, 'the ping observer failed')
    }
  }

  private record (peerId: string, addresses: string[]): void {
    if (peerId === this.libp2p.peerId.toString()) return
    try {
      this.peers.seen(peerId, addresses)
    } catch (err) {
      this.log.warn({ peerId, err: messageOf(err) }, 'cannot record the peer in the peer book')
    }
  }
}

function parsePeerId (text: string): PeerId {
  try {
    return peerIdFromString(text)
  } catch (err) {
    throw new AgoraError('E200', `not a peer id: ${text}`, { why: messageOf(err), hint: 'a peer id looks like 12D3KooW…', cause: err })
  }
}

function parseAddress (text: string): Multiaddr[] {
  try {
    return [multiaddr(text)]
  } catch {
    return []
  }
}

/** The address without a trailing `/p2p/<peerId>` of that peer. */
function withoutPeerId (address: Multiaddr, peerId: string): string {
  const text = address.toString()
  const suffix = `/p2p/${peerId}`
  return text.endsWith(suffix) ? text.slice(0, -suffix.length) : text
}
