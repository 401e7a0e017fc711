/**
 * /agora/market/1 against bad input, with real signed envelopes: each
 * forged, replayed, misaddressed, out-of-order or out-of-terms message is
 * refused with its exact code, counted in agora_market_refused_total,
 * recorded against the sender in the peer book — and books nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, signEnvelope, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { formatCredits, marketProtocol, type MarketRequest, type MarketResponse } from '../../../src/market/index.ts'
import { chainRoot, GENESIS_ROOT } from '../../../src/market/payments/index.ts'
import { isCode } from '../../harness/checks.ts'
import { C, LoopNet, marketNode, OfferBoard, offerOf, type MarketNode } from './service-nodes.ts'
import type { HandlerContext } from '../../../src/protocols/index.ts'

interface World { net: LoopNet, board: OfferBoard, node: MarketNode, rogue: NodeIdentity, offerId: string, stop(): Promise<void> }

/** A market node selling under an offer, and a rogue identity on the same net. */
async function world (): Promise<World> {
  const net = new LoopNet()
  const board = new OfferBoard()
  const node = await marketNode(net, board)
  const rogue = await generateIdentity()
  const offer = board.put(offerOf(node.peerId))
  return { net, board, node, rogue, offerId: offer.id, stop: async () => { await node.stop() } }
}

async function send (w: World, from: NodeIdentity, request: MarketRequest): Promise<MarketResponse> {
  return await w.net.endpoint(from.peerIdString).request(w.node.peerId, marketProtocol, request)
}

let seq = 0
function requestPayload (w: World, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  seq++
  return { requestId: `req-${String(seq).padStart(18, '0')}`, offerId: w.offerId, what: 'classify', quantity: 2, maxUnitPrice: '1.000000', expiresAt: Date.now() + 60_000, ...overrides }
}

function signed (from: NodeIdentity, kind: Envelope['kind'], payload: unknown, to: string, at = Date.now()): Envelope {
  return signEnvelope(from, { kind, payload: payload as Envelope['payload'], to }, at)
}

async function refusedCount (node: MarketNode, code: string): Promise<number> {
  const metric = node.metrics.getSingleMetric('agora_market_refused_total')
  const values = (await metric?.get())?.values ?? []
  return values.filter(v => v.labels.code === code).reduce((sum, v) => sum + v.value, 0)
}

/** The message is refused with `code`, counted, and the sender's reputation drops. */
async function refused (w: World, sender: string, code: string, promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, isCode(code))
  assert.equal(await refusedCount(w.node, code), 1, `counted as ${code}`)
  assert.ok(w.node.peerBook.reputation(sender) < 0.5, 'recorded against the sender')
  assert.equal(w.node.market.wallet().held, 0, 'nothing held')
  assert.equal(w.node.market.contracts().length, 0, 'no contract')
}

// ---- REQUEST, seller side

test('a forged REQUEST (payload changed after signing) → E112', async () => {
  const w = await world()
  try {
    const envelope = signed(w.rogue, 'REQUEST', requestPayload(w), w.node.peerId)
    const forged = { ...envelope, payload: { ...(envelope.payload as object), quantity: 1000 } }
    await refused(w, w.rogue.peerIdString, 'E112', send(w, w.rogue, { type: 'request', envelope: forged }))
  } finally { await w.stop() }
})

test('a replayed REQUEST (the same envelope again) → E114', async () => {
  const w = await world()
  try {
    const envelope = signed(w.rogue, 'REQUEST', requestPayload(w), w.node.peerId)
    const first = await send(w, w.rogue, { type: 'request', envelope })
    assert.equal(first.type, 'decision')
    await assert.rejects(send(w, w.rogue, { type: 'request', envelope }), isCode('E114'))
    assert.equal(await refusedCount(w.node, 'E114'), 1)
    assert.ok(w.node.peerBook.reputation(w.rogue.peerIdString) < 0.5)
    assert.equal(w.node.market.contracts().length, 1, 'the first one only')
  } finally { await w.stop() }
})

test('a REQUEST signed by another node than the caller → E1117', async () => {
  const w = await world()
  try {
    const other = await generateIdentity()
    const envelope = signed(other, 'REQUEST', requestPayload(w), w.node.peerId)
    await refused(w, w.rogue.peerIdString, 'E1117', send(w, w.rogue, { type: 'request', envelope }))
  } finally { await w.stop() }
})

test('a REQUEST addressed to another node → E117', async () => {
  const w = await world()
  try {
    const other = await generateIdentity()
    const envelope = signed(w.rogue, 'REQUEST', requestPayload(w), other.peerIdString)
    await refused(w, w.rogue.peerIdString, 'E117', send(w, w.rogue, { type: 'request', envelope }))
  } finally { await w.stop() }
})

