/**
 * Direct requests on /agora/market/1 between real libp2p nodes on loopback:
 * a buyer asks two sellers (one accepts, one refuses on price), draws on
 * the contract with receipts, pays with proofs, and once traffic stops both
 * books agree to the micro-credit; manual mode; expiry.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isCode } from '../harness/checks.ts'
import { createMarketNodes, meet, stopMarketNodes, seenOf, type MarketTestNode } from '../harness/market-nodes.ts'
import { waitFor, within } from '../harness/wait.ts'

const C = 1_000_000


function pairBooksAgree (buyer: MarketTestNode, seller: MarketTestNode): boolean {
  const b = buyer.market.wallet().peers.find(p => p.peer === seller.peerId)
  const s = seller.market.wallet().peers.find(p => p.peer === buyer.peerId)
  return b !== undefined && s !== undefined && b.payable === s.receivable && s.payable === b.receivable && b.unproven === 0 && s.unpaid === 0
}

function walletHolds (node: MarketTestNode): boolean {
  const w = node.market.wallet()
  return w.grant + w.earned - w.spent === w.available + w.held
}

test('a buyer asks two sellers: one accepts (hold placed), one rejects on price; receipts, proofs, and books that agree', async () => {
  const market = { initialCredits: '100', paymentEveryMs: 200 }
  const [buyer, cheap, dear] = await createMarketNodes({ market }, { market, prices: { perTask: '0.5' } }, { market, prices: { perTask: '2' } })
  const all = [buyer, cheap, dear] as MarketTestNode[]
  try {
    if (buyer === undefined || cheap === undefined || dear === undefined) throw new Error('three nodes expected')
    const [cheapOffer, dearOffer] = await Promise.all([meet(buyer, cheap), meet(buyer, dear)])

    const contract = await buyer.market.request({ offerId: cheapOffer, what: 'classify', quantity: 40, maxUnitPrice: 1 * C })
    assert.equal(contract.state, 'accepted')
    assert.equal(contract.maxTotal, 20 * C)
    assert.equal(cheap.market.contract(contract.id).state, 'accepted', 'accepted on both sides')
    assert.equal(cheap.market.contract(contract.id).role, 'seller')
    assert.equal(buyer.market.wallet().held, 20 * C, 'the hold is placed')

    await assert.rejects(buyer.market.request({ offerId: dearOffer, what: 'classify', quantity: 10, maxUnitPrice: 1 * C }), (err: unknown) => {
      isCode('E1114')(err)
      assert.equal((err as { details: { reason: string } }).details.reason, 'price')
      return true
    })
    assert.equal(buyer.market.wallet().held, 20 * C, 'nothing held for the rejected request')
    assert.equal(dear.market.contracts().length, 0)

    // 40 deliveries under the contract: the seller issues each receipt, the buyer captures it
    const source = buyer.market.contractFor(cheap.peerId, 'classify', 0.5 * C)
    assert.deepEqual(source, { holdId: `contract:${contract.id}` })
    for (let i = 0; i < 40; i++) {
      cheap.market.admit(buyer.peerId, 0.5 * C, 'classify')
      cheap.market.issue({ receiptId: `task:${i}`, buyer: buyer.peerId, amount: 0.5 * C, what: 'classify' })
      buyer.market.capture({ holdId: source?.holdId ?? '', receiptId: `task:${i}`, seller: cheap.peerId, amount: 0.5 * C })
    }
    await waitFor('the books of the pair to agree', () => pairBooksAgree(buyer, cheap), { timeoutMs: 15_000 })

    const b = buyer.market.wallet()
    const s = cheap.market.wallet()
    assert.equal(b.peers.find(p => p.peer === cheap.peerId)?.payable, 20 * C)
    assert.equal(s.peers.find(p => p.peer === buyer.peerId)?.receivable, 20 * C)
    assert.deepEqual([b.spent, b.held, b.available], [20 * C, 0, 80 * C])
    assert.deepEqual([s.earned, s.available], [20 * C, 120 * C])
    assert.ok(walletHolds(buyer) && walletHolds(cheap) && walletHolds(dear))
    assert.equal(buyer.market.contract(contract.id).state, 'settled', 'used up')
    assert.equal(cheap.market.contract(contract.id).state, 'settled')
    const proofs = seenOf(buyer, 'payment:sent')
    // the first at 16 receipts; the rest (captured while it was in flight) in the next one
    assert.ok(proofs.length >= 2, `at least two proofs (${proofs.length})`)
    assert.deepEqual(proofs.map(e => e.nonce), proofs.map((_, i) => i + 1), 'nonces one by one')
    assert.equal(proofs.at(-1)?.cumulative, '20.000000')
    assert.deepEqual(seenOf(cheap, 'payment:received').map(e => e.nonce), proofs.map(e => e.nonce))
    assert.equal(seenOf(buyer, 'payment:refused').length + seenOf(cheap, 'payment:refused').length, 0)

    const { differences } = await buyer.market.reconcile(cheap.peerId)
    assert.deepEqual(differences, [])
  } finally {
    await stopMarketNodes(all)
  }
})

test('manual mode: the request waits as pending; the operator accepts one and rejects another', async () => {
  const [buyer, seller] = await createMarketNodes({ market: { initialCredits: '100' } }, { market: { acceptMode: 'manual', pendingWaitMs: 2000 }, prices: { perTask: '1' } })
  const all = [buyer, seller] as MarketTestNode[]
  try {
    if (buyer === undefined || seller === undefined) throw new Error('two nodes expected')
    const offerId = await meet(buyer, seller)
    const first = buyer.market.request({ offerId, what: 'classify', quantity: 3, maxUnitPrice: C })
    first.catch(() => {})
    const pending = await waitFor('the request to be pending at the seller', () => seller.market.pending()[0])
    assert.equal(pending.state, 'proposed')
    await waitFor('the buyer to see it proposed', () => buyer.market.contracts({ state: 'proposed' }).length === 1)
    assert.equal(buyer.market.wallet().held, 0, 'nothing held before the seller accepts')
    await seller.market.accept(pending.id)
    const contract = await within('the accepted request', first, 10_000)
    assert.equal(contract.state, 'accepted')
    assert.equal(contract.id, pending.id)
    assert.equal(buyer.market.wallet().held, 3 * C)

    const second = buyer.market.request({ offerId, what: 'classify', quantity: 1, maxUnitPrice: C })
    second.catch(() => {})
    const next = await waitFor('the second request to be pending', () => seller.market.pending()[0])
    await seller.market.reject(next.id, 'declined')
    await assert.rejects(within('the rejected request', second, 10_000), (err: unknown) => isCode('E1114')(err) && (err as { details: { reason: string } }).details.reason === 'declined')
    assert.equal(buyer.market.contract(next.id).state, 'rejected')
    assert.equal(buyer.market.wallet().held, 3 * C)
  } finally {
    await stopMarketNodes(all)
  }
})

test('expiry: the contract expires on both sides and the buyer\'s hold is released exactly once', async () => {
  const market = { initialCredits: '100', expirySweepMs: 100, holdSweepMs: 50 }
  const [buyer, seller] = await createMarketNodes({ market }, { market, prices: { perTask: '1' } })
  const all = [buyer, seller] as MarketTestNode[]
  try {
    if (buyer === undefined || seller === undefined) throw new Error('two nodes expected')
    const offerId = await meet(buyer, seller)
    const contract = await buyer.market.request({ offerId, what: 'classify', quantity: 5, maxUnitPrice: C, expiresAt: Date.now() + 800 })
    const holdId = `contract:${contract.id}`
    buyer.market.capture({ holdId, receiptId: 'one', seller: seller.peerId, amount: C })
    await waitFor('expired on both sides', () => buyer.market.contract(contract.id).state === 'expired' && seller.market.contract(contract.id).state === 'expired', { timeoutMs: 10_000 })
    buyer.market.release(holdId)
    const w = buyer.market.wallet()
    assert.deepEqual([w.held, w.available, w.spent], [0, 99 * C, 1 * C], 'four credits back, one spent')
    assert.equal(buyer.market.history({ account: `held:${holdId}` }).filter(e => e.kind === 'release' || e.kind === 'expire').length, 1)
    assert.equal(seenOf(buyer, 'contract:expired').length, 1)
    assert.equal(seenOf(seller, 'contract:expired').length, 1)
    assert.throws(() => { buyer.market.capture({ holdId, receiptId: 'late', seller: seller.peerId, amount: C }) }, isCode('E1104'))
  } finally {
    await stopMarketNodes(all)
  }
})
