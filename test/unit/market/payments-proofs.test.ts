/**
 * The payee's checks of PAYMENT proofs, each refusal on its own with its
 * exact code and rule — and a refused proof changes nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope, generateIdentity, signEnvelope, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { formatCredits } from '../../../src/market/amount.ts'
import { chainRoot, GENESIS_ROOT, type PaymentPayload } from '../../../src/market/payments/index.ts'
import { isCode } from '../../harness/checks.ts'
import { assertBooks, booksNode, CREDIT, refused, restart, snapshot, type BooksNode } from './books-nodes.ts'

/** A buys from B: B issues the receipts, A holds and captures them. */
function trade (a: BooksNode, b: BooksNode, receipts: Array<[string, number]>): void {
  const holdId = `hold-${receipts[0]?.[0] ?? 'none'}`
  a.escrow.hold(holdId, receipts.reduce((sum, [, amount]) => sum + amount, 0))
  for (const [receiptId, amount] of receipts) {
    b.payee.issue({ receiptId, buyer: a.peerId, amount })
    a.escrow.capture({ holdId, receiptId, seller: b.peerId, amount })
  }
}

async function pair (): Promise<{ a: BooksNode, b: BooksNode }> {
  return { a: await booksNode({ grant: 100 * CREDIT }), b: await booksNode({ grant: 100 * CREDIT }) }
}

/** A proof signed by hand: the honest one for `receipts` after `prev`, with `change` applied. */
function forge (signer: NodeIdentity, payee: string, receipts: Array<[string, number]>, prev = { nonce: 0, cumulative: 0, root: GENESIS_ROOT },
  change: Partial<PaymentPayload> = {}, to: string = payee): Envelope {
  const sum = receipts.reduce((total, [, amount]) => total + amount, 0)
  const payload: PaymentPayload = {
    payer: signer.peerIdString,
    payee,
    epoch: 1,
    nonce: prev.nonce + 1,
    cumulative: formatCredits(prev.cumulative + sum),
    root: chainRoot(prev.root, receipts.map(([id]) => id)),
    receipts: receipts.map(([id, amount]) => ({ id, amount: formatCredits(amount) })),
    ...change
  }
  return signEnvelope(signer, { kind: 'PAYMENT', payload, to })
}

test('a valid proof is checked and booked: the earn posting, the proof kept, the receipts paid', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', 2 * CREDIT], ['r2', 500_000]])
  assert.equal(b.payee.unpaid(a.peerId), 2_500_000)
  const proof = a.payer.next(b.peerId)
  assert.ok(proof)
  const accepted = b.payee.accept(encodeEnvelope(proof.envelope))
  assert.deepEqual(accepted, { outcome: 'applied', payer: a.peerId, nonce: 1, cumulative: 2_500_000, amount: 2_500_000, receipts: 2 })
  assert.equal(b.ledger.balance('available'), 102_500_000)
  assert.equal(b.ledger.balance('earned'), -2_500_000)
  assert.equal(b.ledger.balance(`receivable:${a.peerId}`), 2_500_000)
  assert.equal(b.ledger.balance('settlement'), -2_500_000)
  assert.equal(b.payee.unpaid(a.peerId), 0)
  assert.equal(a.payer.acknowledged(b.peerId, 1), true)
  assert.equal(-a.ledger.balance(`payable:${b.peerId}`), b.ledger.balance(`receivable:${a.peerId}`))
  assert.deepEqual(b.payee.received(a.peerId).map(p => [p.nonce, p.cumulative]), [[1, 2_500_000]])
  assertBooks(a.ledger, 'A')
  assertBooks(b.ledger, 'B')
})

test('the identical proof again → duplicate, nothing changes (also after a restart)', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  const bytes = encodeEnvelope(a.payer.next(b.peerId)?.envelope as Envelope)
  b.payee.accept(bytes)
  const before = snapshot(b.ledger)
  assert.equal(b.payee.accept(bytes).outcome, 'duplicate')
  await b.ledger.durable()
  const b2 = restart(b)
  assert.equal(b2.payee.accept(bytes).outcome, 'duplicate')
  assert.deepEqual(snapshot(b2.ledger), before)
})

test('an older proof arriving late, unchanged → duplicate (it was accepted already)', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  const first = a.payer.next(b.peerId)?.envelope as Envelope
  b.payee.accept(first)
  a.payer.acknowledged(b.peerId, 1)
  trade(a, b, [['r2', CREDIT]])
  b.payee.accept(a.payer.next(b.peerId)?.envelope as Envelope)
  const before = snapshot(b.ledger)
  assert.equal(b.payee.accept(first).outcome, 'duplicate', 'same turn (not committed yet)')
  await b.ledger.durable()
  assert.equal(b.payee.accept(first).outcome, 'duplicate', 'from disk')
  assert.deepEqual(snapshot(b.ledger), before)
})