test('a REQUEST envelope older than the age window → E115 (counted as a failure, not as invalid)', async () => {
  const w = await world()
  try {
    const envelope = signed(w.rogue, 'REQUEST', requestPayload(w), w.node.peerId, Date.now() - 10 * 60_000)
    await refused(w, w.rogue.peerIdString, 'E115', send(w, w.rogue, { type: 'request', envelope }))
    const view = w.node.peerBook.view(w.rogue.peerIdString)
    assert.deepEqual([view?.failures, view?.invalids], [1, 0], 'a clock problem, not a forgery')
  } finally { await w.stop() }
})

test('another kind in a request message (an ACCEPT) → E113', async () => {
  const w = await world()
  try {
    const envelope = signed(w.rogue, 'ACCEPT', requestPayload(w), w.node.peerId)
    await refused(w, w.rogue.peerIdString, 'E113', send(w, w.rogue, { type: 'request', envelope }))
  } finally { await w.stop() }
})

test('a malformed REQUEST payload (quantity 0) → E1117', async () => {
  const w = await world()
  try {
    const envelope = signed(w.rogue, 'REQUEST', requestPayload(w, { quantity: 0 }), w.node.peerId)
    await refused(w, w.rogue.peerIdString, 'E1117', send(w, w.rogue, { type: 'request', envelope }))
  } finally { await w.stop() }
})

test('an expired request is answered with a signed REJECT, reason expired (an answer, not an error)', async () => {
  const w = await world()
  try {
    const envelope = signed(w.rogue, 'REQUEST', requestPayload(w, { expiresAt: Date.now() - 1 }), w.node.peerId)
    const answer = await send(w, w.rogue, { type: 'request', envelope })
    assert.equal(answer.type, 'decision')
    const reply = (answer as { envelope: Envelope }).envelope
    assert.equal(reply.kind, 'REJECT')
    assert.equal(reply.to, w.rogue.peerIdString)
    assert.equal((reply.payload as { reason: string }).reason, 'expired')
    assert.equal(w.node.market.contracts().length, 0)
  } finally { await w.stop() }
})

test('a request id asked again with other terms → E1117', async () => {
  const w = await world()
  try {
    const payload = requestPayload(w)
    await send(w, w.rogue, { type: 'request', envelope: signed(w.rogue, 'REQUEST', payload, w.node.peerId) })
    const changed = signed(w.rogue, 'REQUEST', { ...payload, quantity: 3 }, w.node.peerId)
    await assert.rejects(send(w, w.rogue, { type: 'request', envelope: changed }), isCode('E1117'))
    assert.equal(await refusedCount(w.node, 'E1117'), 1)
  } finally { await w.stop() }
})

// ---- ACCEPT and REJECT, buyer side: the node buys from a rogue seller

type Answer = (request: MarketRequest, context: HandlerContext) => MarketResponse | Promise<MarketResponse>

/** The rogue sells under an offer and answers requests with `answer`. */
async function rogueSeller (w: World, answer: Answer): Promise<string> {
  const offer = w.board.put(offerOf(w.rogue.peerIdString))
  await w.net.endpoint(w.rogue.peerIdString).handle(marketProtocol, async (request, context) => await answer(request, context))
  return offer.id
}

interface Asked { requestId: string, offerId: string, what: string, quantity: number, maxUnitPrice: string, expiresAt: number }

function askedOf (request: MarketRequest): Asked {
  if (request.type !== 'request') throw new Error('expected a request')
  return request.envelope.payload as Asked
}

function quote (w: World, asked: Asked, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    contractId: `contract-${asked.requestId.slice(-12)}`, requestId: asked.requestId, buyer: w.node.peerId, seller: w.rogue.peerIdString,
    offerId: asked.offerId, what: asked.what, quantity: asked.quantity, unitPrice: '0.500000', maxTotal: formatCredits(asked.quantity * 0.5 * C), expiresAt: asked.expiresAt, ...overrides
  }
}

function acceptWith (w: World, overrides: Record<string, unknown> = {}, signer?: NodeIdentity, to?: string): Answer {
  return request => ({ type: 'decision', envelope: signed(signer ?? w.rogue, 'ACCEPT', quote(w, askedOf(request), overrides), to ?? w.node.peerId) })
}

async function buy (w: World, offerId: string): Promise<unknown> {
  return await w.node.market.request({ offerId, what: 'classify', quantity: 2, maxUnitPrice: C })
}

