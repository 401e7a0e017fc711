/**
 * Verification keys for peer ids. Building a node:crypto KeyObject is the
 * expensive part of a verify, so keys are cached per peer id in a bounded map
 * (least recently used entry dropped first).
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgoraError, messageOf } from '../errors.ts'
import { ED25519_KEY_BYTES, ED25519_SPKI_PREFIX, PUBLIC_KEY_CACHE_SIZE } from './constants.ts'

const cache = new Map<string, KeyObject>()

/** A node:crypto public KeyObject for a raw 32-byte Ed25519 key. */
export function publicKeyObjectFromRaw (raw: Uint8Array): KeyObject {
  if (raw.byteLength !== ED25519_KEY_BYTES) {
    throw new TypeError(`an Ed25519 public key has ${ED25519_KEY_BYTES} bytes, got ${raw.byteLength}`)
  }
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

/**
 * The verification key of an Ed25519 peer id string, from the cache when it
 * is there. E110 when the string is not an Ed25519 peer id.
 */
export function peerIdToPublicKey (peerId: string): KeyObject {
  const cached = cache.get(peerId)
  if (cached !== undefined) {
    // refresh its place so the busiest peers stay cached
    cache.delete(peerId)
    cache.set(peerId, cached)
    return cached
  }
  const key = publicKeyObjectFromRaw(ed25519RawFromPeerId(peerId))
  if (cache.size >= PUBLIC_KEY_CACHE_SIZE) {
    const oldest = cache.keys().next()
    if (oldest.done !== true) cache.delete(oldest.value)
  }
  cache.set(peerId, key)
  return key
}

/** Entries in the key cache (for tests and metrics). */
export function publicKeyCacheSize (): number {
  return cache.size
}

function ed25519RawFromPeerId (peerId: string): Uint8Array {
  let raw: Uint8Array | undefined
  try {
    const parsed = peerIdFromString(peerId)
    raw = parsed.type === 'Ed25519' ? parsed.publicKey.raw : undefined
  } catch (err) {
    throw new AgoraError('E110', `invalid peer id: ${peerId.slice(0, 80)}`, { why: messageOf(err), cause: err })
  }
  if (raw === undefined) {
    throw new AgoraError('E110', `not an Ed25519 peer id: ${peerId.slice(0, 80)}`, { why: 'agora nodes sign with Ed25519 keys only' })
  }
  return raw
}
