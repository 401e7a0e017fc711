/** Payments between two services in one process: when proofs go out, resending until acknowledged, and books that agree afterwards. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor } from '../../harness/wait.ts'
import { C, eventsOf, LoopNet, marketNode, OfferBoard, offerOf, walletBalances, type MarketNode, type MarketNodeOptions } from './service-nodes.ts'

interface Pair { net: LoopNet, buyer: MarketNode, seller: MarketNode, holdId: string, stop(): Promise<void> }

async function contracted (options: { buyer?: MarketNodeOptions, seller?: MarketNodeOptions } = {}): Promise<Pair> {
  const net = new LoopNet()
  const board = new OfferBoard()
  const buyer = await marketNode(net, board, options.buyer)
  const seller = await marketNode(net, board, options.seller)
  const offer = board.put(offerOf(seller.peerId))
  const contract = await buyer.market.request({ offerId: offer.id, what: 'classify', quantity: 100, maxUnitPrice: C })
  return { net, buyer, seller, holdId: `contract:${contract.id}`, stop: async () => { await buyer.stop(); await seller.stop() } }
}

/** One delivery: the seller issues a receipt, the buyer captures it. */
function deliver (p: Pair, i: number, amount = 0.5 * C): void {
  p.seller.market.issue({ receiptId: `task:${i}`, buyer: p.buyer.peerId, amount, what: 'classify' })
  p.buyer.market.capture({ holdId: p.holdId, receiptId: `task:${i}`, seller: p.seller.peerId, amount })
}

function mirrored (p: Pair): boolean {
  const b = p.buyer.market.wallet().peers.find(x => x.peer === p.seller.peerId)
  const s = p.seller.market.wallet().peers.find(x => x.peer === p.buyer.peerId)
  return b !== undefined && s !== undefined && b.payable === s.receivable && b.receivable === s.payable && b.unproven === 0 && s.unpaid === 0
}

test('after paymentEveryReceipts captures a proof goes out at once; the books then mirror each other', async () => {
  const p = await contracted({ buyer: { market: { paymentEveryReceipts: 4, paymentEveryMs: 60_000 } } })
  try {
    for (let i = 0; i < 3; i++) deliver(p, i)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(p.net.sent.filter(s => s.type === 'payment').length, 0, 'three receipts: not due yet')
    deliver(p, 3)
    await waitFor('the proof to be acknowledged', () => eventsOf(p.buyer, 'payment:sent').length === 1)
    assert.deepEqual(eventsOf(p.buyer, 'payment:sent')[0], { payer: p.buyer.peerId, payee: p.seller.peerId, nonce: 1, cumulative: '2.000000', amount: '2.000000' })
    assert.deepEqual(eventsOf(p.seller, 'payment:received')[0], { payer: p.buyer.peerId, payee: p.seller.peerId, nonce: 1, cumulative: '2.000000', amount: '2.000000' })
    assert.ok(mirrored(p))
    assert.equal(p.seller.market.wallet().earned, 2 * C)
    assert.equal(p.buyer.market.wallet().spent, 2 * C)
    assert.ok(walletBalances(p.buyer) && walletBalances(p.seller))
  } finally {
    await p.stop()
  }
})

test('fewer receipts are paid paymentEveryMs after the oldest of them', async () => {
  const p = await contracted({ buyer: { market: { paymentEveryReceipts: 100, paymentEveryMs: 150 } } })
  try {
    const started = Date.now()
    deliver(p, 0)
    deliver(p, 1)
    await waitFor('the timed proof', () => eventsOf(p.buyer, 'payment:sent').length === 1, { timeoutMs: 5000 })
    assert.ok(Date.now() - started >= 140, 'not before the time')
    assert.equal(eventsOf(p.buyer, 'payment:sent')[0]?.cumulative, '1.000000')
    assert.ok(mirrored(p))
  } finally {
    await p.stop()
  }
})

