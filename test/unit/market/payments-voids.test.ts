/**
 * Voided parts (docs/market.md "Voided parts"): the buyer forfeited the part
 * of a receipt it held back for an audit and tells the payee with a signed
 * VOID. The payee books it against the receipt on real SQLite books — the
 * receipt is settled, `unpaid` no longer counts the part — and refuses a
 * VOID that is oversized, forged or for a receipt it never issued.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope, generateIdentity, signEnvelope } from '../../../src/identity/index.ts'
import { formatCredits } from '../../../src/market/amount.ts'
import { signVoid, type VoidInput } from '../../../src/market/payments/index.ts'
import { isCode } from '../../harness/checks.ts'
import { assertBooks, booksNode, CREDIT, restart, snapshot, type BooksNode } from './books-nodes.ts'

const PRICE = CREDIT
const REST = 200_000
const HASH_A = 'a'.repeat(64)
const HASH_B = 'b'.repeat(64)

/** A buys `r1` from B: REST set aside for the audit, the rest captured and proven. */
async function partPaid (): Promise<{ a: BooksNode, b: BooksNode }> {
  const a = await booksNode({ grant: 100 * CREDIT })
  const b = await booksNode({ grant: 100 * CREDIT })
  a.escrow.hold('job', 5 * PRICE)
  b.payee.issue({ receiptId: 'r1', buyer: a.peerId, amount: PRICE })
  a.escrow.setAside('job', 'audit:r1', REST)
  a.escrow.capture({ holdId: 'job', receiptId: 'r1', seller: b.peerId, amount: PRICE - REST })
  const proof = a.payer.next(b.peerId)
  assert.ok(proof)
  assert.equal(b.payee.accept(encodeEnvelope(proof.envelope)).outcome, 'applied')
  a.payer.acknowledged(b.peerId, proof.nonce)
  // the audit disagreed: the part goes back to the buyer
  a.escrow.release('audit:r1')
  return { a, b }
}

const voidOf = (b: BooksNode, over: Partial<VoidInput> = {}): VoidInput => ({
  payee: b.peerId, receiptId: 'r1', amount: REST, reason: { kind: 'audit', jobId: 'job-1', subtaskId: 'job-1:0', resultHash: HASH_A, auditHash: HASH_B, audited: 'disagreed' }, ...over
})

function refusedVoid (b: BooksNode, envelope: Parameters<BooksNode['payee']['applyVoid']>[0], code: string, buyer: string): void {
  const before = { books: snapshot(b.ledger), unpaid: b.payee.unpaid(buyer), voided: b.payee.voided(buyer) }
  assert.throws(() => b.payee.applyVoid(envelope), isCode(code))
  assert.deepEqual({ books: snapshot(b.ledger), unpaid: b.payee.unpaid(buyer), voided: b.payee.voided(buyer) }, before)
}

test('a VOID of the held-back part settles the rest of the receipt: unpaid back to zero, the part shown as voided', async () => {
  const { a, b } = await partPaid()
  assert.equal(b.payee.unpaid(a.peerId), REST, 'before: the forfeited part still counts as unpaid')
  const outcome = b.payee.applyVoid(encodeEnvelope(signVoid(a.identity, voidOf(b))))
  assert.deepEqual(outcome, { outcome: 'applied', payer: a.peerId, receiptId: 'r1', amount: REST })
  assert.equal(b.payee.unpaid(a.peerId), 0)
  assert.equal(b.payee.voided(a.peerId), REST)
  // nothing paid by it: the books of the pair still agree to the micro-credit
  assert.equal(b.ledger.balance(`receivable:${a.peerId}`), PRICE - REST)
  assert.equal(-a.ledger.balance(`payable:${b.peerId}`), b.ledger.balance(`receivable:${a.peerId}`))
  assertBooks(b.ledger, 'B')
  // the VOID is kept as evidence, and survives a restart with the settlement
  const b2 = restart(b)
  assert.equal(b2.payee.unpaid(a.peerId), 0)
  assert.equal(b2.payee.voided(a.peerId), REST)
  assert.equal(b2.payee.voidOf(a.peerId, 'r1')?.kind, 'VOID')
  const row = b2.db.prepare('SELECT amount, paid, voided, paid_nonce AS paidNonce FROM payment_receipts_issued WHERE receipt_id = ?').get('r1')
  assert.deepEqual({ ...row }, { amount: PRICE, paid: PRICE - REST, voided: REST, paidNonce: null }, 'history kept: the paid part stays as it was')
})

