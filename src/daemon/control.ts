/**
 * The node's answers to the control API: status, identity and peers,
 * implemented over libp2p, the peer manager and the peer book.
 */
import { multiaddr as parseMultiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { AgoraError, messageOf } from '../errors.ts'
import type { ControlPlane } from '../api/control-plane.ts'
import type { StatusResponse, PeerEntry, IdentityResponse } from '../client/schemas.ts'
import type { NodeIdentity } from '../identity/index.ts'
import type { AgoraLibp2p, PeerManager } from '../p2p/index.ts'
import type { PeersRepository } from '../store/index.ts'
import { VERSION } from '../version.ts'

export interface NodeControlComponents {
  identity: NodeIdentity
  libp2p: AgoraLibp2p
  peerManager: PeerManager
  peers: PeersRepository
}

export interface NodeControlInit {
  dataDir: string
  name: string
  startedAt: number
  apiUrl: () => string
  ready: () => boolean
  requestStop: (reason: string) => void
}

export class NodeControl implements ControlPlane {
  private readonly components: NodeControlComponents
  private readonly init: NodeControlInit

  constructor (components: NodeControlComponents, init: NodeControlInit) {
    this.components = components
    this.init = init
  }

  status (): StatusResponse {
    const { libp2p, identity, peers } = this.components
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
      knownPeers: peers.count()
    }
  }

  identity (): IdentityResponse {
    const { identity } = this.components
    return { peerId: identity.peerIdString, did: identity.did, publicKey: Buffer.from(identity.publicKeyRaw).toString('base64') }
  }

  peers (): PeerEntry[] {
    const { libp2p, peers } = this.components
    const connected = new Map(libp2p.getPeers().map(p => [p.toString(), p]))
    const entries: PeerEntry[] = []
    for (const record of peers.list()) {
      const isConnected = connected.delete(record.peerId)
      entries.push({ peerId: record.peerId, addresses: isConnected ? this.remoteAddrs(record.peerId, record.addresses) : record.addresses, latencyMs: record.latencyMs, connected: isConnected, lastSeen: record.lastSeen })
    }
    // connected but not yet in the book (the book records on connect; this covers the race)
    for (const id of connected.keys()) entries.push({ peerId: id, addresses: this.remoteAddrs(id, []), latencyMs: null, connected: true, lastSeen: null })
    return entries
  }

  async connect (address: string, opts: { signal?: AbortSignal }): Promise<{ peerId: string, addresses: string[] }> {
    const ma = toMultiaddr(address)
    try {
      const connection = await this.components.libp2p.dial(ma, { signal: opts.signal })
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

  ready (): boolean { return this.init.ready() }

  requestStop (reason: string): void { this.init.requestStop(reason) }

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
