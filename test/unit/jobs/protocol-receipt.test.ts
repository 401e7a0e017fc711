import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { decodeEnvelope, encodeEnvelope, generateIdentity, signEnvelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { canonicalJson, decodeReceipt, resultHash, sha256Hex, signReceipt, verifyReceipt, type ReceiptExpectation, type TaskReceipt } from '../../../src/jobs/protocol/index.ts'
import { parseCredits } from '../../../src/market/amount.ts'
import { isCode } from '../../harness/checks.ts'

describe('jobs protocol: receipts', () => {
  let worker: NodeIdentity
  let coordinator: NodeIdentity
  let other: NodeIdentity
  let receipt: TaskReceipt
  let expected: ReceiptExpectation

  before(async () => {
    [worker, coordinator, other] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
    const hash = resultHash({ text: 'hello', n: [1, 2] })
    receipt = {
      key: `${coordinator.peerIdString}/job-1/s-1`,
      attempt: 2,
      jobId: 'job-1',
      subtaskId: 's-1',
      type: 't.echo',
      worker: worker.peerIdString,
      coordinator: coordinator.peerIdString,
      resultHash: hash,
      price: '3.000000',
      startedAt: 1000,
      finishedAt: 1500
    }
    expected = { worker: worker.peerIdString, coordinator: coordinator.peerIdString, key: receipt.key, attempt: 2, resultHash: hash, jobId: 'job-1', subtaskId: 's-1', type: 't.echo', maxPrice: 5_000_000 }
  })

  const reencode = (encoded: string, change: (envelope: Record<string, unknown>) => void): string => {
    const envelope = decodeEnvelope(Buffer.from(encoded, 'base64url')) as unknown as Record<string, unknown>
    change(envelope)
    return Buffer.from(JSON.stringify(envelope)).toString('base64url')
  }

  test('a signed receipt verifies: RECEIPT from the worker to the coordinator, payload intact', () => {
    const encoded = signReceipt(worker, receipt)
    const { envelope, receipt: payload } = verifyReceipt(encoded, expected)
    assert.equal(envelope.kind, 'RECEIPT')
    assert.equal(envelope.from, worker.peerIdString)
    assert.equal(envelope.to, coordinator.peerIdString)
    assert.deepEqual(payload, receipt)
  })

  test('the result hash is the sha256 of the canonical JSON (key order does not matter)', () => {
    assert.equal(resultHash({ b: 1, a: [true, null] }), resultHash({ a: [true, null], b: 1 }))
    assert.equal(resultHash({ b: 1, a: 2 }), sha256Hex('{"a":2,"b":1}'))
    assert.throws(() => canonicalJson(undefined), isCode('E1048'))
    assert.throws(() => canonicalJson({ n: Number.NaN }), isCode('E1048'))
  })

  test('a tampered payload fails the signature (E1045)', () => {
    const forged = reencode(signReceipt(worker, receipt), e => { (e.payload as Record<string, unknown>).price = '1.000000' })
    assert.throws(() => verifyReceipt(forged, expected), (err: unknown) => isCode('E1045')(err) && /signature/.test((err as { why: string }).why))
  })

  test('a receipt signed by another key but claiming to be from the worker fails (E1045)', () => {
    const forged = reencode(signReceipt(other, { ...receipt }), e => { e.from = worker.peerIdString })
    assert.throws(() => verifyReceipt(forged, expected), (err: unknown) => isCode('E1045')(err) && /signature/.test((err as { why: string }).why))
  })

  test('signed by another peer than the worker asked (E1045)', () => {
    const encoded = signReceipt(other, { ...receipt, worker: other.peerIdString })
    assert.throws(() => verifyReceipt(encoded, expected), (err: unknown) => isCode('E1045')(err) && /signed by/.test((err as { why: string }).why))
  })

  test('addressed to another coordinator (E1045)', () => {
    const encoded = signReceipt(worker, { ...receipt, coordinator: other.peerIdString })
    assert.throws(() => verifyReceipt(encoded, expected), (err: unknown) => isCode('E1045')(err) && /addressed to/.test((err as { why: string }).why))
  })

  test('mismatched key, attempt, hash, subtask or an excessive price (E1045)', () => {
    const encoded = signReceipt(worker, receipt)
    for (const [change, pattern] of [
      [{ key: 'other-key' }, /key/],
      [{ attempt: 1 }, /attempt/],
      [{ resultHash: sha256Hex('something else') }, /hashes/],
      [{ subtaskId: 's-2' }, /subtask/],
      [{ maxPrice: 2_000_000 }, /credits/]
    ] as const) {
      assert.throws(() => verifyReceipt(encoded, { ...expected, ...change }), (err: unknown) => isCode('E1045')(err) && pattern.test((err as { why: string }).why), JSON.stringify(change))
    }
  })

  test('the price may equal the assignment\'s maxPrice; one micro-credit over it is refused (E1045)', () => {
    const encoded = signReceipt(worker, receipt)
    assert.equal(verifyReceipt(encoded, { ...expected, maxPrice: parseCredits('3') }).receipt.price, '3.000000')
    assert.throws(() => verifyReceipt(encoded, { ...expected, maxPrice: parseCredits('2.999999') }),
      (err: unknown) => isCode('E1045')(err) && /asks 3\.000000 credits, over the 2\.999999 allowed/.test((err as { why: string }).why))
  })

  test('a price not in the six-decimal wire form (a number, seven decimals) is a bad payload (E1045)', () => {
    for (const price of [3, '3', '3.0000001', '-3.000000']) {
      const bad = Buffer.from(encodeEnvelope(signEnvelope(worker, { kind: 'RECEIPT', payload: { ...receipt, price }, to: coordinator.peerIdString }))).toString('base64url')
      assert.throws(() => verifyReceipt(bad, expected), (err: unknown) => isCode('E1045')(err) && /price/.test((err as { why: string }).why), String(price))
    }
  })

  test('not a receipt: garbage, another kind, a bad payload (E1045)', () => {
    assert.throws(() => decodeReceipt('not base64url json'), isCode('E1045'))
    const offer = Buffer.from(encodeEnvelope(signEnvelope(worker, { kind: 'OFFER', payload: receipt, to: coordinator.peerIdString }))).toString('base64url')
    assert.throws(() => verifyReceipt(offer, expected), (err: unknown) => isCode('E1045')(err) && /OFFER/.test((err as { why: string }).why))
    const bad = Buffer.from(encodeEnvelope(signEnvelope(worker, { kind: 'RECEIPT', payload: { ...receipt, price: -1 }, to: coordinator.peerIdString }))).toString('base64url')
    assert.throws(() => verifyReceipt(bad, expected), (err: unknown) => isCode('E1045')(err) && /price/.test((err as { why: string }).why))
  })
})
