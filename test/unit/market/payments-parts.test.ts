/**
 * Receipts paid in parts (docs/market.md "Receipts paid in parts"): the
 * buyer sets part of a receipt's price aside in a hold of its own, captures
 * the rest now and the part later (or releases it); the payee books each
 * part against the receipt and refuses more than the receipt's price.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope, signEnvelope } from '../../../src/identity/index.ts'
import { formatCredits } from '../../../src/market/amount.ts'
import { chainRoot, type PaymentPayload } from '../../../src/market/payments/index.ts'
import { isCode } from '../../harness/checks.ts'
import { assertBooks, booksNode, CREDIT, refused, restart, snapshot, type BooksNode } from './books-nodes.ts'

const PRICE = CREDIT
const REST = 200_000

/** A buys `receiptId` from B at PRICE: held, REST set aside, the rest captured as part one. */
async function provisional (receiptId = 'r1'): Promise<{ a: BooksNode, b: BooksNode }> {
  const a = await booksNode({ grant: 100 * CREDIT })
  const b = await booksNode({ grant: 100 * CREDIT })
  a.escrow.hold('job', 5 * PRICE)
  b.payee.issue({ receiptId, buyer: a.peerId, amount: PRICE })
  a.escrow.setAside('job', `audit:${receiptId}`, REST)
  a.escrow.capture({ holdId: 'job', receiptId, seller: b.peerId, amount: PRICE - REST })
  return { a, b }
}

/** The next proof from A to B, accepted and acknowledged. */
function pay (a: BooksNode, b: BooksNode): { amount: number, receipts: Array<{ id: string, amount: string }> } {
  const proof = a.payer.next(b.peerId)
  assert.ok(proof, 'a proof is due')
  const accepted = b.payee.accept(encodeEnvelope(proof.envelope))
  assert.equal(accepted.outcome, 'applied')
  assert.equal(a.payer.acknowledged(b.peerId, proof.nonce), true)
  return { amount: accepted.amount, receipts: (proof.envelope.payload as PaymentPayload).receipts }
}

test('a receipt paid in two parts: the payee books both against it, and the books agree at each step', async () => {
  const { a, b } = await provisional()
  assert.equal(a.escrow.remaining('audit:r1'), REST)
  assert.equal(a.escrow.remaining('job'), 5 * PRICE - PRICE)
  assert.deepEqual(pay(a, b), { amount: PRICE - REST, receipts: [{ id: 'r1', amount: formatCredits(PRICE - REST) }] })
  assert.equal(b.payee.unpaid(a.peerId), REST)

  // the audit window passed: the part set aside is captured under a key of its own, listed as r1 again
  a.escrow.capture({ holdId: 'audit:r1', receiptId: 'r1#rest', partOf: 'r1', seller: b.peerId, amount: REST })
  assert.deepEqual(pay(a, b), { amount: REST, receipts: [{ id: 'r1', amount: formatCredits(REST) }] })
  assert.equal(b.payee.unpaid(a.peerId), 0)
  assert.equal(-a.ledger.balance(`payable:${b.peerId}`), b.ledger.balance(`receivable:${a.peerId}`))
  assert.equal(b.ledger.balance('earned'), -PRICE)
  assertBooks(a.ledger, 'A')
  assertBooks(b.ledger, 'B')
})

test('what a part paid survives a restart of the payee; the receipt paid in full is refused a third part', async () => {
  const { a, b } = await provisional()
  pay(a, b)
  const b2 = restart(b)
  assert.equal(b2.payee.unpaid(a.peerId), REST)
  a.escrow.capture({ holdId: 'audit:r1', receiptId: 'r1#rest', partOf: 'r1', seller: b2.peerId, amount: REST })
  pay(a, b2)
  const b3 = restart(b2)
  assert.equal(b3.payee.unpaid(a.peerId), 0)
  const last = b3.payee.last(a.peerId)
  const payload: PaymentPayload = {
    payer: a.peerId, payee: b3.peerId, epoch: 1, nonce: last.nonce + 1, cumulative: formatCredits(last.cumulative + 1),
    root: chainRoot(last.root, ['r1']), receipts: [{ id: 'r1', amount: formatCredits(1) }]
  }
  refused(b3, signEnvelope(a.identity, { kind: 'PAYMENT', payload, to: b3.peerId }), 'E1121', 'already-paid')
})

test('a part larger than what is left of the receipt → E1121, nothing changes', async () => {
  const { a, b } = await provisional()
  pay(a, b)
  const last = b.payee.last(a.peerId)
  const over = REST + 1
  const payload: PaymentPayload = {
    payer: a.peerId, payee: b.peerId, epoch: 1, nonce: last.nonce + 1, cumulative: formatCredits(last.cumulative + over),
    root: chainRoot(last.root, ['r1']), receipts: [{ id: 'r1', amount: formatCredits(over) }]
  }
  refused(b, signEnvelope(a.identity, { kind: 'PAYMENT', payload, to: b.peerId }), 'E1121', 'amount')
  assert.equal(b.payee.unpaid(a.peerId), REST)
})

test('both parts owed at once go out in two proofs: a proof names a receipt once', async () => {
  const { a, b } = await provisional()
  b.payee.issue({ receiptId: 'r2', buyer: a.peerId, amount: PRICE })
  a.escrow.capture({ holdId: 'audit:r1', receiptId: 'r1#rest', partOf: 'r1', seller: b.peerId, amount: REST })
  a.escrow.capture({ holdId: 'job', receiptId: 'r2', seller: b.peerId, amount: PRICE })
  assert.deepEqual(pay(a, b).receipts.map(r => r.id), ['r1', 'r2'])
  assert.deepEqual(pay(a, b).receipts, [{ id: 'r1', amount: formatCredits(REST) }])
  assert.equal(a.payer.next(b.peerId), undefined)
  assert.equal(b.payee.unpaid(a.peerId), 0)
  // the owed rows were marked by their own keys: after a restart nothing is owed again
  assert.equal(restart(a).payer.next(b.peerId), undefined)
})

test('a part set aside and released goes back to available; the receipt stays part-paid at the payee', async () => {
  const { a, b } = await provisional()
  pay(a, b)
  const available = a.ledger.balance('available')
  assert.equal(a.escrow.release('audit:r1').amount, REST)
  assert.equal(a.ledger.balance('available'), available + REST)
  assert.equal(a.payer.next(b.peerId), undefined)
  assert.equal(b.payee.unpaid(a.peerId), REST)
  assertBooks(a.ledger, 'A')
})

test('setting aside: more than the hold has, or from a hold not open → E1104; once per new hold', async () => {
  const { a } = await provisional('r9')
  const before = snapshot(a.ledger)
  assert.throws(() => a.escrow.setAside('job', 'audit:x', 100 * CREDIT), isCode('E1104'))
  assert.throws(() => a.escrow.setAside('nope', 'audit:y', 1), isCode('E1104'))
  assert.deepEqual(snapshot(a.ledger), before)
  assert.equal(a.escrow.setAside('job', 'audit:r9', REST), 'duplicate')
  assert.equal(a.escrow.remaining('audit:r9'), REST)
})
