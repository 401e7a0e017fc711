/**
 * Minting invites inside the running node: only it holds the identity key
 * that signs them, and only it knows the addresses it listens on.
 */
import { AgoraError } from '../errors.ts'
import type { NodeIdentity } from '../identity/keys.ts'
import { readSwarmKey, swarmKeyHex } from '../p2p/swarm-key.ts'
import { bootstrapAddressProblem, isLoopbackAddress } from './bootstrap-address.ts'
import { signInvite } from './codec.ts'
import { DEFAULT_INVITE_TTL_MS, MAX_INVITE_ADDRESSES, MAX_INVITE_TTL_MS, MIN_INVITE_TTL_MS } from './constants.ts'

export interface InviteMinterComponents {
  identity: Pick<NodeIdentity, 'peerIdString' | 'sign'>
  /** The node's current addresses (listen or announce), each ending in /p2p/<peer id>. */
  addresses: () => string[]
}

export interface InviteMinterInit {
  /** network.psk: the swarm key file of a private network, '' on a public one. */
  pskFile?: string
}

export interface MintInviteRequest {
  expiresInMs?: number | undefined
  includePsk?: boolean | undefined
}

export interface MintedInvite {
  invite: string
  peerId: string
  addresses: string[]
  expiresAt: number
  includesPsk: boolean
  /** Only loopback addresses were there to put in: the invite works on this machine only. */
  loopbackOnly: boolean
}

export class InviteMinter {
  private readonly components: InviteMinterComponents
  private readonly pskFile: string

  constructor (components: InviteMinterComponents, init: InviteMinterInit = {}) {
    this.components = components
    this.pskFile = init.pskFile ?? ''
  }

  /** A signed invite; E1314 for a lifetime out of range, E1313 for --psk on a public network, E1317 with no dialable address. */
  mint (request: MintInviteRequest = {}, now: number = Date.now()): MintedInvite {
    const ttl = request.expiresInMs ?? DEFAULT_INVITE_TTL_MS
    if (!Number.isInteger(ttl) || ttl < MIN_INVITE_TTL_MS || ttl > MAX_INVITE_TTL_MS) {
      throw new AgoraError('E1314', `an invite cannot last ${ttl} ms`, { why: `it lasts from ${MIN_INVITE_TTL_MS} ms (1 minute) to ${MAX_INVITE_TTL_MS} ms (30 days)` })
    }
    const includePsk = request.includePsk === true
    if (includePsk && this.pskFile === '') {
      throw new AgoraError('E1313', 'this network is not private: there is no swarm key to put in the invite', { why: 'network.psk is empty, so the node speaks to any libp2p peer without a pre-shared key' })
    }
    const { addresses, loopbackOnly } = inviteAddresses(this.components.addresses())
    const expiresAt = now + ttl
    const psk = includePsk ? swarmKeyHex(readSwarmKey(this.pskFile)) : undefined
    const invite = signInvite(this.components.identity, { addresses, expiresAt, now, ...(psk === undefined ? {} : { psk }) })
    return { invite, peerId: this.components.identity.peerIdString, addresses, expiresAt, includesPsk: includePsk, loopbackOnly }
  }
}

/**
 * The addresses an invite carries: the dialable ones without loopback, as
 * other machines cannot use those — unless loopback is all there is (a node
 * listening on 127.0.0.1, as in tests), then those, and `loopbackOnly` says so.
 */
export function inviteAddresses (all: readonly string[]): { addresses: string[], loopbackOnly: boolean } {
  const dialable = [...new Set(all)].filter(address => bootstrapAddressProblem(address) === undefined)
  const outside = dialable.filter(address => !isLoopbackAddress(address))
  const chosen = outside.length > 0 ? outside : dialable
  if (chosen.length === 0) {
    throw new AgoraError('E1317', 'this node has no address to invite with', { why: all.length === 0 ? 'it listens on no address' : `none of its addresses can be dialled by a peer: ${all.join(', ')}` })
  }
  return { addresses: chosen.slice(0, MAX_INVITE_ADDRESSES), loopbackOnly: outside.length === 0 }
}
