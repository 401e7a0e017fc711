import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, createPrivateKey, createPublicKey, verify } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base58btc } from 'multiformats/bases/base58'
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import {
  loadOrCreateIdentity, readIdentity, exportIdentityPem, importIdentityPem, generateIdentity,
  didKeyFromPublicKey, publicKeyFromDidKey, didKeyFromPeerId, peerIdToPublicKey, identityKeyPath
} from '../../../src/identity/index.ts'
import { isAgoraError, type ErrorCode } from '../../../src/errors.ts'

async function rejectsWith (promise: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  await assert.rejects(async () => { await (typeof promise === 'function' ? promise() : promise) }, (err: unknown) => {
    assert.ok(isAgoraError(err), `expected an AgoraError, got ${String(err)}`)
    assert.equal(err.code, code)
    return true
  })
}

describe('identity keys', () => {
  let root: string
  let n = 0
  const freshDir = (): string => join(root, `node-${n++}`)
  before(() => { root = mkdtempSync(join(tmpdir(), 'agora-')) })
  after(() => { rmSync(root, { recursive: true, force: true }) })

  test('creates the key with mode 0600 in a new 0700 dir, and loads the same peer id again', async () => {
    const dataDir = join(freshDir(), 'nested', 'data')
    const first = await loadOrCreateIdentity(dataDir)
    assert.equal(statSync(identityKeyPath(dataDir)).mode & 0o777, 0o600)
    assert.equal(statSync(dataDir).mode & 0o777, 0o700)
    assert.match(readFileSync(identityKeyPath(dataDir), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/)
    const second = await loadOrCreateIdentity(dataDir)
    const third = await readIdentity(dataDir)
    assert.equal(second.peerIdString, first.peerIdString)
    assert.equal(third.peerIdString, first.peerIdString)
    assert.equal(third.did, first.did)
    assert.deepEqual(readdirSync(dataDir), ['identity.key'], 'no temp files are left behind')
  })

  test('concurrent first starts agree on one key', async () => {
    const dataDir = freshDir()
    const ids = await Promise.all([1, 2, 3, 4].map(async () => await loadOrCreateIdentity(dataDir)))
    assert.equal(new Set(ids.map(id => id.peerIdString)).size, 1)
    assert.equal((await readIdentity(dataDir)).peerIdString, ids[0]?.peerIdString)
    assert.deepEqual(readdirSync(dataDir), ['identity.key'])
  })

  test('a key file readable by others is narrowed to 0600', async () => {
    const dataDir = freshDir()
    const created = await loadOrCreateIdentity(dataDir)
    chmodSync(identityKeyPath(dataDir), 0o644)
    const loaded = await loadOrCreateIdentity(dataDir)
    assert.equal(loaded.peerIdString, created.peerIdString)
    assert.equal(statSync(identityKeyPath(dataDir)).mode & 0o777, 0o600)
  })

  test('a corrupt key file is E100 and stays untouched', async () => {
    const dataDir = freshDir()
    await loadOrCreateIdentity(dataDir)
    const path = identityKeyPath(dataDir)
    const corrupt = '-----BEGIN PRIVATE KEY-----\nnot base64 at all!!\n-----END PRIVATE KEY-----\n'
    writeFileSync(path, corrupt, { mode: 0o600 })
    const before = statSync(path)
    await rejectsWith(loadOrCreateIdentity(dataDir), 'E100')
    await rejectsWith(readIdentity(dataDir), 'E100')
    assert.equal(readFileSync(path, 'utf8'), corrupt)
    assert.equal(statSync(path).mtimeMs, before.mtimeMs)
    assert.equal(statSync(path).ino, before.ino)
  })

  test('a key file holding another key type is E100', async () => {
    const dataDir = freshDir()
    await loadOrCreateIdentity(dataDir)
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    writeFileSync(identityKeyPath(dataDir), rsa, { mode: 0o600 })
    await rejectsWith(loadOrCreateIdentity(dataDir), 'E100')
    assert.equal(readFileSync(identityKeyPath(dataDir), 'utf8'), rsa)
  })

  test('readIdentity does not create a key: E100 when missing', async () => {
    const dataDir = freshDir()
    await rejectsWith(readIdentity(dataDir), 'E100')
    assert.throws(() => statSync(dataDir), /ENOENT/)
  })

  test('export then import elsewhere keeps the peer id', async () => {
    const source = await loadOrCreateIdentity(freshDir())
    const pem = exportIdentityPem(source)
    assert.equal(pem, readFileSync(identityKeyPath(join(root, `node-${n - 1}`)), 'utf8'))
    const target = freshDir()
    const imported = await importIdentityPem(target, pem)
    assert.equal(imported.peerIdString, source.peerIdString)
    assert.equal((await readIdentity(target)).peerIdString, source.peerIdString)
    assert.equal(statSync(identityKeyPath(target)).mode & 0o777, 0o600)
  })

  test('importing garbage, a non-Ed25519 key or a public key is E101', async () => {
    const dataDir = freshDir()
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const edPublic = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()
    for (const pem of ['hello', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', rsa, ec, edPublic]) {
      await rejectsWith(importIdentityPem(dataDir, pem), 'E101')
    }
    assert.throws(() => statSync(identityKeyPath(dataDir)), /ENOENT/)
  })

  test('importing over an existing key needs force (E102)', async () => {
    const dataDir = freshDir()
    const existing = await loadOrCreateIdentity(dataDir)
    const before = readFileSync(identityKeyPath(dataDir), 'utf8')
    const other = exportIdentityPem(await generateIdentity())
    await rejectsWith(importIdentityPem(dataDir, other), 'E102')
    assert.equal(readFileSync(identityKeyPath(dataDir), 'utf8'), before)
    assert.equal((await readIdentity(dataDir)).peerIdString, existing.peerIdString)
    const replaced = await importIdentityPem(dataDir, other, { force: true })
    assert.notEqual(replaced.peerIdString, existing.peerIdString)
    assert.equal((await readIdentity(dataDir)).peerIdString, replaced.peerIdString)
    assert.equal(statSync(identityKeyPath(dataDir)).mode & 0o777, 0o600)
    assert.deepEqual(readdirSync(dataDir), ['identity.key'])
  })

  test('the peer id is the one libp2p derives from the same key', async () => {
    const dataDir = freshDir()
    const identity = await loadOrCreateIdentity(dataDir)
    // derive independently from the PEM on disk
    const jwk = createPrivateKey(readFileSync(identityKeyPath(dataDir), 'utf8')).export({ format: 'jwk' })
    const seed = Buffer.from(jwk.d ?? '', 'base64url')
    const pub = Buffer.from(jwk.x ?? '', 'base64url')
    const libp2pKey = privateKeyFromRaw(Buffer.concat([seed, pub]))
    assert.equal(peerIdFromPrivateKey(libp2pKey).toString(), identity.peerIdString)
    assert.ok(identity.peerId.equals(peerIdFromString(identity.peerIdString)))
    assert.deepEqual(identity.publicKeyRaw, new Uint8Array(pub))
    assert.ok(identity.privateKey.equals(libp2pKey))
  })

  test('sign makes signatures libp2p and peerIdToPublicKey verify', async () => {
    const identity = await generateIdentity()
    const data = new TextEncoder().encode('hello agora')
    const sig = identity.sign(data)
    assert.equal(sig.byteLength, 64)
    assert.equal(await publicKeyFromRaw(identity.publicKeyRaw).verify(data, sig), true)
    assert.equal(verify(null, data, peerIdToPublicKey(identity.peerIdString), sig), true)
    assert.equal(verify(null, new TextEncoder().encode('hello agorb'), peerIdToPublicKey(identity.peerIdString), sig), false)
    assert.equal(peerIdToPublicKey(identity.peerIdString), peerIdToPublicKey(identity.peerIdString), 'cached')
    assert.throws(() => peerIdToPublicKey('not-a-peer-id'), (err: unknown) => isAgoraError(err, 'E110'))
  })
})

describe('did:key', () => {
  test('has the Ed25519 did:key form and round-trips', async () => {
    const identity = await generateIdentity()
    assert.match(identity.did, /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$/)
    const bytes = base58btc.decode(identity.did.slice('did:key:'.length))
    assert.deepEqual([...bytes.subarray(0, 2)], [0xed, 0x01])
    assert.deepEqual(publicKeyFromDidKey(identity.did), identity.publicKeyRaw)
    assert.equal(didKeyFromPublicKey(publicKeyFromDidKey(identity.did)), identity.did)
    assert.equal(didKeyFromPeerId(identity.peerIdString), identity.did)
  })

  test('matches the did:key the spec derives for a known key', () => {
    // the example did in the W3C CCG did:key spec is the key of a 32-byte zero seed
    const seed = Buffer.alloc(32)
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
    const raw = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x ?? '', 'base64url')
    assert.equal(raw.toString('hex'), '3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29')
    assert.equal(didKeyFromPublicKey(raw), 'did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp')
  })

  test('refuses what is not an Ed25519 did:key (E103)', () => {
    for (const bad of ['did:web:example.com', 'did:key:zzzz0OIl', 'did:key:z' + base58btc.baseEncode(new Uint8Array(34)), 'did:key:z6Mk']) {
      assert.throws(() => publicKeyFromDidKey(bad), (err: unknown) => isAgoraError(err, 'E103'))
    }
    assert.throws(() => didKeyFromPublicKey(new Uint8Array(31)), (err: unknown) => isAgoraError(err, 'E103'))
  })
})
