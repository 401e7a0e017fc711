/**
 * VOIDs over /agora/market/1 (`void`), payee side, through the market
 * service's real handler and books: a good VOID is answered OK and settles
 * the part, a resend is answered OK and changes nothing; a forged, oversized
 * or unknown one is refused with its code, counted in
 * agora_market_refused_total and recorded against the sender — where bad
 * payment proofs are counted.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { formatCredits, marketProtocol, type MarketRequest, type MarketResponse } from '../../../src/market/index.ts'
import { signVoid, type VoidInput } from '../../../src/market/payments/index.ts'
import { isCode } from '../../harness/checks.ts'
import { C, LoopNet, marketNode, OfferBoard, type MarketNode } from './service-nodes.ts'

interface World { net: LoopNet, node: MarketNode, rogue: NodeIdentity, stop(): Promise<void> }

async function world (): Promise<World> {
  const net = new LoopNet()
  const node = await marketNode(net, new OfferBoard())
  const rogue = await generateIdentity()
  // a receipt of 2 credits issued to the rogue, none of it paid yet
  node.market.issue({ receiptId: 'r1', buyer: rogue.peerIdString, amount: 2 * C })
  return { net, node, rogue, stop: async () => { await node.stop() } }
}

async function send (w: World, from: NodeIdentity, request: MarketRequest): Promise<MarketResponse> {
  return await w.net.endpoint(from.peerIdString).request(w.node.peerId, marketProtocol, request)
}

async function refusedCount (node: MarketNode, code: string): Promise<number> {
  const metric = node.metrics.getSingleMetric('agora_market_refused_total')
  const values = (await metric?.get())?.values ?? []
  return values.filter(v => v.labels.code === code).reduce((sum, v) => sum + v.value, 0)
}

const input = (w: World, over: Partial<VoidInput> = {}): VoidInput => ({
  payee: w.node.peerId, receiptId: 'r1', amount: C / 2, reason: { kind: 'audit', jobId: 'j', subtaskId: 'j:3', resultHash: 'a'.repeat(64), auditHash: 'b'.repeat(64), audited: 'disagreed' }, ...over
})

/** The node's books of the pair (setLimit to the default returns them; a buyer with only receipts is not in the wallet's list). */
const peerView = (w: World): { unpaid: string, voided: string } => {
  const p = w.node.market.setLimit(w.rogue.peerIdString, null)
  return { unpaid: formatCredits(p.unpaid), voided: formatCredits(p.voided) }
}

test('a good VOID is answered OK and settles the part; the same VOID again is answered OK and changes nothing', async () => {
  const w = await world()
  try {
    const envelope = signVoid(w.rogue, input(w))
    assert.deepEqual(await send(w, w.rogue, { type: 'void', envelope }), { type: 'void', ok: true })
    assert.deepEqual(peerView(w), { unpaid: '1.500000', voided: '0.500000' })
    assert.deepEqual(await send(w, w.rogue, { type: 'void', envelope }), { type: 'void', ok: true })
    assert.deepEqual(peerView(w), { unpaid: '1.500000', voided: '0.500000' })
    assert.equal(w.node.peerBook.reputation(w.rogue.peerIdString) >= 0.5, true, 'nothing held against it')
  } finally { await w.stop() }
})

for (const [name, code, make] of [
  ['for more than is unpaid', 'E1392', (w: World) => signVoid(w.rogue, input(w, { amount: 2 * C + 1 }))],
  ['with a bad signature (amount raised after signing)', 'E112', (w: World) => {
    const envelope = signVoid(w.rogue, input(w))
    return { ...envelope, payload: { ...(envelope.payload as object), amount: '1.000000' } }
  }],
  ['for a receipt never issued to the sender', 'E1391', (w: World) => signVoid(w.rogue, input(w, { receiptId: 'made-up' }))]
] as const) {
  test(`a VOID ${name} → ${code}, counted against the sender, nothing settled`, async () => {
    const w = await world()
    try {
      await assert.rejects(send(w, w.rogue, { type: 'void', envelope: make(w) }), isCode(code))
      assert.equal(await refusedCount(w.node, code), 1)
      assert.ok(w.node.peerBook.reputation(w.rogue.peerIdString) < 0.5, 'recorded against the sender')
      assert.deepEqual(peerView(w), { unpaid: '2.000000', voided: '0.000000' })
    } finally { await w.stop() }
  })
}
