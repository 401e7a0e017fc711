/** MarketService across stop and start: contracts and unacknowledged proofs survive a restart; a stopped service refuses; a pending request can be given up. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { isCode } from '../../harness/checks.ts'
import { tempDir } from '../../harness/temp.ts'
import { waitFor, within } from '../../harness/wait.ts'
import { C, eventsOf, LoopNet, marketNode, OfferBoard, offerOf } from './service-nodes.ts'

test('restart: an accepted contract keeps its captures, and an unacknowledged proof goes out again unchanged', async () => {
  const dir = tempDir('agora-market-restart-')
  const net = new LoopNet()
  const board = new OfferBoard()
  const seller = await marketNode(net, board)
  let buyer = await marketNode(net, board, { path: join(dir, 'buyer.db'), market: { paymentEveryReceipts: 1, paymentRetryMinMs: 60_000 } })
  try {
    const offer = board.put(offerOf(seller.peerId))
    const contract = await buyer.market.request({ offerId: offer.id, what: 'classify', quantity: 4, maxUnitPrice: C })
    net.down.add(seller.peerId)
    seller.market.issue({ receiptId: 'r1', buyer: buyer.peerId, amount: 0.5 * C, what: 'classify' })
    buyer.market.capture({ holdId: `contract:${contract.id}`, receiptId: 'r1', seller: seller.peerId, amount: 0.5 * C })
    await waitFor('a failed send', () => net.sent.some(s => s.type === 'payment'))
    await buyer.market.durable()
    const identity = buyer.identity
    await buyer.stop()

    net.down.delete(seller.peerId)
    buyer = await marketNode(net, board, { path: join(dir, 'buyer.db'), identity, market: { paymentEveryReceipts: 1 } })
    const again = buyer.market.contract(contract.id)
    assert.equal(again.state, 'accepted')
    assert.equal(again.captured, 0.5 * C)
    assert.equal(buyer.market.wallet().held, 1.5 * C)
    await waitFor('the proof acknowledged after the restart', () => eventsOf(seller, 'payment:received').length === 1)
    assert.equal(eventsOf(seller, 'payment:received')[0]?.nonce, 1, 'the same proof, nonce 1')
    assert.equal(seller.market.wallet().earned, 0.5 * C)
  } finally {
    await buyer.stop()
    await seller.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a stopped service refuses requests (E504) and a stop ends a request still waiting for the operator', async () => {
  const net = new LoopNet()
  const board = new OfferBoard()
  const seller = await marketNode(net, board, { market: { acceptMode: 'manual', pendingWaitMs: 5000 } })
  const buyer = await marketNode(net, board)
  try {
    const offer = board.put(offerOf(seller.peerId))
    const waiting = buyer.market.request({ offerId: offer.id, what: 'classify', quantity: 1, maxUnitPrice: C })
    waiting.catch(() => {})
    await waitFor('pending', () => buyer.market.contracts({ state: 'proposed' }).length === 1)
    await buyer.market.stop()
    await assert.rejects(within('the request to end', waiting, 5000))
    assert.equal(buyer.market.contracts()[0]?.state, 'cancelled')
    await assert.rejects(buyer.market.request({ offerId: offer.id, what: 'classify', quantity: 1, maxUnitPrice: C }), isCode('E504'))
  } finally {
    await buyer.stop()
    await seller.stop()
  }
})

test('cancel of a pending request: the buyer stops asking, the request ends with E1112, the contract is cancelled', async () => {
  const net = new LoopNet()
  const board = new OfferBoard()
  const seller = await marketNode(net, board, { market: { acceptMode: 'manual', pendingWaitMs: 5000 } })
  const buyer = await marketNode(net, board)
  try {
    const offer = board.put(offerOf(seller.peerId))
    const waiting = buyer.market.request({ offerId: offer.id, what: 'classify', quantity: 1, maxUnitPrice: C })
    waiting.catch(() => {})
    const [pending] = await waitFor('pending', () => { const list = buyer.market.contracts({ state: 'proposed' }); return list.length > 0 ? list : undefined })
    const cancelled = await buyer.market.cancel(pending?.id ?? '')
    assert.equal(cancelled.state, 'cancelled')
    await assert.rejects(within('the request to end', waiting, 5000), isCode('E1112'))
    assert.equal(eventsOf(buyer, 'contract:cancelled').length, 1)
    assert.equal(buyer.market.wallet().held, 0)
  } finally {
    await buyer.stop()
    await seller.stop()
  }
})

test('the seller withdraws from an accepted contract: cancelled on its side; work under it is no longer admitted past the limit', async () => {
  const net = new LoopNet()
  const board = new OfferBoard()
  const seller = await marketNode(net, board, { market: { creditLimit: '2' } })
  const buyer = await marketNode(net, board)
  try {
    const offer = board.put(offerOf(seller.peerId))
    const contract = await buyer.market.request({ offerId: offer.id, what: 'classify', quantity: 4, maxUnitPrice: C })
    assert.doesNotThrow(() => { seller.market.admit(buyer.peerId, 2 * C, 'classify') })
    assert.equal((await seller.market.cancel(contract.id)).state, 'cancelled')
    assert.throws(() => { seller.market.admit(buyer.peerId, 2 * C + 1, 'classify') }, isCode('E1102'))
    await assert.rejects(seller.market.cancel(contract.id), isCode('E1112'))
  } finally {
    await buyer.stop()
    await seller.stop()
  }
})
