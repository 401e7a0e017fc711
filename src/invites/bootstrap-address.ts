/**
 * A bootstrap peer's address: a multiaddr that ends in /p2p/<peer id>, so a
 * node knows whom it dials. Checked the same way for `agora bootstrap add`,
 * the addresses an invite carries and the node's own addresses it invites with.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgoraError, messageOf } from '../errors.ts'

export interface BootstrapAddress {
  /** The address as given, trimmed. */
  address: string
  /** The peer id of its last /p2p/ component. */
  peerId: string
}

/** Why `address` is not a bootstrap address, or undefined when it is one. */
export function bootstrapAddressProblem (address: string): string | undefined {
  let components: Array<{ name: string, value?: string }>
  try {
    components = multiaddr(address).getComponents()
  } catch (err) {
    return `not a multiaddr: ${messageOf(err)}`
  }
  const last = components.at(-1)
  if (last?.name !== 'p2p' || last.value === undefined) return 'it does not end in /p2p/<peer id>'
  if (components.length < 2) return 'it names a peer but no address to dial it at'
  try {
    peerIdFromString(last.value)
  } catch (err) {
    return `its peer id ${last.value} is not one: ${messageOf(err)}`
  }
  return undefined
}

/** Parse a bootstrap address; E1315 saying what is wrong. */
export function parseBootstrapAddress (raw: string): BootstrapAddress {
  const address = raw.trim()
  const problem = bootstrapAddressProblem(address)
  if (problem !== undefined) throw new AgoraError('E1315', `'${address.slice(0, 200)}' is not a bootstrap address`, { why: problem })
  return { address, peerId: peerIdOf(address) }
}

/** The peer id an address ends with (the caller checked it is a bootstrap address). */
export function peerIdOf (address: string): string {
  return multiaddr(address).getComponents().at(-1)?.value ?? ''
}

/** Whether an address is a loopback one (127.0.0.0/8, ::1, localhost): reachable from this machine only. */
export function isLoopbackAddress (address: string): boolean {
  const first = multiaddr(address).getComponents()[0]
  if (first === undefined) return false
  if (first.name === 'ip4') return first.value?.startsWith('127.') === true
  if (first.name === 'ip6') return first.value === '::1'
  if (first.name === 'dns' || first.name === 'dns4' || first.name === 'dns6') return first.value === 'localhost'
  return false
}
