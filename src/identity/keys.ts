/**
 * The node key: Ed25519, kept at `<dataDir>/identity.key` as a PKCS#8 PEM with
 * mode 0600. The libp2p PeerId and the did:key come from the same key. The
 * key is made on first start and never replaced silently: a corrupt file is
 * an error (E100), an import over an existing key needs `force` (E102).
 */
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { AgoraError, messageOf } from '../errors.ts'
import { ED25519_KEY_BYTES, ED25519_PKCS8_PREFIX, IDENTITY_KEY_FILE } from './constants.ts'
import { didKeyFromPublicKey } from './did-key.ts'
import { ensureDataDir, readKeyFile, writeKeyFile } from './key-file.ts'

export interface NodeIdentity {
  /** The libp2p peer id of this key. */
  readonly peerId: PeerId
  /** `peerId.toString()` (base58btc, `12D3KooW…`). */
  readonly peerIdString: string
  /** `did:key:z6Mk…` of the same key. */
  readonly did: string
  /** The libp2p form of the key, for `createLibp2p({ privateKey })`. */
  readonly privateKey: Ed25519PrivateKey
  /** The 32-byte Ed25519 public key. */
  readonly publicKeyRaw: Uint8Array
  /** Ed25519 signature (64 bytes) of `data`. */
  sign(data: Uint8Array): Uint8Array
}

export interface ImportIdentityOptions {
  /** Replace an existing key (its peer id is lost unless exported). */
  force?: boolean
}

/** Path of the key file in a data dir. */
export function identityKeyPath (dataDir: string): string {
  return join(dataDir, IDENTITY_KEY_FILE)
}

/**
 * The node identity from `<dataDir>/identity.key`, created (with the data
 * dir, mode 0700) on first start. E100 when the file exists but cannot be used.
 */
export async function loadOrCreateIdentity (dataDir: string): Promise<NodeIdentity> {
  const path = identityKeyPath(dataDir)
  const existing = await readKeyFile(path)
  if (existing !== undefined) return identityFromStoredPem(existing, path)
  await ensureDataDir(dataDir)
  const keyObject = generateKeyPairSync('ed25519').privateKey
  const written = await writeKeyFile(path, pemOf(keyObject), { overwrite: false })
  if (written) return identityFromKeyObject(keyObject)
  // another process created it meanwhile: use theirs
  return await readIdentity(dataDir)
}

/** The node identity from `<dataDir>/identity.key`; E100 when missing or corrupt. */
export async function readIdentity (dataDir: string): Promise<NodeIdentity> {
  const path = identityKeyPath(dataDir)
  const pem = await readKeyFile(path)
  if (pem === undefined) {
    throw new AgoraError('E100', `no identity key at ${path}`, {
      why: 'the node has not been started with this data dir yet',
      hint: 'run `agora start` once to create one, or `agora identity import <file>`'
    })
  }
  return await identityFromStoredPem(pem, path)
}

/** A fresh identity that lives in memory only (tests, simulator). */
export async function generateIdentity (): Promise<NodeIdentity> {
  return await identityFromKeyObject(generateKeyPairSync('ed25519').privateKey)
}

/** The identity's private key as a PKCS#8 PEM (a secret: never log it). */
export function exportIdentityPem (identity: NodeIdentity): string {
  const seed = identity.privateKey.raw.subarray(0, ED25519_KEY_BYTES)
  const keyObject = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  return pemOf(keyObject)
}

/**
 * Store `pem` as the node key. E101 when it is not an Ed25519 private key PEM,
 * E102 when a key exists and `force` is not set. Returns the new identity.
 */
export async function importIdentityPem (dataDir: string, pem: string, options: ImportIdentityOptions = {}): Promise<NodeIdentity> {
  const parsed = parseEd25519Pem(pem)
  if (typeof parsed === 'string') {
    throw new AgoraError('E101', 'cannot import the identity key', { why: parsed })
  }
  await ensureDataDir(dataDir)
  const path = identityKeyPath(dataDir)
  const written = await writeKeyFile(path, pemOf(parsed), { overwrite: options.force === true })
  if (!written) {
    throw new AgoraError('E102', 'an identity key already exists', {
      why: `${path} is there; importing would change this node's peer id`,
      hint: 'pass --force to replace it (export the old one first with `agora identity export` to keep it)'
    })
  }
  return await identityFromKeyObject(parsed)
}

/** The identity of a PEM text, without storing it (to show its peer id before an import); E101 when it is not an Ed25519 key. */
export async function identityFromPem (pem: string): Promise<NodeIdentity> {
  const parsed = parseEd25519Pem(pem)
  if (typeof parsed === 'string') throw new AgoraError('E101', 'not an identity key', { why: parsed })
  return await identityFromKeyObject(parsed)
}

async function identityFromStoredPem (pem: string, path: string): Promise<NodeIdentity> {
  const parsed = parseEd25519Pem(pem)
  if (typeof parsed === 'string') {
    throw new AgoraError('E100', `the identity key ${path} is not usable`, { why: parsed })
  }
  return await identityFromKeyObject(parsed)
}

/** The private KeyObject, or the reason the text is not an Ed25519 private key PEM. */
function parseEd25519Pem (pem: string): KeyObject | string {
  if (!pem.includes('-----BEGIN')) return 'the text is not a PEM file (no -----BEGIN line)'
  let keyObject: KeyObject
  try {
    keyObject = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    return `not a readable private key PEM: ${messageOf(err)}`
  }
  if (keyObject.asymmetricKeyType !== 'ed25519') {
    return `it is a ${keyObject.asymmetricKeyType ?? 'unknown'} key; agora keys are Ed25519`
  }
  return keyObject
}

async function identityFromKeyObject (keyObject: KeyObject): Promise<NodeIdentity> {
  const jwk = keyObject.export({ format: 'jwk' })
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw new AgoraError('E100', 'cannot read the identity key', { why: 'the key has no Ed25519 seed' })
  }
  const seed = Buffer.from(jwk.d, 'base64url')
  const publicKeyRaw = new Uint8Array(Buffer.from(jwk.x, 'base64url'))
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
  seed.fill(0)
  if (!Buffer.from(privateKey.publicKey.raw).equals(publicKeyRaw)) {
    throw new AgoraError('E100', 'cannot read the identity key', { why: 'libp2p derived another public key from the seed' })
  }
  const peerId = peerIdFromPrivateKey(privateKey)
  return {
    peerId,
    peerIdString: peerId.toString(),
    did: didKeyFromPublicKey(publicKeyRaw),
    privateKey,
    publicKeyRaw,
    sign: (data: Uint8Array): Uint8Array => cryptoSign(null, data, keyObject)
  }
}

function pemOf (keyObject: KeyObject): string {
  return keyObject.export({ type: 'pkcs8', format: 'pem' }).toString()
}
