/** The payer side: the next proof (resent unchanged until acknowledged), its fields, the policy, and each side's view of the pair. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { verifySignatureOnly } from '../../../src/identity/index.ts'
import { balanceView, chainRoot, duePayees, GENESIS_ROOT, paymentDue, type PaymentPayload } from '../../../src/market/payments/index.ts'
import { booksNode, CREDIT, restart, type BooksNode } from './books-nodes.ts'

async function buyer (): Promise<{ a: BooksNode, b: BooksNode, capture: (id: string, amount: number) => void }> {
  const a = await booksNode({ grant: 100 * CREDIT })
  const b = await booksNode({ grant: 100 * CREDIT })
  a.escrow.hold('h', 50 * CREDIT)
  const capture = (id: string, amount: number): void => {
    b.payee.issue({ receiptId: id, buyer: a.peerId, amount })
    a.escrow.capture({ holdId: 'h', receiptId: id, seller: b.peerId, amount })
  }
  return { a, b, capture }
}

test('nothing owed → no proof', async () => {
  const { a, b } = await buyer()
  assert.equal(a.payer.next(b.peerId), undefined)
})

test('the first proof: nonce 1, cumulative, root over the ids, six-decimal amounts, signed and addressed to the payee', async () => {
  const { a, b, capture } = await buyer()
  capture('r1', 1_500_000)
  capture('r2', 1)
  const proof = a.payer.next(b.peerId)
  assert.ok(proof)
  assert.equal(proof.envelope.kind, 'PAYMENT')
  assert.equal(proof.envelope.to, b.peerId)
  verifySignatureOnly(proof.envelope)
  assert.deepEqual(proof.envelope.payload, {
    payer: a.peerId,
    payee: b.peerId,
    epoch: 1,
    nonce: 1,
    cumulative: '1.500001',
    root: chainRoot(GENESIS_ROOT, ['r1', 'r2']),
    receipts: [{ id: 'r1', amount: '1.500000' }, { id: 'r2', amount: '0.000001' }]
  })
  assert.deepEqual([proof.nonce, proof.cumulative, proof.amount, proof.receipts], [1, 1_500_001, 1_500_001, 2])
})

test('until acknowledged the same proof comes back unchanged — new captures wait, and so does a restart', async () => {
  const { a, b, capture } = await buyer()
  capture('r1', CREDIT)
  const first = a.payer.next(b.peerId)
  capture('r2', CREDIT)
  assert.deepEqual(a.payer.next(b.peerId)?.envelope, first?.envelope)
  await a.ledger.durable()
  const a2 = restart(a)
  assert.deepEqual(a2.payer.next(b.peerId)?.envelope, first?.envelope)
  assert.equal(a2.payer.state(b.peerId).unlisted, 1, 'r2 waits for the next proof')
})

test('acknowledged: only the outstanding nonce counts; the next proof chains on it', async () => {
  const { a, b, capture } = await buyer()
  capture('r1', CREDIT)
  const first = a.payer.next(b.peerId)
  assert.ok(first)
  assert.equal(a.payer.acknowledged(b.peerId, 2), false)
  assert.equal(a.payer.acknowledged(b.peerId, 1), true)
  assert.equal(a.payer.acknowledged(b.peerId, 1), false, 'once')
  assert.equal(a.payer.next(b.peerId), undefined)
  capture('r2', 2 * CREDIT)
  const second = a.payer.next(b.peerId)
  assert.ok(second)
  const payload = second.envelope.payload as PaymentPayload
  assert.deepEqual([payload.nonce, payload.cumulative, payload.root], [2, '3.000000', chainRoot((first.envelope.payload as PaymentPayload).root, ['r2'])])
  await a.ledger.durable()
  const a2 = restart(a)
  assert.deepEqual(a2.payer.state(b.peerId).acked, { nonce: 1, cumulative: CREDIT, root: (first.envelope.payload as PaymentPayload).root })
  assert.deepEqual(a2.payer.sent(b.peerId).map(p => [p.nonce, p.ackedAt === null]), [[1, false], [2, true]])
})

test('a proof lists at most maxReceiptsPerProof receipts; the rest go in the next one', async () => {
  const a = await booksNode({ grant: 100 * CREDIT, maxReceiptsPerProof: 2 })
  const b = await booksNode()
  a.escrow.hold('h', 10 * CREDIT)
  for (const id of ['r1', 'r2', 'r3']) a.escrow.capture({ holdId: 'h', receiptId: id, seller: b.peerId, amount: CREDIT })
  assert.equal(a.payer.next(b.peerId)?.receipts, 2)
  a.payer.acknowledged(b.peerId, 1)
  const second = a.payer.next(b.peerId)
  assert.deepEqual([second?.receipts, second?.cumulative], [1, 3 * CREDIT])
})

test('policy: due after N receipts or T ms; an outstanding proof again T ms after it was sent', async () => {
  const { a, b, capture } = await buyer()
  const policy = { everyReceipts: 3, everyMs: 5000 }
  const now = (): number => a.clock.now
  assert.equal(paymentDue(a.payer.state(b.peerId), policy, now()), false, 'nothing owed')
  capture('r1', CREDIT)
  capture('r2', CREDIT)
  assert.equal(paymentDue(a.payer.state(b.peerId), policy, now()), false)
  assert.equal(paymentDue(a.payer.state(b.peerId), policy, now() + 5000), true, 'T ms after the oldest')
  capture('r3', CREDIT)
  assert.deepEqual(duePayees(a.payer, policy, now()), [b.peerId], 'N receipts')
  a.payer.next(b.peerId)
  assert.equal(paymentDue(a.payer.state(b.peerId), policy, now() + 4999), false, 'just sent')
  assert.equal(paymentDue(a.payer.state(b.peerId), policy, now() + 5000), true, 'resend')
  a.payer.acknowledged(b.peerId, 1)
  assert.deepEqual(duePayees(a.payer, policy, now() + 10_000), [])
})

test('balance views: each side\'s payable, receivable, last proof sent and accepted — mirror images once delivered', async () => {
  const { a, b, capture } = await buyer()
  capture('r1', 2 * CREDIT)
  capture('r2', CREDIT)
  const proof = a.payer.next(b.peerId)
  assert.ok(proof)
  b.payee.accept(proof.envelope)
  a.payer.acknowledged(b.peerId, proof.nonce)
  capture('r3', CREDIT)
  const fromA = balanceView(a, b.peerId)
  const fromB = balanceView(b, a.peerId)
  assert.deepEqual(fromA, { peer: b.peerId, receivable: 0, payable: 4 * CREDIT, sent: { nonce: 1, cumulative: 3 * CREDIT }, received: { nonce: 0, cumulative: 0 }, voided: { sent: 0, received: 0 } })
  assert.deepEqual(fromB, { peer: a.peerId, receivable: 3 * CREDIT, payable: 0, sent: { nonce: 0, cumulative: 0 }, received: { nonce: 1, cumulative: 3 * CREDIT }, voided: { sent: 0, received: 0 } })
  assert.equal(b.payee.unpaid(a.peerId), CREDIT, 'r3: issued, in no proof yet')
})