test('a payee that does not answer gets the same proof again, with backoff, until it acknowledges it', async () => {
  const p = await contracted({ buyer: { market: { paymentEveryReceipts: 1, paymentRetryMinMs: 20, paymentRetryMaxMs: 80 } } })
  try {
    p.net.down.add(p.seller.peerId)
    deliver(p, 0)
    await waitFor('a few failed sends', () => p.net.sent.filter(s => s.type === 'payment').length >= 3)
    deliver(p, 1)
    const failedSoFar = p.net.sent.filter(s => s.type === 'payment').length
    p.net.down.delete(p.seller.peerId)
    await waitFor('every receipt paid', () => mirrored(p), { timeoutMs: 5000 })
    const sent = eventsOf(p.buyer, 'payment:sent')
    assert.deepEqual(sent.map(e => [e.nonce, e.amount]), [[1, '0.500000'], [2, '0.500000']], 'the first proof unchanged, the later receipt in the next one')
    assert.ok(failedSoFar >= 3)
    assert.equal(eventsOf(p.seller, 'payment:received').length, 2)
    assert.equal(eventsOf(p.buyer, 'payment:refused').length, 0, 'a transport failure is no refusal')
  } finally {
    await p.stop()
  }
})

test('reconcile: both views side by side; none differ once traffic stopped', async () => {
  const p = await contracted({ buyer: { market: { paymentEveryReceipts: 3, paymentEveryMs: 60_000 } } })
  try {
    for (let i = 0; i < 5; i++) deliver(p, i)
    await waitFor('the first proof', () => eventsOf(p.buyer, 'payment:sent').length >= 1)
    assert.equal(eventsOf(p.buyer, 'payment:sent').length, 1, 'two receipts left: not due before a minute')
    const during = await p.seller.market.reconcile(p.buyer.peerId)
    assert.equal(during.remote.payable, 2.5 * C, 'the buyer owes every capture')
    assert.equal(during.local.receivable, 1.5 * C, 'the seller has proof of three')
    assert.equal(during.differences.length, 1)
    assert.match(during.differences[0] ?? '', /no proof of its has reached us yet/)
    p.buyer.market.flushPayments(p.seller.peerId)
    await waitFor('the rest paid', () => mirrored(p))
    const after = await p.buyer.market.reconcile(p.seller.peerId)
    assert.deepEqual(after.differences, [])
    assert.deepEqual(after.local, { peer: p.seller.peerId, receivable: 0, payable: 2.5 * C, sent: { nonce: 2, cumulative: 2.5 * C }, received: { nonce: 0, cumulative: 0 }, voided: { sent: 0, received: 0 } })
    assert.deepEqual(after.remote, { peer: p.buyer.peerId, receivable: 2.5 * C, payable: 0, sent: { nonce: 0, cumulative: 0 }, received: { nonce: 2, cumulative: 2.5 * C }, voided: { sent: 0, received: 0 } })
  } finally {
    await p.stop()
  }
})

test('the seller admits work under the buyer\'s contract even past its limit; outside it the unpaid receipts count', async () => {
  const p = await contracted({ seller: { market: { creditLimit: '60' } } })
  try {
    // the contract (100 × 0.5 = 50 credits) is exposure already: 10 left outside it
    assert.doesNotThrow(() => { p.seller.market.admit(p.buyer.peerId, 50 * C, 'classify') })
    const outside = p.seller.market.admit(p.buyer.peerId, 10 * C)
    assert.throws(() => { p.seller.market.admit(p.buyer.peerId, 10 * C + 1) }, /credit limit/, 'the 10 taken on are reserved')
    outside()
    for (let i = 0; i < 4; i++) p.seller.market.issue({ receiptId: `outside:${i}`, buyer: p.buyer.peerId, amount: 2 * C })
    assert.throws(() => { p.seller.market.admit(p.buyer.peerId, 2 * C + 1) }, /credit limit/, 'receipts issued but unpaid count')
    const metric = await p.seller.metrics.getSingleMetric('agora_market_credit_used_credits')?.get()
    assert.equal(metric?.values.find(v => v.labels.peer === p.buyer.peerId)?.value, 58)
  } finally {
    await p.stop()
  }
})
