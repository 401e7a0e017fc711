/** PACKAGE envelopes: a signed manifest opens; each bad input is refused with its own code. */
import { test, describe, before } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  generateIdentity, signEnvelope, signingBytes, type Envelope, type NodeIdentity, type UnsignedEnvelope
} from '../../../src/identity/index.ts'
import { encodeManifest, type Manifest } from '../../../src/packages/manifest.ts'
import { openPackage, signPackage } from '../../../src/packages/package-envelope.ts'
import { isCode } from '../../harness/checks.ts'

const LIMITS = { maxManifestBytes: 64 * 1024 }
const FILE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

function manifestOf (publisher: string, over: Partial<Manifest> = {}): Manifest {
  return {
    v: 1,
    name: 'acme/summarize',
    version: '1.2.0',
    kind: 'prompt',
    description: 'Summarise a text in three lines',
    license: 'MIT',
    tags: ['summarize', 'en'],
    created: 1_760_000_000_000,
    publisher,
    files: [{ path: 'prompt.txt', cid: FILE_CID, size: 5, sha256: 'a'.repeat(64), mediaType: 'text/plain' }],
    dependencies: {},
    ...over
  }
}

/** Sign arbitrary fields with `signer`'s key: a correctly signed envelope around any payload. */
function signedBy (signer: NodeIdentity, payload: unknown, kind: Envelope['kind'] = 'PACKAGE'): Envelope {
  return signEnvelope(signer, { kind, payload: payload as Envelope['payload'] })
}

async function payloadOf (bytes: Uint8Array): Promise<{ cid: string, manifest: string }> {
  const cid = CID.createV1(dagCbor.code, await sha256.digest(bytes))
  return { cid: cid.toString(), manifest: Buffer.from(bytes).toString('base64url') }
}

describe('PACKAGE envelopes', () => {
  let alice: NodeIdentity
  let mallory: NodeIdentity

  before(async () => {
    [alice, mallory] = await Promise.all([generateIdentity(), generateIdentity()])
  })

  test('a signed manifest opens to the same manifest, CID and bytes', async () => {
    const manifest = manifestOf(alice.peerIdString)
    const signed = await signPackage(alice, manifest)
    const opened = await openPackage(JSON.parse(JSON.stringify(signed.envelope)), LIMITS)
    assert.deepEqual(opened.manifest, manifest)
    assert.ok(opened.cid.equals(signed.cid))
    assert.deepEqual(opened.bytes, signed.bytes)
    assert.equal(opened.envelope.from, alice.peerIdString)
    assert.equal((await encodeManifest(manifest)).cid.toString(), signed.cid.toString())
  })

  test('signing a manifest of another publisher is refused (E1407)', async () => {
    await assert.rejects(signPackage(mallory, manifestOf(alice.peerIdString)), isCode('E1407'))
  })

  test('not an envelope (E1400)', async () => {
    await assert.rejects(openPackage('hello', LIMITS), isCode('E1400'))
    await assert.rejects(openPackage({ kind: 'PACKAGE' }, LIMITS), isCode('E1400'))
    const { envelope } = await signPackage(alice, manifestOf(alice.peerIdString))
    await assert.rejects(openPackage({ ...envelope, extra: 1 }, LIMITS), isCode('E1400'))
  })

  test('another kind of envelope (E1401)', async () => {
    const { envelope } = await signPackage(alice, manifestOf(alice.peerIdString))
    await assert.rejects(openPackage(signedBy(alice, envelope.payload, 'OFFER'), LIMITS), isCode('E1401'))
  })

  test('a malformed payload (E1404)', async () => {
    await assert.rejects(openPackage(signedBy(alice, { cid: 'x' }), LIMITS), isCode('E1404'))
    await assert.rejects(openPackage(signedBy(alice, { cid: 'not-a-cid', manifest: 'AAAA' }), LIMITS), isCode('E1404'))
    await assert.rejects(openPackage(signedBy(alice, { cid: FILE_CID, manifest: 'not base64url!' }), LIMITS), isCode('E1404'))
  })

  test('a manifest over packages.maxManifestBytes (E1403)', async () => {
    const { envelope, bytes } = await signPackage(alice, manifestOf(alice.peerIdString))
    await assert.rejects(openPackage(envelope, { maxManifestBytes: bytes.byteLength - 1 }), isCode('E1403'))
    await openPackage(envelope, { maxManifestBytes: bytes.byteLength })
  })

  test('a bad signature: altered after signing, or signed by another key (E1402)', async () => {
    const { envelope } = await signPackage(alice, manifestOf(alice.peerIdString))
    const other = await signPackage(alice, manifestOf(alice.peerIdString, { version: '1.3.0' }))
    await assert.rejects(openPackage({ ...envelope, payload: other.envelope.payload }, LIMITS), isCode('E1402'))
    const unsigned: UnsignedEnvelope = { ...envelope }
    delete (unsigned as Partial<Envelope>).sig
    const forged: Envelope = { ...unsigned, sig: Buffer.from(mallory.sign(signingBytes(unsigned))).toString('base64url') }
    await assert.rejects(openPackage(forged, LIMITS), isCode('E1402'))
  })

  test('bytes that do not hash to the CID: a tampered manifest (E1405)', async () => {
    const { cid } = await encodeManifest(manifestOf(alice.peerIdString))
    const tampered = await encodeManifest(manifestOf(alice.peerIdString, { description: 'now with a backdoor' }))
    const payload = { cid: cid.toString(), manifest: Buffer.from(tampered.bytes).toString('base64url') }
    await assert.rejects(openPackage(signedBy(alice, payload), LIMITS), isCode('E1405'))
    // the right hash under a raw (non dag-cbor) CID is refused too
    const raw = CID.createV1(0x55, await sha256.digest(tampered.bytes)).toString()
    await assert.rejects(openPackage(signedBy(alice, { cid: raw, manifest: payload.manifest }), LIMITS), isCode('E1405'))
  })

  test('a manifest breaking the schema, or not in canonical form (E1406)', async () => {
    const bad = { ...manifestOf(alice.peerIdString), version: 'one' }
    await assert.rejects(openPackage(signedBy(alice, await payloadOf(dagCbor.encode(bad))), LIMITS), isCode('E1406'))
    const noFiles = { ...manifestOf(alice.peerIdString), files: [] }
    await assert.rejects(openPackage(signedBy(alice, await payloadOf(dagCbor.encode(noFiles))), LIMITS), isCode('E1406'))
    await assert.rejects(openPackage(signedBy(alice, await payloadOf(Uint8Array.of(0xff, 0x00))), LIMITS), isCode('E1406'))
    // a default left out: valid once decoded, but re-encoding gives other bytes than the CID names
    const { description: _d, ...withoutDefault } = manifestOf(alice.peerIdString)
    const linked = { ...withoutDefault, files: withoutDefault.files.map(f => ({ ...f, cid: CID.parse(f.cid) })) }
    await assert.rejects(openPackage(signedBy(alice, await payloadOf(dagCbor.encode(linked))), LIMITS), isCode('E1406'))
  })

  test('a manifest whose publisher is not the signer (E1407)', async () => {
    const { bytes } = await encodeManifest(manifestOf(alice.peerIdString))
    await assert.rejects(openPackage(signedBy(mallory, await payloadOf(bytes)), LIMITS), isCode('E1407'))
  })
})