test('a proof is accepted however old it is: no age window, the nonce guards replays', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  const old = forge(a.identity, b.peerId, [['r1', CREDIT]])
  const aged = signEnvelope(a.identity, { kind: 'PAYMENT', payload: old.payload, to: b.peerId }, Date.now() - 24 * 3600_000)
  assert.equal(b.payee.accept(aged).outcome, 'applied')
})

test('forged: a signature that does not verify → E112', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  const honest = forge(a.identity, b.peerId, [['r1', CREDIT]])
  const altered = { ...honest, payload: { ...(honest.payload as PaymentPayload), cumulative: '2.000000' } }
  refused(b, altered, 'E112', 'signature')
})

test('forged: signed by another key in the payer\'s name → E112', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  const mallory = await generateIdentity()
  const theirs = forge(mallory, b.peerId, [['r1', CREDIT]], undefined, { payer: a.peerId })
  refused(b, { ...theirs, from: a.peerId }, 'E112', 'signature')
})

test('a proof whose payer is not its signer → E1117', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  const mallory = await generateIdentity()
  refused(b, forge(mallory, b.peerId, [['r1', CREDIT]], undefined, { payer: a.peerId }), 'E1117', 'payer')
})

test('a proof from the payee to itself → E1117', async () => {
  const { b } = await pair()
  refused(b, forge(b.identity, b.peerId, [['r1', CREDIT]]), 'E1117', 'payer')
})

test('a proof addressed to another node → E117', async () => {
  const { a, b } = await pair()
  const other = await generateIdentity()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, {}, other.peerIdString), 'E117', 'addressee')
  refused(b, forge(a.identity, other.peerIdString, [['r1', CREDIT]], undefined, {}, b.peerId), 'E117', 'addressee')
})

test('another kind of envelope → E113', async () => {
  const { a, b } = await pair()
  refused(b, signEnvelope(a.identity, { kind: 'RECEIPT', payload: {}, to: b.peerId }), 'E113', 'kind')
})

test('bytes that are not an envelope → E110', async () => {
  const { b } = await pair()
  refused(b, new TextEncoder().encode('{"v":1,'), 'E110', 'malformed')
})

test('a malformed payload → E1117', async () => {
  const { a, b } = await pair()
  refused(b, signEnvelope(a.identity, { kind: 'PAYMENT', payload: { payer: a.peerId }, to: b.peerId }), 'E1117', 'malformed')
})

test('an amount with more than six decimals → E1100', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, { cumulative: '1.0000000' }), 'E1100', 'amount-format')
})

test('a negative amount → E1100', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, { receipts: [{ id: 'r1', amount: '-1.000000' }] }), 'E1100', 'amount-format')
})

test('an amount past the safe range → E1100', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, { cumulative: '9007199254.740992' }), 'E1100', 'amount-format')
})

test('an amount not in the six-decimal wire form → E1100', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, { cumulative: '1.5' }), 'E1100', 'amount-format')
})

test('another epoch → E1120', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, { epoch: 2 }), 'E1120', 'epoch')
})

test('a replayed nonce with different content → E1120', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT], ['r2', CREDIT]])
  b.payee.accept(forge(a.identity, b.peerId, [['r1', CREDIT]]))
  refused(b, forge(a.identity, b.peerId, [['r2', CREDIT]]), 'E1120', 'replayed')
})

test('a proof that goes backwards (an older nonce, different content) → E1120', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT], ['r2', CREDIT], ['r3', CREDIT]])
  const one = forge(a.identity, b.peerId, [['r1', CREDIT]])
  b.payee.accept(one)
  b.payee.accept(forge(a.identity, b.peerId, [['r2', CREDIT]], { nonce: 1, cumulative: CREDIT, root: (one.payload as PaymentPayload).root }))
  refused(b, forge(a.identity, b.peerId, [['r3', CREDIT]]), 'E1120', 'backwards')
})

test('a skipped nonce → E1120', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], { nonce: 1, cumulative: 0, root: GENESIS_ROOT }), 'E1120', 'skipped')
})

test('a proof that lowers the cumulative → E1120', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', 2 * CREDIT], ['r2', CREDIT]])
  const one = forge(a.identity, b.peerId, [['r1', 2 * CREDIT]])
  b.payee.accept(one)
  const prev = { nonce: 1, cumulative: 2 * CREDIT, root: (one.payload as PaymentPayload).root }
  refused(b, forge(a.identity, b.peerId, [['r2', CREDIT]], prev, { cumulative: '1.000000' }), 'E1120', 'cumulative-lowered')
})

