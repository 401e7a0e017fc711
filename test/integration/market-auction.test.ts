/**
 * The open auction between real libp2p nodes on loopback: a buyer gossips a
 * NEED, three sellers hear it, the two whose price fits the budget PROPOSE,
 * the buyer decides the best and the decision becomes a contract the
 * winner is paid through; proposals after the deadline or above the budget
 * and forged ones are refused; a NEED flood from one signer is dropped by
 * the sellers' rate limit.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { signEnvelope } from '../../src/identity/index.ts'
import { marketProtocol } from '../../src/market/index.ts'
import { isCode } from '../harness/checks.ts'
import { createMarketNodes, meet, stopMarketNodes, seenOf, type MarketTestNode } from '../harness/market-nodes.ts'
import { waitFor } from '../harness/wait.ts'

const C = 1_000_000


/** Every node in the buyer's mesh on /agora/needs/1 (gossip needs a subscriber to publish to). */
async function meshed (buyer: MarketTestNode, sellers: MarketTestNode[]): Promise<void> {
  for (const seller of sellers) await meet(buyer, seller)
  await waitFor('the sellers in the buyer\'s needs mesh', () => {
    const subscribers = buyer.node.gossip.topicPeers('/agora/needs/1')
    return sellers.every(s => subscribers.includes(s.peerId))
  }, { timeoutMs: 15_000 })
}

test('an auction with three sellers: two propose within the budget, the best wins, its contract pays it; the loser hears it lost', async () => {
  const market = { initialCredits: '100', paymentEveryMs: 200 }
  const [buyer, cheap, mid, dear] = await createMarketNodes({ market }, { market, prices: { perTask: '0.3' } }, { market, prices: { perTask: '0.5' } }, { market, prices: { perTask: '2' } })
  const all = [buyer, cheap, mid, dear] as MarketTestNode[]
  try {
    if (buyer === undefined || cheap === undefined || mid === undefined || dear === undefined) throw new Error('four nodes expected')
    await meshed(buyer, [cheap, mid, dear])
    const need = await buyer.market.need({ taskType: 'classify', quantity: 10, budget: 10 * C, deadline: Date.now() + 2000 })
    assert.equal(need.state, 'open')
    await waitFor('two proposals', () => buyer.market.needView(need.id).proposals.length === 2, { timeoutMs: 10_000 })
    const { proposals } = buyer.market.needView(need.id)
    assert.deepEqual(proposals.map(p => [p.seller, p.unitPrice]), [[cheap.peerId, 0.3 * C], [mid.peerId, 0.5 * C]], 'best first; 2 × 10 is over the budget: no proposal from the dear seller')
    assert.ok((proposals[0]?.score ?? 0) > (proposals[1]?.score ?? 1))
    assert.equal(seenOf(dear, 'need:proposed').length, 0)

    const decided = await waitFor('the need decided at its deadline', () => {
      const current = buyer.market.needView(need.id).need
      return current.state === 'decided' ? current : undefined
    }, { timeoutMs: 15_000 })
    assert.equal(decided.seller, cheap.peerId)
    assert.equal(decided.epoch, 1)
    const contract = buyer.market.contract(decided.contractId ?? '')
    assert.deepEqual([contract.state, contract.seller, contract.unitPrice, contract.maxTotal], ['accepted', cheap.peerId, 0.3 * C, 3 * C])
    assert.equal(cheap.market.contract(contract.id).state, 'accepted', 'the winner holds the same contract')
    assert.equal(buyer.market.wallet().held, 3 * C, 'the hold is the contract\'s')
    assert.deepEqual(buyer.market.needView(need.id).proposals.map(p => p.state).sort(), ['lost', 'won'])
    await waitFor('both sellers hear the decision', () => seenOf(cheap, 'need:awarded').length === 1 && seenOf(mid, 'need:awarded').length === 1)
    assert.deepEqual([seenOf(cheap, 'need:awarded')[0]?.won, seenOf(mid, 'need:awarded')[0]?.won], [true, false])

    // the work, delivered under the contract: receipts issued, captured, paid by proof
    const source = buyer.market.contractFor(cheap.peerId, 'classify', 0.3 * C)
    assert.deepEqual(source, { holdId: `contract:${contract.id}` })
    for (let i = 0; i < 10; i++) {
      cheap.market.issue({ receiptId: `task:${i}`, buyer: buyer.peerId, amount: 0.3 * C, what: 'classify' })
      buyer.market.capture({ holdId: source?.holdId ?? '', receiptId: `task:${i}`, seller: cheap.peerId, amount: 0.3 * C })
    }
    await waitFor('the winner paid', () => cheap.market.wallet().earned === 3 * C && buyer.market.wallet().peers.find(p => p.peer === cheap.peerId)?.unproven === 0, { timeoutMs: 15_000 })
    assert.equal(buyer.market.contract(contract.id).state, 'settled')
    assert.deepEqual([buyer.market.wallet().spent, buyer.market.wallet().held], [3 * C, 0])
    assert.equal(mid.market.wallet().earned, 0)
    assert.deepEqual(seenOf(buyer, 'need:decided').map(e => [e.seller, e.unitPrice]), [[cheap.peerId, '0.300000']])
  } finally {
    await stopMarketNodes(all)
  }
})

