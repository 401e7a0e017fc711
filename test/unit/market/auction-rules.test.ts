/** The auction's rules without a network: the needs topic's validator (own threads only, deadlines, kinds, rate), the seller's decision to propose, and how proposals rank. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { EnvelopeVerifier, encodeEnvelope, generateIdentity, signEnvelope, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { NeedsNetwork } from '../../../src/market/auction/network.ts'
import { rankProposals } from '../../../src/market/auction/score.ts'
import { AuctionSeller } from '../../../src/market/auction/seller.ts'
import { NeedsRepository, type ProposalRecord } from '../../../src/market/auction/repository.ts'
import { AuctionBuyer } from '../../../src/market/auction/buyer.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { Offer } from '../../../src/offers/index.ts'
import { Database, ReplayRepository } from '../../../src/store/index.ts'

const HOUR = 3600_000

function network (seen: string[], perSignerPerSecond = 100): NeedsNetwork {
  const envelopes = new EnvelopeVerifier({ replay: new ReplayRepository(new Database({ path: ':memory:' })) })
  const gossip = { subscribe: () => () => {}, validate: () => () => {}, publish: async () => ({ recipients: 0 }) }
  return new NeedsNetwork({
    gossip, envelopes, log: silentLogger().forComponent('test'),
    onNeed: (buyer, need) => { seen.push(`NEED ${buyer.slice(-4)} ${need.thread}`) },
    onDecide: (buyer, decide) => { seen.push(`DECIDE ${buyer.slice(-4)} ${decide.result}`) }
  }, { maxWindowMs: 24 * HOUR, perSignerPerSecond })
}

const need = (who: NodeIdentity, fields: Record<string, unknown> = {}, lamport = 1): Envelope => signEnvelope(who, {
  kind: 'NEED',
  payload: { thread: `${who.peerIdString}/need/n1`, epoch: 0, lamport, taskType: 'classify', quantity: 4, budget: '2.000000', deadline: Date.now() + 60_000, ...fields }
})

test('the needs topic takes a NEED or DECIDE on the signer\'s own thread, with a deadline inside the window; the rest is rejected or ignored', async () => {
  const alice = await generateIdentity()
  const mallory = await generateIdentity()
  const seen: string[] = []
  const net = network(seen)
  const a = alice.peerIdString
  assert.equal(net.received(encodeEnvelope(need(alice)), a), 'accept')
  assert.equal(seen.length, 1)
  assert.equal(net.received(encodeEnvelope(need(alice, { thread: `${mallory.peerIdString}/need/x` }, 2)), a), 'reject', 'another buyer\'s thread')
  assert.equal(net.received(encodeEnvelope(need(alice, { thread: 'job-1' }, 3)), a), 'reject', 'not a need thread')
  assert.equal(net.received(encodeEnvelope(need(mallory, { deadline: Date.now() + 48 * HOUR })), mallory.peerIdString), 'reject', 'a deadline past the window')
  assert.equal(net.received(encodeEnvelope(need(alice, {}, 1)), a), 'ignore', 'an old Lamport time: stale, not hostile')
  assert.equal(net.received(encodeEnvelope(need(alice)), mallory.peerIdString), 'reject', 'published by someone other than its signer')
  const propose = signEnvelope(alice, { kind: 'PROPOSE', payload: { thread: `${a}/need/n1`, epoch: 0, lamport: 9, unitPrice: '0.100000', etaMs: 1, capacity: 1 } })
  assert.equal(net.received(encodeEnvelope(propose), a), 'reject', 'a PROPOSE goes to its buyer, not on the topic')
  const decide = signEnvelope(alice, { kind: 'DECIDE', payload: { thread: `${a}/need/n1`, epoch: 1, lamport: 10, result: mallory.peerIdString } })
  assert.equal(net.received(encodeEnvelope(decide), a), 'accept')
  assert.deepEqual(seen.map(s => s.split(' ')[0]), ['NEED', 'DECIDE'])

  const slow = network(seen, 2)
  const burst = [need(mallory, { thread: `${mallory.peerIdString}/need/1` }), need(mallory, { thread: `${mallory.peerIdString}/need/2` }), need(mallory, { thread: `${mallory.peerIdString}/need/3` })]
  assert.deepEqual(burst.map(e => slow.received(encodeEnvelope(e), mallory.peerIdString)), ['accept', 'accept', 'ignore'], 'past the per-signer rate (2 a second): dropped, not blamed')
})

test('a seller proposes its posted price when the whole need fits the budget, the buyer is admitted and the credit limit has room — once per need', async () => {
  const seller = await generateIdentity()
  const buyer = await generateIdentity()
  const sent: Envelope[] = []
  let refuse: AgoraError | undefined
  let admitLimit = Infinity
  const offer = { id: 'o-1', node: seller.peerIdString, taskTypes: ['classify'], models: [], capacity: { slotsTotal: 3, slotsIdle: 3 }, prices: { perTask: '0.500000', per1kPromptTokens: '0', per1kCompletionTokens: '0' } } as unknown as Offer
  const auction = new AuctionSeller({
    identity: seller,
    offer: () => offer,
    trust: () => refuse,
    admit: (_buyer, amount) => { if (amount > admitLimit) throw new AgoraError('E1102', 'credit limit reached') },
    send: async (_buyer, envelope) => { sent.push(envelope) },
    events: { emit: () => true },
    log: silentLogger().forComponent('test')
  }, { proposalsPerSecond: 100, taskMs: () => 200 })
  const payload = (thread: string, fields: Record<string, unknown> = {}): Parameters<AuctionSeller['onNeed']>[1] =>
    ({ thread: `${buyer.peerIdString}/need/${thread}`, epoch: 0, lamport: 1, taskType: 'classify', quantity: 4, budget: '2.000000', deadline: Date.now() + 60_000, ...fields })
  const b = buyer.peerIdString
  assert.equal(auction.onNeed(b, payload('a')), 'proposed')
  assert.equal(auction.onNeed(b, payload('a')), 'repeated')
  assert.deepEqual(sent[0]?.payload, { thread: `${b}/need/a`, epoch: 0, lamport: 1, unitPrice: '0.500000', etaMs: 400, capacity: 3 })
  assert.equal(sent[0]?.to, b)
  assert.equal(auction.onNeed(b, payload('b', { budget: '1.999999' })), 'over-budget')
  assert.equal(auction.onNeed(b, payload('c', { taskType: 'summarize' })), 'no-offer')
  assert.equal(auction.onNeed(b, payload('d', { deadline: Date.now() + 10 })), 'too-late')
  assert.equal(auction.onNeed(seller.peerIdString, payload('e')), 'own')
  refuse = new AgoraError('E902', 'banned')
  assert.equal(auction.onNeed(b, payload('f')), 'trust')
  refuse = undefined
  admitLimit = 1_000_000
  assert.equal(auction.onNeed(b, payload('g')), 'credit')
  assert.equal(sent.length, 1)
})

test('proposals rank by the router\'s score: cheaper wins at equal standing, a much better reputation beats a small discount, ties go to the lower price then peer id', () => {
  const p = (seller: string, unitPrice: number, capacity = 4): ProposalRecord => ({ needId: 'n', seller, offerId: `o-${seller}`, unitPrice, etaMs: 1, capacity, lamport: 1, state: 'open', reason: null, envelope: '', receivedAt: 0 })
  const even = () => ({ reputation: 0.5, latencyMs: null })
  assert.deepEqual(rankProposals([p('b', 300), p('a', 200)], 4, even).map(r => r.seller), ['a', 'b'])
  const standing = (seller: string) => ({ reputation: seller === 'trusted' ? 0.95 : 0.2, latencyMs: null })
  assert.deepEqual(rankProposals([p('stranger', 190), p('trusted', 200)], 4, standing).map(r => r.seller), ['trusted', 'stranger'])
  assert.deepEqual(rankProposals([p('b', 200), p('a', 200)], 4, even).map(r => r.seller), ['a', 'b'])
  assert.deepEqual(rankProposals([p('small', 200, 1), p('big', 200, 4)], 4, even).map(r => r.seller), ['big', 'small'], 'a seller taking the whole need at once beats one that queues it')
})

test('a need that cannot be gossiped ends failed, with why; an open need whose deadline passed while the node was down expires at start', async () => {
  const identity = await generateIdentity()
  const repo = new NeedsRepository(new Database({ path: ':memory:' }))
  let published = 0
  const buyer = (publish: () => Promise<void>): AuctionBuyer => new AuctionBuyer({
    identity, repo, publish, verify: e => e, offerOf: () => undefined, facts: () => ({ reputation: 0.5, latencyMs: null }),
    request: async () => { throw new Error('no contracts here') }, events: { emit: () => true }, log: silentLogger().forComponent('test')
  })
  const failing = buyer(async () => { throw new AgoraError('E206', 'gossip rate limit') })
  failing.start()
  await assert.rejects(failing.need({ taskType: 'classify', quantity: 1, budget: 1_000_000, deadline: Date.now() + 60_000 }), (err: unknown) => (err as AgoraError).code === 'E206')
  const [failed] = repo.list({ limit: 10 })
  assert.deepEqual([failed?.state, failed?.reason], ['failed', 'the NEED could not be gossiped: gossip rate limit'])
  failing.stop()

  const working = buyer(async () => { published++ })
  working.start()
  const open = await working.need({ taskType: 'classify', quantity: 1, budget: 1_000_000, deadline: Date.now() + 60_000 })
  working.stop()
  assert.equal(published, 1)
  // later, after the deadline: the node comes back
  const later = new AuctionBuyer({
    identity, repo, publish: async () => {}, verify: e => e, offerOf: () => undefined, facts: () => ({ reputation: 0.5, latencyMs: null }),
    request: async () => { throw new Error('unused') }, events: { emit: () => true }, log: silentLogger().forComponent('test')
  }, { now: () => open.deadline + 1 })
  later.start()
  assert.deepEqual([later.get(open.id).state, later.get(open.id).reason], ['expired', 'the node was down at its deadline'])
  later.stop()
})