test('a well-formed ACCEPT from the rogue seller is taken (the baseline of the tests below)', async () => {
  const w = await world()
  try {
    const offerId = await rogueSeller(w, acceptWith(w))
    const contract = await w.node.market.request({ offerId, what: 'classify', quantity: 2, maxUnitPrice: C })
    assert.equal(contract.state, 'accepted')
    assert.equal(w.node.market.wallet().held, 1 * C)
  } finally { await w.stop() }
})

test('a forged ACCEPT (the price lowered after signing) → E112, nothing held', async () => {
  const w = await world()
  try {
    const offerId = await rogueSeller(w, request => {
      const envelope = signed(w.rogue, 'ACCEPT', quote(w, askedOf(request)), w.node.peerId)
      return { type: 'decision', envelope: { ...envelope, payload: { ...(envelope.payload as object), unitPrice: '0.000001' } } }
    })
    await refused(w, w.rogue.peerIdString, 'E112', buy(w, offerId))
  } finally { await w.stop() }
})

test('a replayed ACCEPT (one answer sent for a second request) → E114', async () => {
  const w = await world()
  try {
    let first: Envelope | undefined
    const offerId = await rogueSeller(w, request => {
      first ??= signed(w.rogue, 'ACCEPT', quote(w, askedOf(request)), w.node.peerId)
      return { type: 'decision', envelope: first }
    })
    await buy(w, offerId)
    await assert.rejects(buy(w, offerId), isCode('E114'))
    assert.equal(await refusedCount(w.node, 'E114'), 1)
    assert.equal(w.node.market.wallet().held, 1 * C, 'the first contract only')
  } finally { await w.stop() }
})

test('an out-of-order ACCEPT (it answers another request) → E1117', async () => {
  const w = await world()
  try {
    const offerId = await rogueSeller(w, acceptWith(w, { requestId: 'req-some-other-request-1' }))
    await refused(w, w.rogue.peerIdString, 'E1117', buy(w, offerId))
  } finally { await w.stop() }
})

test('an ACCEPT naming another buyer (another buyer\'s contract) → E1117', async () => {
  const w = await world()
  try {
    const other = await generateIdentity()
    const offerId = await rogueSeller(w, acceptWith(w, { buyer: other.peerIdString }))
    await refused(w, w.rogue.peerIdString, 'E1117', buy(w, offerId))
  } finally { await w.stop() }
})

test('a quote above the buyer\'s max unit price → E1118', async () => {
  const w = await world()
  try {
    const offerId = await rogueSeller(w, acceptWith(w, { unitPrice: '1.000001', maxTotal: '2.000002' }))
    await refused(w, w.rogue.peerIdString, 'E1118', buy(w, offerId))
  } finally { await w.stop() }
})

test('a quote whose total is not price × quantity → E1118', async () => {
  const w = await world()
  try {
    const offerId = await rogueSeller(w, acceptWith(w, { maxTotal: '5.000000' }))
    await refused(w, w.rogue.peerIdString, 'E1118', buy(w, offerId))
  } finally { await w.stop() }
})

test('an ACCEPT signed by a third node → E1117', async () => {
  const w = await world()
  try {
    const third = await generateIdentity()
    const offerId = await rogueSeller(w, acceptWith(w, {}, third))
    await refused(w, w.rogue.peerIdString, 'E1117', buy(w, offerId))
  } finally { await w.stop() }
})

test('an ACCEPT addressed to another node → E117', async () => {
  const w = await world()
  try {
    const other = await generateIdentity()
    const offerId = await rogueSeller(w, acceptWith(w, {}, undefined, other.peerIdString))
    await refused(w, w.rogue.peerIdString, 'E117', buy(w, offerId))
  } finally { await w.stop() }
})

test('an ACCEPT reusing a contract id the buyer holds already → E1117', async () => {
  const w = await world()
  try {
    const offerId = await rogueSeller(w, acceptWith(w, { contractId: 'contract-always-the-same' }))
    await buy(w, offerId)
    await assert.rejects(buy(w, offerId), isCode('E1117'))
    assert.equal(w.node.market.wallet().held, 1 * C, 'the first contract only')
  } finally { await w.stop() }
})

test('a payment acknowledgement as the answer to a request → E1117', async () => {
  const w = await world()
  try {
    const offerId = await rogueSeller(w, () => ({ type: 'payment', ok: true }))
    await refused(w, w.rogue.peerIdString, 'E1117', buy(w, offerId))
  } finally { await w.stop() }
})

// ---- PAYMENT, payee side: the node issued receipts to the rogue

