import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  generateIdentity, signEnvelope, encodeEnvelope, decodeEnvelope, signingBytes, verifySignatureOnly, EnvelopeVerifier,
  type Envelope, type NodeIdentity, type UnsignedEnvelope
} from '../../../src/identity/index.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import { throwsCode } from '../../harness/checks.ts'

const encoder = new TextEncoder()

/** Sign arbitrary fields with `signer`'s key (to build forgeries and replays). */
function signWith (signer: NodeIdentity, fields: UnsignedEnvelope): Envelope {
  return { ...fields, sig: Buffer.from(signer.sign(signingBytes(fields))).toString('base64url') }
}

function bytesOf (value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

describe('signed envelopes', () => {
  let alice: NodeIdentity
  let bob: NodeIdentity
  let mallory: NodeIdentity
  let store: Store
  let verifier: EnvelopeVerifier
  let dir: string

  before(async () => {
    [alice, bob, mallory] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
    dir = mkdtempSync(join(tmpdir(), 'agora-'))
    store = openStore(':memory:')
    verifier = new EnvelopeVerifier({ replay: store.replay }, { selfPeerId: bob.peerIdString })
  })
  after(() => {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('sign → encode → decode → verify', () => {
    const envelope = signEnvelope(alice, { kind: 'OFFER', payload: { model: 'llama3', price: 1.5, tags: ['a', 'b'] } })
    assert.equal(envelope.v, 1)
    assert.equal(envelope.from, alice.peerIdString)
    assert.equal(envelope.to, undefined)
    assert.equal(Buffer.from(envelope.nonce, 'base64url').byteLength, 16)
    const bytes = encodeEnvelope(envelope)
    assert.deepEqual(decodeEnvelope(bytes), envelope)
    assert.deepEqual(verifier.decodeAndVerify(bytes, { kind: 'OFFER' }), envelope)
    const addressed = signEnvelope(alice, { kind: 'REQUEST', payload: null, to: bob.peerIdString })
    assert.deepEqual(verifier.verify(addressed, { kind: ['REQUEST', 'ACCEPT'] }), addressed)
    assert.equal(verifySignatureOnly(addressed), addressed)
  })

  test('the signature does not depend on key order in the payload', () => {
    const envelope = signEnvelope(alice, { kind: 'NEED', payload: { b: 1, a: { y: 2, x: [3, { d: 4, c: 5 }] } } })
    const reordered = JSON.stringify(envelope).replace('"b":1,"a":{"y":2,"x":[3,{"d":4,"c":5}]}', '"a":{"x":[3,{"c":5,"d":4}],"y":2},"b":1')
    assert.notEqual(reordered, JSON.stringify(envelope))
    assert.deepEqual(verifier.decodeAndVerify(encoder.encode(reordered)).payload, envelope.payload)
  })

  test('an altered payload is E112', () => {
    const envelope = signEnvelope(alice, { kind: 'OFFER', payload: { price: 1 } })
    throwsCode(() => verifier.verify({ ...envelope, payload: { price: 0 } }), 'E112')
    throwsCode(() => verifySignatureOnly({ ...envelope, payload: { price: 0 } }), 'E112')
  })

  test('a message signed by another key claiming to come from the victim is E112', () => {
    const { sig: _sig, ...fields } = signEnvelope(mallory, { kind: 'RECEIPT', payload: { amount: 1000 } })
    const forged = signWith(mallory, { ...fields, from: alice.peerIdString })
    throwsCode(() => verifier.decodeAndVerify(encodeEnvelope(forged)), 'E112')
  })

  test('a forged message does not burn the nonce of the real one', () => {
    const genuine = signEnvelope(alice, { kind: 'COMMIT', payload: { hash: 'abc' } })
    const { sig: _sig, ...fields } = genuine
    throwsCode(() => verifier.verify(signWith(mallory, fields)), 'E112')
    assert.deepEqual(verifier.verify(genuine), genuine)
  })

  test('an unexpected kind is E113', () => {
    const envelope = signEnvelope(alice, { kind: 'OFFER', payload: {} })
    throwsCode(() => verifier.decodeAndVerify(encodeEnvelope(envelope), { kind: 'RECEIPT' }), 'E113')
    throwsCode(() => verifier.verify(envelope, { kind: ['ACCEPT', 'REJECT'] }), 'E113')
  })

  test('changing the kind after signing is E112 (domain separation)', () => {
    const envelope = signEnvelope(alice, { kind: 'ACCEPT', payload: { contract: 'c1' } })
    const err = throwsCode(() => verifier.verify({ ...envelope, kind: 'REJECT' }, { kind: 'REJECT' }), 'E112')
    assert.match(err.message, /REJECT/)
    assert.equal(Buffer.from(signingBytes(envelope)).subarray(0, 16).toString('latin1'), 'agora:v1:ACCEPT\0')
    // a signature over the same body without the domain prefix does not verify either
    const { sig: _sig, ...fields } = envelope
    const body = signingBytes(fields).subarray('agora:v1:ACCEPT'.length + 1)
    throwsCode(() => verifier.verify({ ...fields, sig: Buffer.from(alice.sign(body)).toString('base64url') }), 'E112')
  })

  test('a replayed nonce is E114', () => {
    const envelope = signEnvelope(alice, { kind: 'ATTEST', payload: { ok: true } })
    const bytes = encodeEnvelope(envelope)
    verifier.decodeAndVerify(bytes)
    throwsCode(() => verifier.decodeAndVerify(bytes), 'E114')
    // the same nonce under another signer is a different pair
    const { sig: _sig, ...fields } = envelope
    assert.equal(verifier.verify(signWith(bob, { ...fields, from: bob.peerIdString })).from, bob.peerIdString)
  })

  test('a replay after a restart is still E114', () => {
    const path = join(dir, 'agora.db')
    const envelope = signEnvelope(alice, { kind: 'FINALIZE', payload: { contract: 'c9' } })
    const bytes = encodeEnvelope(envelope)
    const first = openStore(path)
    try {
      new EnvelopeVerifier({ replay: first.replay }).decodeAndVerify(bytes)
    } finally {
      first.close()
    }
    const second = openStore(path)
    try {
      throwsCode(() => new EnvelopeVerifier({ replay: second.replay }).decodeAndVerify(bytes), 'E114')
    } finally {
      second.close()
    }
  })

  test('a stale timestamp is E115 and a future one E116', () => {
    const now = Date.now()
    const stale = signEnvelope(alice, { kind: 'OFFER', payload: 1 }, now - 5 * 60_000 - 1)
    throwsCode(() => verifier.verify(stale, { now }), 'E115')
    const future = signEnvelope(alice, { kind: 'OFFER', payload: 1 }, now + 30_001)
    throwsCode(() => verifier.verify(future, { now }), 'E116')
    const edge = signEnvelope(alice, { kind: 'OFFER', payload: 1 }, now + 30_000)
    assert.deepEqual(verifier.verify(edge, { now }), edge)
  })

  test('an oversized envelope is E111 before it is parsed', () => {
    const small = new EnvelopeVerifier({ replay: store.replay }, { maxBytes: 1024 })
    const envelope = signEnvelope(alice, { kind: 'PACKAGE', payload: 'x'.repeat(2000) })
    const err = throwsCode(() => small.decodeAndVerify(encodeEnvelope(envelope)), 'E111')
    assert.equal(err.details?.maxBytes, 1024)
    throwsCode(() => small.decodeAndVerify(new Uint8Array(1025)), 'E111')
    throwsCode(() => small.verify(envelope), 'E111')
  })

  test('garbage and missing or bad fields are E110 naming the field', () => {
    throwsCode(() => verifier.decodeAndVerify(Uint8Array.of(0xff, 0xfe, 0x00, 0x7b)), 'E110')
    throwsCode(() => verifier.decodeAndVerify(encoder.encode('{"v":1,')), 'E110')
    throwsCode(() => verifier.decodeAndVerify(encoder.encode('[]')), 'E110')
    const envelope = signEnvelope(alice, { kind: 'OFFER', payload: { a: 1 } })
    const cases: Array<[string, Record<string, unknown>]> = [
      ['nonce', { nonce: undefined }],
      ['payload', { payload: undefined }],
      ['sig', { sig: 'short' }],
      ['kind', { kind: 'STEAL' }],
      ['v', { v: 2 }],
      ['ts', { ts: 1.5 }],
      ['from', { from: 'alice' }],
      ['to', { to: 42 }],
      ['extra', { extra: true }]
    ]
    for (const [field, change] of cases) {
      const err = throwsCode(() => verifier.decodeAndVerify(bytesOf({ ...envelope, ...change })), 'E110')
      assert.equal(err.details?.field, field)
      assert.match(err.message, new RegExp(field))
    }
  })

  test('a payload with no canonical form is E110, not a crash', () => {
    const envelope = signEnvelope(alice, { kind: 'OFFER', payload: 'ok' })
    const text = JSON.stringify(envelope).replace('"payload":"ok"', '"payload":"\\ud800"')
    const err = throwsCode(() => verifier.decodeAndVerify(encoder.encode(text)), 'E110')
    assert.equal(err.details?.field, 'payload')
  })

  test('an envelope addressed to another node is E117', () => {
    const envelope = signEnvelope(alice, { kind: 'REQUEST', payload: {}, to: mallory.peerIdString })
    throwsCode(() => verifier.decodeAndVerify(encodeEnvelope(envelope)), 'E117')
  })

  test('checks run in order: kind before signature, time before signature', () => {
    const envelope = signEnvelope(alice, { kind: 'OFFER', payload: {} }, Date.now() - 10 * 60_000)
    const tampered = { ...envelope, payload: { evil: true } }
    throwsCode(() => verifier.verify(tampered, { kind: 'NEED' }), 'E113')
    throwsCode(() => verifier.verify(tampered), 'E115')
  })

  test('stats count acceptances and rejections by code; prune drops expired nonces', () => {
    const own = openStore(':memory:')
    try {
      const counted = new EnvelopeVerifier({ replay: own.replay }, { maxAgeMs: 1000, maxSkewMs: 0 })
      const now = Date.now()
      const envelope = signEnvelope(alice, { kind: 'RATING', payload: 5 }, now)
      counted.verify(envelope, { now })
      assert.throws(() => counted.verify(envelope, { now }))
      assert.throws(() => counted.verify({ ...envelope, payload: 4 }, { now }))
      assert.throws(() => counted.decodeAndVerify(Uint8Array.of(1)))
      assert.deepEqual(counted.stats(), { accepted: 1, rejected: { E114: 1, E112: 1, E110: 1 } })
      assert.equal(own.replay.count(), 1)
      assert.equal(counted.pruneExpired(now + 1000), 0)
      assert.equal(counted.pruneExpired(now + 1001), 1)
      assert.equal(own.replay.count(), 0)
    } finally {
      own.close()
    }
  })
})
