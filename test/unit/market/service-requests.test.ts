/** MarketService, direct requests between two nodes in one process: accept, every reject reason, manual mode, funding, cancel, captures. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isCode } from '../../harness/checks.ts'
import { waitFor, within } from '../../harness/wait.ts'
import { C, eventsOf, LoopNet, marketNode, OfferBoard, offerOf, walletBalances, type MarketNode, type MarketNodeOptions, type OfferInit } from './service-nodes.ts'

interface Pair { net: LoopNet, board: OfferBoard, buyer: MarketNode, seller: MarketNode, offerId: string, stop(): Promise<void> }

async function pair (options: { buyer?: MarketNodeOptions, seller?: MarketNodeOptions, offer?: OfferInit } = {}): Promise<Pair> {
  const net = new LoopNet()
  const board = new OfferBoard()
  const buyer = await marketNode(net, board, options.buyer)
  const seller = await marketNode(net, board, options.seller)
  const offer = board.put(offerOf(seller.peerId, options.offer))
  return { net, board, buyer, seller, offerId: offer.id, stop: async () => { await buyer.stop(); await seller.stop() } }
}

test('auto mode: the seller accepts within price, capacity and credit; the buyer holds maxTotal only then', async () => {
  const p = await pair()
  try {
    const contract = await p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 10, maxUnitPrice: 1 * C })
    assert.equal(contract.state, 'accepted')
    assert.equal(contract.role, 'buyer')
    assert.equal(contract.unitPrice, 0.5 * C, 'the offer\'s price, not the max')
    assert.equal(contract.maxTotal, 5 * C)
    const theirs = p.seller.market.contract(contract.id)
    assert.deepEqual({ ...theirs, role: 'buyer', createdAt: 0, updatedAt: 0 }, { ...contract, createdAt: 0, updatedAt: 0 }, 'both sides hold the same terms')
    assert.equal(theirs.role, 'seller')
    assert.equal(p.buyer.market.wallet().held, 5 * C)
    assert.equal(p.buyer.market.wallet().available, 995 * C)
    assert.equal(p.seller.market.wallet().held, 0, 'the seller holds nothing')
    assert.equal(eventsOf(p.buyer, 'contract:accepted').length, 1)
    assert.equal(eventsOf(p.seller, 'contract:accepted').length, 1)
    assert.ok(walletBalances(p.buyer))
    assert.deepEqual(p.buyer.market.contractFor(p.seller.peerId, 'classify', 5 * C), { holdId: `contract:${contract.id}` })
    assert.equal(p.buyer.market.contractFor(p.seller.peerId, 'classify', 5 * C + 1), undefined, 'no room for more')
    assert.equal(p.buyer.market.contractFor(p.seller.peerId, 'test-chat', 1), undefined, 'another what')
    assert.deepEqual(p.buyer.market.contractFor(p.seller.peerId, 'classify', C, { only: [contract.id] }), { holdId: `contract:${contract.id}` }, 'a job\'s own contract')
    assert.equal(p.buyer.market.contractFor(p.seller.peerId, 'classify', C, { only: ['another'] }), undefined, 'only the ones named')
  } finally {
    await p.stop()
  }
})

test('a model is sold per 1,000 tokens at the offer\'s completion price; `what` may be left out only when the offer serves one thing', async () => {
  const p = await pair({ offer: { taskTypes: [], models: ['llm-a'], per1kCompletion: '0.250000' } })
  try {
    const contract = await p.buyer.market.request({ offerId: p.offerId, quantity: 4, maxUnitPrice: 1 * C })
    assert.equal(contract.what, 'llm-a')
    assert.equal(contract.maxTotal, 1 * C)
    p.board.put(offerOf(p.seller.peerId, { taskTypes: ['classify'], models: ['llm-a'] }))
    await assert.rejects(p.buyer.market.request({ offerId: p.offerId, quantity: 1, maxUnitPrice: C }), isCode('E1115'), 'two things served: say which')
    await assert.rejects(p.buyer.market.request({ offerId: p.offerId, what: 'nope', quantity: 1, maxUnitPrice: C }), isCode('E1115'))
    await assert.rejects(p.buyer.market.request({ offerId: 'no-such-offer', quantity: 1, maxUnitPrice: C }), isCode('E1115'))
  } finally {
    await p.stop()
  }
})

async function rejected (p: Pair, request: Parameters<MarketNode['market']['request']>[0], reason: string): Promise<void> {
  await assert.rejects(p.buyer.market.request(request), (err: unknown) => {
    isCode('E1114')(err)
    assert.equal((err as { details: { reason: string } }).details.reason, reason)
    return true
  })
  const [contract] = p.buyer.market.contracts({ role: 'buyer', state: 'rejected' })
  assert.equal(contract?.reason, reason, 'the buyer keeps the rejected request')
  assert.equal(p.buyer.market.wallet().held, 0, 'nothing held')
  assert.equal(eventsOf(p.buyer, 'contract:rejected').at(-1)?.reason, reason)
  assert.equal(p.seller.market.contracts().length, 0, 'an auto-rejected request is not stored by the seller')
}

test('rejected for price: the unit price is above the buyer\'s max', async () => {
  const p = await pair()
  try {
    await rejected(p, { offerId: p.offerId, what: 'classify', quantity: 1, maxUnitPrice: 0.499999 * C }, 'price')
  } finally {
    await p.stop()
  }
})

test('rejected for credit-limit: the buyer\'s exposure plus the contract would pass the seller\'s limit', async () => {
  const p = await pair({ seller: { market: { creditLimit: '4.999999' } } })
  try {
    await rejected(p, { offerId: p.offerId, what: 'classify', quantity: 10, maxUnitPrice: C }, 'credit-limit')
    p.seller.market.setLimit(p.buyer.peerId, 5 * C)
    const ok = await p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 10, maxUnitPrice: C })
    assert.equal(ok.state, 'accepted', 'exactly at the limit')
    await assert.rejects(p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 1, maxUnitPrice: C }), isCode('E1114'), 'its open contract counts')
  } finally {
    await p.stop()
  }
})

test('rejected for capacity: a seller with no slots at all; one busy right now still sells (the contract is for later work)', async () => {
  const none = await pair({ offer: { slotsTotal: 0 } })
  try {
    await rejected(none, { offerId: none.offerId, what: 'classify', quantity: 1, maxUnitPrice: C }, 'capacity')
  } finally {
    await none.stop()
  }
  const busy = await pair({ offer: { slotsIdle: 0 } })
  try {
    const contract = await busy.buyer.market.request({ offerId: busy.offerId, what: 'classify', quantity: 1, maxUnitPrice: C })
    assert.equal(contract.state, 'accepted')
  } finally {
    await busy.stop()
  }
})

test('rejected for trust: the seller has banned the buyer', async () => {
  const p = await pair()
  try {
    p.seller.peerBook.ban(p.buyer.peerId, { reason: 'test' })
    await rejected(p, { offerId: p.offerId, what: 'classify', quantity: 1, maxUnitPrice: C }, 'trust')
  } finally {
    await p.stop()
  }
})

test('rejected as unknown-offer: the buyer asks under an offer id the seller no longer announces', async () => {
  const p = await pair()
  try {
    const current = p.board.offers.get(p.offerId)
    assert.ok(current !== undefined)
    // an older offer of the seller the buyer still holds (the seller's own offer is the first one)
    p.board.put({ ...current, id: 'offer-stale-0001' })
    await rejected(p, { offerId: 'offer-stale-0001', what: 'classify', quantity: 1, maxUnitPrice: C }, 'unknown-offer')
  } finally {
    await p.stop()
  }
})

test('a quote the wallet cannot cover: E1101, nothing held, the seller\'s copy stays accepted until it expires', async () => {
  const p = await pair({ buyer: { market: { initialCredits: '4.999999' } } })
  try {
    await assert.rejects(p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 10, maxUnitPrice: C, expiresAt: Date.now() + 300 }), isCode('E1101'))
    assert.equal(p.buyer.market.wallet().held, 0)
    assert.equal(p.buyer.market.contracts().length, 0, 'the buyer keeps nothing of it')
    const [theirs] = p.seller.market.contracts()
    assert.equal(theirs?.state, 'accepted')
    await waitFor('the unfunded contract to expire on the seller', () => p.seller.market.contract(theirs?.id ?? '').state === 'expired', { timeoutMs: 5000 })
  } finally {
    await p.stop()
  }
})

test('manual mode: the request waits for the operator; accept ends the buyer\'s wait with the contract', async () => {
  const p = await pair({ seller: { market: { acceptMode: 'manual', pendingWaitMs: 100 } } })
  try {
    const asking = p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 2, maxUnitPrice: C })
    const [pending] = await waitFor('the request to be pending', () => { const list = p.seller.market.pending(); return list.length > 0 ? list : undefined })
    assert.equal(pending?.state, 'proposed')
    await waitFor('the buyer to know it is pending', () => p.buyer.market.contracts({ state: 'proposed' }).length === 1)
    assert.equal(p.buyer.market.wallet().held, 0, 'nothing held before the seller accepts')
    const accepted = await p.seller.market.accept(pending?.id ?? '')
    assert.equal(accepted.state, 'accepted')
    const contract = await within('the buyer\'s request', asking, 5000)
    assert.equal(contract.id, pending?.id)
    assert.equal(contract.state, 'accepted')
    assert.equal(p.buyer.market.wallet().held, 1 * C)
    assert.equal(p.seller.market.pending().length, 0)
    await assert.rejects(p.seller.market.accept(contract.id), isCode('E1112'), 'accepted already')
    await assert.rejects(p.buyer.market.accept(contract.id), isCode('E1111'), 'the buyer cannot accept')
  } finally {
    await p.stop()
  }
})

test('manual mode: reject by the operator ends the buyer\'s wait with E1114 and the reason', async () => {
  const p = await pair({ seller: { market: { acceptMode: 'manual', pendingWaitMs: 100 } } })
  try {
    const asking = p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 2, maxUnitPrice: C })
    const [pending] = await waitFor('the request to be pending', () => { const list = p.seller.market.pending(); return list.length > 0 ? list : undefined })
    const rejectedOne = await p.seller.market.reject(pending?.id ?? '', 'declined')
    assert.equal(rejectedOne.reason, 'declined')
    await assert.rejects(within('the buyer\'s request', asking, 5000), (err: unknown) => isCode('E1114')(err) && (err as { details: { reason: string } }).details.reason === 'declined')
    assert.equal(p.buyer.market.contract(pending?.id ?? '').state, 'rejected')
  } finally {
    await p.stop()
  }
})

test('manual mode: past market.maxPending a request is rejected for capacity; a pending one past its expiry expires', async () => {
  const p = await pair({ seller: { market: { acceptMode: 'manual', maxPending: 1, pendingWaitMs: 50 } } })
  try {
    const first = p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 1, maxUnitPrice: C, expiresAt: Date.now() + 400 })
    first.catch(() => {})
    await waitFor('one pending', () => p.seller.market.pending().length === 1)
    await assert.rejects(p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 1, maxUnitPrice: C }), (err: unknown) => isCode('E1114')(err) && (err as { details: { reason: string } }).details.reason === 'capacity')
    await assert.rejects(within('the first request', first, 5000), isCode('E1113'))
    await waitFor('the pending request to expire on the seller', () => p.seller.market.contracts({ state: 'expired' }).length === 1, { timeoutMs: 5000 })
    assert.equal(p.buyer.market.contracts({ state: 'expired' }).length, 1)
  } finally {
    await p.stop()
  }
})

test('captures draw on the contract\'s hold; used up it is settled; more than its room → E1104', async () => {
  const p = await pair()
  try {
    const contract = await p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 3, maxUnitPrice: C })
    const holdId = `contract:${contract.id}`
    for (let i = 0; i < 2; i++) {
      p.seller.market.issue({ receiptId: `r${i}`, buyer: p.buyer.peerId, amount: 0.5 * C, what: 'classify' })
      p.buyer.market.capture({ holdId, receiptId: `r${i}`, seller: p.seller.peerId, amount: 0.5 * C })
    }
    p.buyer.market.capture({ holdId, receiptId: 'r1', seller: p.seller.peerId, amount: 0.5 * C })
    assert.equal(p.buyer.market.contract(contract.id).captured, 1 * C, 'a capture retried counts once')
    assert.equal(p.seller.market.contract(contract.id).captured, 1 * C)
    assert.throws(() => { p.buyer.market.capture({ holdId, receiptId: 'big', seller: p.seller.peerId, amount: 0.5 * C + 1 }) }, isCode('E1104'))
    p.seller.market.issue({ receiptId: 'r2', buyer: p.buyer.peerId, amount: 0.5 * C, contractId: contract.id })
    p.buyer.market.capture({ holdId, receiptId: 'r2', seller: p.seller.peerId, amount: 0.5 * C })
    assert.equal(p.buyer.market.contract(contract.id).state, 'settled')
    assert.equal(p.seller.market.contract(contract.id).state, 'settled')
    assert.equal(p.buyer.market.wallet().held, 0)
    assert.equal(p.buyer.market.wallet().spent, 1.5 * C)
    assert.ok(walletBalances(p.buyer))
  } finally {
    await p.stop()
  }
})

test('cancel: nothing captured → refunded, something captured → settled; the rest of the hold goes back once', async () => {
  const p = await pair()
  try {
    const a = await p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 4, maxUnitPrice: C })
    const b = await p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 4, maxUnitPrice: C })
    p.seller.market.issue({ receiptId: 'x', buyer: p.buyer.peerId, amount: 0.5 * C, what: 'classify' })
    p.buyer.market.capture({ holdId: `contract:${b.id}`, receiptId: 'x', seller: p.seller.peerId, amount: 0.5 * C })
    assert.equal((await p.buyer.market.cancel(a.id)).state, 'refunded')
    assert.equal((await p.buyer.market.cancel(b.id)).state, 'settled')
    await assert.rejects(p.buyer.market.cancel(a.id), isCode('E1112'))
    p.buyer.market.release(`contract:${a.id}`)
    const w = p.buyer.market.wallet()
    assert.equal(w.held, 0)
    assert.equal(w.available, 1000 * C - 0.5 * C, 'every credit back but the one receipt')
    assert.equal(p.buyer.market.history({ account: `held:contract:${a.id}` }).filter(e => e.kind === 'release').length, 1, 'released exactly once')
    await assert.rejects(p.buyer.market.cancel('no-such-contract'), isCode('E1110'))
  } finally {
    await p.stop()
  }
})

test('expiry: an accepted contract past expiresAt expires on both sides and its hold is released exactly once', async () => {
  const p = await pair({ buyer: { market: { expirySweepMs: 50 } }, seller: { market: { expirySweepMs: 50 } } })
  try {
    const contract = await p.buyer.market.request({ offerId: p.offerId, what: 'classify', quantity: 2, maxUnitPrice: C, expiresAt: Date.now() + 300 })
    assert.equal(p.buyer.market.wallet().held, 1 * C)
    await waitFor('the contract to expire on both sides', () => p.buyer.market.contract(contract.id).state === 'expired' && p.seller.market.contract(contract.id).state === 'expired', { timeoutMs: 5000 })
    assert.equal(p.buyer.market.wallet().held, 0)
    assert.equal(p.buyer.market.wallet().available, 1000 * C)
    p.buyer.market.release(`contract:${contract.id}`)
    const releases = p.buyer.market.history({ account: `held:contract:${contract.id}` }).filter(e => e.kind === 'release' || e.kind === 'expire')
    assert.equal(releases.length, 1, 'one release, whoever came first')
    assert.equal(eventsOf(p.buyer, 'contract:expired').length, 1)
    assert.equal(eventsOf(p.seller, 'contract:expired').length, 1)
    await assert.rejects(p.buyer.market.cancel(contract.id), isCode('E1112'))
  } finally {
    await p.stop()
  }
})