function payment (w: World, from: NodeIdentity, nonce: number, receipts: Array<[string, number]>, cumulative: number, root?: string): Envelope {
  const ids = receipts.map(([id]) => id)
  return signed(from, 'PAYMENT', {
    payer: from.peerIdString, payee: w.node.peerId, epoch: 1, nonce, cumulative: formatCredits(cumulative),
    root: root ?? chainRoot(GENESIS_ROOT, ids), receipts: receipts.map(([id, amount]) => ({ id, amount: formatCredits(amount) }))
  }, w.node.peerId)
}

test('a good PAYMENT books the earning once; the same proof again is answered OK and changes nothing', async () => {
  const w = await world()
  try {
    w.node.market.issue({ receiptId: 'r1', buyer: w.rogue.peerIdString, amount: 2 * C })
    const proof = payment(w, w.rogue, 1, [['r1', 2 * C]], 2 * C)
    assert.deepEqual(await send(w, w.rogue, { type: 'payment', envelope: proof }), { type: 'payment', ok: true })
    assert.deepEqual(await send(w, w.rogue, { type: 'payment', envelope: proof }), { type: 'payment', ok: true })
    assert.equal(w.node.market.wallet().earned, 2 * C)
    assert.equal(w.node.market.wallet().peers.find(p => p.peer === w.rogue.peerIdString)?.receivable, 2 * C)
  } finally { await w.stop() }
})

test('a forged PAYMENT (cumulative raised after signing) → E112', async () => {
  const w = await world()
  try {
    w.node.market.issue({ receiptId: 'r1', buyer: w.rogue.peerIdString, amount: 2 * C })
    const proof = payment(w, w.rogue, 1, [['r1', 2 * C]], 2 * C)
    const forged = { ...proof, payload: { ...(proof.payload as object), cumulative: '3.000000' } }
    await assert.rejects(send(w, w.rogue, { type: 'payment', envelope: forged }), isCode('E112'))
    assert.equal(await refusedCount(w.node, 'E112'), 1)
    assert.ok(w.node.peerBook.reputation(w.rogue.peerIdString) < 0.5)
    assert.equal(w.node.market.wallet().earned, 0)
  } finally { await w.stop() }
})

test('an out-of-order PAYMENT (nonce 2 before 1) → E1120', async () => {
  const w = await world()
  try {
    w.node.market.issue({ receiptId: 'r1', buyer: w.rogue.peerIdString, amount: 2 * C })
    await assert.rejects(send(w, w.rogue, { type: 'payment', envelope: payment(w, w.rogue, 2, [['r1', 2 * C]], 2 * C) }), isCode('E1120'))
    assert.equal(await refusedCount(w.node, 'E1120'), 1)
    assert.ok(w.node.peerBook.reputation(w.rogue.peerIdString) < 0.5)
    assert.equal(w.node.market.wallet().earned, 0)
  } finally { await w.stop() }
})

test('a PAYMENT covering a receipt this node never issued to the payer → E1121', async () => {
  const w = await world()
  try {
    await assert.rejects(send(w, w.rogue, { type: 'payment', envelope: payment(w, w.rogue, 1, [['made-up', C]], C) }), isCode('E1121'))
    assert.equal(await refusedCount(w.node, 'E1121'), 1)
    assert.equal(w.node.market.wallet().earned, 0)
  } finally { await w.stop() }
})

test('a PAYMENT signed by another node than the caller → E1117', async () => {
  const w = await world()
  try {
    const other = await generateIdentity()
    w.node.market.issue({ receiptId: 'r1', buyer: other.peerIdString, amount: C })
    await assert.rejects(send(w, w.rogue, { type: 'payment', envelope: payment(w, other, 1, [['r1', C]], C) }), isCode('E1117'))
    assert.equal(await refusedCount(w.node, 'E1117'), 1)
    assert.equal(w.node.market.wallet().earned, 0)
  } finally { await w.stop() }
})

test('a balance request is answered with this node\'s view of the pair', async () => {
  const w = await world()
  try {
    w.node.market.issue({ receiptId: 'r1', buyer: w.rogue.peerIdString, amount: 2 * C })
    await send(w, w.rogue, { type: 'payment', envelope: payment(w, w.rogue, 1, [['r1', 2 * C]], 2 * C) })
    const answer = await send(w, w.rogue, { type: 'balance' })
    assert.deepEqual(answer, {
      type: 'balance',
      view: { peer: w.rogue.peerIdString, receivable: '2.000000', payable: '0.000000', sent: { nonce: 0, cumulative: '0.000000' }, received: { nonce: 1, cumulative: '2.000000' }, voided: { sent: '0.000000', received: '0.000000' } }
    })
  } finally { await w.stop() }
})