test('proposals after the deadline, above the budget, for another node\'s need, at another price than the seller posts, or signed by someone else are refused; a need nobody answers expires', async () => {
  const [buyer, seller, other] = await createMarketNodes({}, { prices: { perTask: '1' } }, {})
  const all = [buyer, seller, other] as MarketTestNode[]
  try {
    if (buyer === undefined || seller === undefined || other === undefined) throw new Error('three nodes expected')
    await meet(buyer, seller)
    await meet(buyer, other)
    const need = await buyer.market.need({ taskType: 'nobody-runs-this', quantity: 4, budget: 2 * C, deadline: Date.now() + 1500, decide: 'manual' })
    const propose = async (from: MarketTestNode, fields: Record<string, unknown>): Promise<unknown> => {
      const payload = { thread: need.thread, epoch: 0, lamport: 1, unitPrice: '0.500000', etaMs: 1000, capacity: 4, ...fields }
      const envelope = signEnvelope(from.node.identity, { kind: 'PROPOSE', payload, to: buyer.peerId })
      return await seller.node.reqresp.request(buyer.peerId, marketProtocol, { type: 'propose', envelope })
    }
    const standing = buyer.peerBook.view(seller.peerId)?.reputation
    await assert.rejects(propose(seller, { unitPrice: '0.600000' }), isCode('E1132'), '0.6 × 4 > 2')
    await assert.rejects(propose(seller, {}), isCode('E1133'), 'the seller has no offer for that task type here')
    // a proposal must be the seller's posted price (1 a task): a cheaper one could never become a contract
    const classify = await buyer.market.need({ taskType: 'classify', quantity: 2, budget: 10 * C, deadline: Date.now() + 60_000, decide: 'manual' })
    const cheaper = signEnvelope(seller.node.identity, { kind: 'PROPOSE', payload: { thread: classify.thread, epoch: 0, lamport: 1, unitPrice: '0.500000', etaMs: 1, capacity: 2 }, to: buyer.peerId })
    await assert.rejects(seller.node.reqresp.request(buyer.peerId, marketProtocol, { type: 'propose', envelope: cheaper }), isCode('E1133'))
    assert.equal(buyer.peerBook.view(seller.peerId)?.reputation, standing, 'neither is counted against the seller (its offer may not have arrived yet)')
    buyer.market.cancelNeed(classify.id)
    await assert.rejects(propose(other, {}), isCode('E1117'), 'a PROPOSE signed by another node than the caller')
    await assert.rejects(propose(seller, { thread: `${seller.peerId}/need/x` }), isCode('E1133'))
    await waitFor('the deadline', () => Date.now() > need.deadline + 10 ? true : undefined, { timeoutMs: 5000 })
    await assert.rejects(propose(seller, { unitPrice: '0.100000', lamport: 2 }), isCode('E1131'))
    assert.equal(buyer.market.needView(need.id).proposals.length, 0)
    await assert.rejects(buyer.market.decideNeed(need.id), isCode('E1134'))
    assert.equal(buyer.market.needView(need.id).need.state, 'failed')

    const lonely = await buyer.market.need({ taskType: 'nobody-runs-this', quantity: 1, budget: 1 * C, deadline: Date.now() + 300 })
    await assert.rejects(buyer.market.auction({ taskType: 'nobody-runs-this', quantity: 1, budget: 1 * C, deadline: Date.now() + 300 }), isCode('E1134'))
    await waitFor('the unanswered need expired', () => buyer.market.needView(lonely.id).need.state === 'expired', { timeoutMs: 5000 })
    assert.equal(buyer.market.wallet().held, 0, 'nothing held by needs that made no contract')
  } finally {
    await stopMarketNodes(all)
  }
})

test('a NEED flood from one buyer: sellers drop what passes the per-signer rate and answer only a few', async () => {
  const [flooder, seller] = await createMarketNodes({}, { prices: { perTask: '0.1' } })
  const all = [flooder, seller] as MarketTestNode[]
  try {
    if (flooder === undefined || seller === undefined) throw new Error('two nodes expected')
    await meshed(flooder, [seller])
    const deadline = Date.now() + 5000
    for (let i = 0; i < 40; i++) await flooder.market.need({ taskType: 'classify', quantity: 1, budget: 1 * C, deadline, decide: 'manual' })
    await waitFor('some proposals back', () => seenOf(flooder, 'need:proposal').length >= 1, { timeoutMs: 10_000 })
    // the gossip settles: every message was validated (accepted or ignored) by now
    await waitFor('the flood settled', async () => {
      const before = seenOf(seller, 'need:proposed').length
      await new Promise(resolve => setTimeout(resolve, 500))
      return seenOf(seller, 'need:proposed').length === before ? true : undefined
    }, { timeoutMs: 10_000 })
    const answered = seenOf(seller, 'need:proposed').length
    assert.ok(answered >= 1 && answered <= 12, `a burst of 2 and 2 a second answered, not the flood (${answered} of 40)`)
    assert.equal(seenOf(flooder, 'need:proposal').length, answered)
  } finally {
    await stopMarketNodes(all)
  }
})