test('a VOID sent again changes nothing (before and after a restart)', async () => {
  const { a, b } = await partPaid()
  const envelope = signVoid(a.identity, voidOf(b))
  assert.equal(b.payee.applyVoid(envelope).outcome, 'applied')
  const books = snapshot(b.ledger)
  assert.equal(b.payee.applyVoid(envelope).outcome, 'duplicate')
  // re-signed (a resend after a restart of the payer signs nothing new, but a peer may): still the same VOID
  assert.equal(b.payee.applyVoid(signVoid(a.identity, voidOf(b))).outcome, 'duplicate')
  const b2 = restart(b)
  assert.equal(b2.payee.applyVoid(envelope).outcome, 'duplicate')
  assert.deepEqual(snapshot(b2.ledger), books)
  assert.equal(b2.payee.unpaid(a.peerId), 0)
  assert.equal(b2.payee.voided(a.peerId), REST)
  // and for another amount it is refused
  refusedVoid(b2, signVoid(a.identity, voidOf(b2, { amount: REST - 1 })), 'E1393', a.peerId)
})

test('a VOID for more than is unpaid → E1392; with a bad signature → E112; for an unknown receipt → E1391; nothing changes', async () => {
  const { a, b } = await partPaid()
  refusedVoid(b, signVoid(a.identity, voidOf(b, { amount: REST + 1 })), 'E1392', a.peerId)
  const forged = signVoid(a.identity, voidOf(b))
  refusedVoid(b, { ...forged, payload: { ...(forged.payload as object), amount: formatCredits(1) } }, 'E112', a.peerId)
  refusedVoid(b, signVoid(a.identity, voidOf(b, { receiptId: 'r2' })), 'E1391', a.peerId)
  // another node signing a VOID of A's receipt: not a receipt issued to it
  const mallory = await generateIdentity()
  refusedVoid(b, signVoid(mallory, voidOf(b)), 'E1391', a.peerId)
  // a VOID claiming A as payer but signed by another
  const claimed = signEnvelope(mallory, { kind: 'VOID', to: b.peerId, payload: { payer: a.peerId, payee: b.peerId, receiptId: 'r1', amount: formatCredits(REST), reason: voidOf(b).reason } })
  refusedVoid(b, claimed, 'E1390', a.peerId)
  // a PAYMENT envelope is no VOID
  refusedVoid(b, signEnvelope(a.identity, { kind: 'PAYMENT', to: b.peerId, payload: {} }), 'E113', a.peerId)
  assert.equal(b.payee.unpaid(a.peerId), REST)
  assert.equal(b.payee.voided(a.peerId), 0)
})

test('a voided part is not paid afterwards: a proof paying it is refused; no VOID exceeds the price of a receipt', async () => {
  const { a, b } = await partPaid()
  b.payee.applyVoid(signVoid(a.identity, voidOf(b)))
  // the buyer's own books could never capture it (released); a forged proof paying it anyway is refused
  a.escrow.hold('again', REST)
  a.escrow.capture({ holdId: 'again', receiptId: 'r1#rest', partOf: 'r1', seller: b.peerId, amount: REST })
  const proof = a.payer.next(b.peerId)
  assert.ok(proof)
  assert.throws(() => b.payee.accept(proof.envelope), isCode('E1121'))
  // another receipt, unpaid: a VOID of more than its price
  b.payee.issue({ receiptId: 'r3', buyer: a.peerId, amount: PRICE })
  refusedVoid(b, signVoid(a.identity, voidOf(b, { receiptId: 'r3', amount: PRICE + 1 })), 'E1392', a.peerId)
})
