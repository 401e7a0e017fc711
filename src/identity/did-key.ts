/**
 * `did:key` for Ed25519 keys: `did:key:z` + base58btc(0xed 0x01 + raw key).
 * Every Ed25519 did:key starts with `did:key:z6Mk`.
 */
import { base58btc } from 'multiformats/bases/base58'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgoraError, messageOf } from '../errors.ts'
import { DID_KEY_PREFIX, ED25519_KEY_BYTES, ED25519_PUB_MULTICODEC } from './constants.ts'

export function didKeyFromPublicKey (raw: Uint8Array): string {
  if (raw.byteLength !== ED25519_KEY_BYTES) {
    throw new AgoraError('E103', 'cannot make a did:key', { why: `an Ed25519 public key has ${ED25519_KEY_BYTES} bytes, got ${raw.byteLength}` })
  }
  const bytes = new Uint8Array(ED25519_PUB_MULTICODEC.byteLength + raw.byteLength)
  bytes.set(ED25519_PUB_MULTICODEC, 0)
  bytes.set(raw, ED25519_PUB_MULTICODEC.byteLength)
  return DID_KEY_PREFIX + base58btc.encode(bytes)
}

/** The raw 32-byte Ed25519 public key of a did:key; E103 when it is not one. */
export function publicKeyFromDidKey (did: string): Uint8Array {
  if (!did.startsWith(DID_KEY_PREFIX)) {
    throw new AgoraError('E103', `not a did:key: ${shorten(did)}`, { why: `it does not start with ${DID_KEY_PREFIX}` })
  }
  let bytes: Uint8Array
  try {
    bytes = base58btc.decode(did.slice(DID_KEY_PREFIX.length))
  } catch (err) {
    throw new AgoraError('E103', `not a did:key: ${shorten(did)}`, { why: messageOf(err), cause: err })
  }
  const [codec0, codec1] = ED25519_PUB_MULTICODEC
  if (bytes.byteLength !== ED25519_PUB_MULTICODEC.byteLength + ED25519_KEY_BYTES || bytes[0] !== codec0 || bytes[1] !== codec1) {
    throw new AgoraError('E103', `not an Ed25519 did:key: ${shorten(did)}`, { why: 'expected the ed25519-pub multicodec (0xed01) and a 32-byte key' })
  }
  return bytes.slice(ED25519_PUB_MULTICODEC.byteLength)
}

/** The did:key of an Ed25519 peer id string. */
export function didKeyFromPeerId (peerId: string): string {
  let raw: Uint8Array | undefined
  try {
    const parsed = peerIdFromString(peerId)
    raw = parsed.type === 'Ed25519' ? parsed.publicKey.raw : undefined
  } catch (err) {
    throw new AgoraError('E103', `cannot make a did:key from ${shorten(peerId)}`, { why: messageOf(err), cause: err })
  }
  if (raw === undefined) {
    throw new AgoraError('E103', `cannot make a did:key from ${shorten(peerId)}`, { why: 'it is not an Ed25519 peer id' })
  }
  return didKeyFromPublicKey(raw)
}

function shorten (text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text
}