test('a root that does not chain on → E1120', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, { root: chainRoot(GENESIS_ROOT, ['other']) }), 'E1120', 'root')
})

test('a receipt this node never issued → E1121', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT], ['made-up', CREDIT]]), 'E1121', 'unknown-receipt')
})

test('a receipt issued to another buyer → E1121', async () => {
  const { a, b } = await pair()
  const c = await booksNode()
  trade(c, b, [['theirs', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['theirs', CREDIT]]), 'E1121', 'unknown-receipt')
})

test('a receipt paid before → E1121', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  const one = forge(a.identity, b.peerId, [['r1', CREDIT]])
  b.payee.accept(one)
  const prev = { nonce: 1, cumulative: CREDIT, root: (one.payload as PaymentPayload).root }
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], prev), 'E1121', 'already-paid')
  await b.ledger.durable()
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], prev), 'E1121', 'already-paid')
})

test('a receipt at another amount than issued → E1121', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', 2 * CREDIT]]), 'E1121', 'amount')
})

test('amounts that do not add up to the cumulative → E1121', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT]], undefined, { cumulative: '1.000001' }), 'E1121', 'sum')
})

test('the same receipt twice in one proof → E1121', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  refused(b, forge(a.identity, b.peerId, [['r1', CREDIT], ['r1', CREDIT]]), 'E1121', 'duplicate-receipt')
})

test('a proof listing no receipts → E1121', async () => {
  const { a, b } = await pair()
  refused(b, forge(a.identity, b.peerId, []), 'E1121', 'empty')
})

test('issuing a receipt is idempotent; the same id with another amount → E1123', async () => {
  const { a, b } = await pair()
  assert.equal(b.payee.issue({ receiptId: 'r1', buyer: a.peerId, amount: CREDIT }), 'applied')
  assert.equal(b.payee.issue({ receiptId: 'r1', buyer: a.peerId, amount: CREDIT }), 'duplicate')
  assert.throws(() => b.payee.issue({ receiptId: 'r1', buyer: a.peerId, amount: 2 * CREDIT }), isCode('E1123'))
  await b.ledger.durable()
  const b2 = restart(b)
  assert.equal(b2.payee.issue({ receiptId: 'r1', buyer: a.peerId, amount: CREDIT }), 'duplicate')
  assert.throws(() => b2.payee.issue({ receiptId: 'r1', buyer: a.peerId, amount: 2 * CREDIT }), isCode('E1123'))
  assert.throws(() => b2.payee.issue({ receiptId: 'r2', buyer: a.peerId, amount: -1 }), isCode('E1100'))
  assert.equal(b2.payee.unpaid(a.peerId), CREDIT)
})

test('the payee keeps every proof, not only the last', async () => {
  const { a, b } = await pair()
  for (let n = 1; n <= 3; n++) {
    trade(a, b, [[`r${n}`, n * CREDIT]])
    const proof = a.payer.next(b.peerId)
    assert.ok(proof)
    b.payee.accept(proof.envelope)
    a.payer.acknowledged(b.peerId, proof.nonce)
  }
  assert.deepEqual(b.payee.received(a.peerId).map(p => [p.nonce, p.cumulative]), [[1, CREDIT], [2, 3 * CREDIT], [3, 6 * CREDIT]])
  assert.deepEqual(b.payee.last(a.peerId).nonce, 3)
})

test('a failed commit drops the earning and the stored proof together; the proof is accepted again after', async () => {
  const { a, b } = await pair()
  trade(a, b, [['r1', CREDIT]])
  await b.ledger.durable()
  const proof = a.payer.next(b.peerId)?.envelope as Envelope
  b.db.sqlite.exec("CREATE TRIGGER fail BEFORE INSERT ON payment_proofs_received BEGIN SELECT RAISE(ABORT, 'disk full'); END")
  b.payee.accept(proof)
  await assert.rejects(b.ledger.durable(), isCode('E400'))
  assert.equal(b.ledger.balance('earned'), 0)
  assert.equal(b.payee.last(a.peerId).nonce, 0)
  assert.equal(b.payee.unpaid(a.peerId), CREDIT)
  b.db.sqlite.exec('DROP TRIGGER fail')
  assert.equal(b.payee.accept(proof).outcome, 'applied')
  await b.ledger.durable()
  assert.equal(b.ledger.balance('earned'), -CREDIT)
  assertBooks(b.ledger)
})
