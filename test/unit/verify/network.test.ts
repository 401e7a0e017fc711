/** What the verify network does with one gossip message: the signer must be the gossip author; stale and early messages are ignored, faults rejected. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EnvelopeVerifier, decodeEnvelope, encodeEnvelope, generateIdentity, signEnvelope } from '../../../src/identity/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database, ReplayRepository } from '../../../src/store/index.ts'
import { DecisionBook, VerifyNetwork, VerifyValidator } from '../../../src/verify/index.ts'
import type { GossipValidator } from '../../../src/p2p/index.ts'
import { waitFor } from '../../harness/wait.ts'
import { signReceipt } from '../../../src/jobs/protocol/receipt.ts'

const H = (c: string): string => c.repeat(64)

async function network (mayDecide?: (thread: string, decider: string) => boolean): Promise<{ validate: GossipValidator, decisions: DecisionBook, published: Uint8Array[], net: VerifyNetwork, self: string }> {
  const identity = await generateIdentity()
  let validate: GossipValidator | undefined
  const published: Uint8Array[] = []
  const gossip = {
    subscribe: () => () => {},
    validate: (_topic: string, fn: GossipValidator) => { validate = fn; return () => {} },
    publish: async (_topic: string, data: Uint8Array) => { published.push(data); return { recipients: 1 } }
  }
  const validator = new VerifyValidator({ envelopes: new EnvelopeVerifier({ replay: new ReplayRepository(new Database({ path: ':memory:' })) }) })
  const decisions = new DecisionBook()
  const net = new VerifyNetwork({ gossip, identity, validator, decisions, logger: silentLogger().forComponent('test') }, { k: () => 1, decides: () => true, revealAfterMs: 10, mayDecide })
  net.start()
  assert.ok(validate !== undefined)
  return { validate, decisions, published, net, self: identity.peerIdString }
}

const message = (data: Uint8Array, from: string): Parameters<GossipValidator>[0] => ({ topic: '/agora/verify/1', data, from, propagationSource: from })

test('a DECIDE from its author is accepted and booked; the same bytes from another author are rejected', async () => {
  const { validate, decisions } = await network()
  const alice = await generateIdentity()
  const mallory = await generateIdentity()
  const decide = encodeEnvelope(signEnvelope(alice, { kind: 'DECIDE', payload: { thread: 't', epoch: 1, lamport: 1, result: H('a') } }))
  assert.equal(validate(message(decide, mallory.peerIdString)), 'reject')
  // the forged copy moved nothing: the real one is still new
  assert.equal(validate(message(decide, alice.peerIdString)), 'accept')
  assert.equal(decisions.get('t')?.winner.decider, alice.peerIdString)
  assert.equal(validate(message(decide, alice.peerIdString)), 'ignore', 'a replay is stale, not a fault')
})

test('a reveal before its commitment is ignored (gossip may reorder); junk and a forged signature are rejected', async () => {
  const { validate } = await network()
  const alice = await generateIdentity()
  const reveal = signEnvelope(alice, { kind: 'ATTEST', payload: { thread: 't', epoch: 1, lamport: 1, phase: 'reveal', subtask: 's', worker: alice.peerIdString, verdict: 'valid', resultHash: H('a'), salt: 'AAAAAAAAAAAAAAAAAAAAAA' } })
  assert.equal(validate(message(encodeEnvelope(reveal), alice.peerIdString)), 'ignore')
  assert.equal(validate(message(new TextEncoder().encode('junk'), alice.peerIdString)), 'reject')
  const forged = { ...signEnvelope(alice, { kind: 'DECIDE', payload: { thread: 't', epoch: 1, lamport: 2, result: H('b') } }), sig: reveal.sig }
  assert.equal(validate(message(encodeEnvelope(forged), alice.peerIdString)), 'reject')
})

test('with K = 1 this node, the decider, attests and decides: a commitment, a reveal and one DECIDE are published, in that order', async () => {
  const { net, decisions, published, self } = await network()
  const worker = await generateIdentity()
  await net.attest({ thread: 'job', epoch: 2, subtask: 's', worker: worker.peerIdString, resultHash: H('c'), verdict: 'valid' })
  await waitFor('the DECIDE to be published', () => published.length === 3)
  const sent = published.map(bytes => decodeEnvelope(bytes))
  assert.deepEqual(sent.map(e => [e.kind, (e.payload as { phase?: string }).phase]), [['ATTEST', 'commit'], ['ATTEST', 'reveal'], ['DECIDE', undefined]])
  assert.deepEqual(sent.map(e => (e.payload as { lamport: number }).lamport), [1, 2, 3], 'Lamport times rise')
  assert.deepEqual(decisions.get('job')?.winner, { thread: 'job', epoch: 2, lamport: 3, decider: self, result: H('c') })
})

test('a CHALLENGE from a peer is checked: evidence that holds is accepted and names the accused; evidence that does not is rejected and names why', async () => {
  const { validate, net } = await network()
  const coordinator = await generateIdentity()
  const cheat = await generateIdentity()
  const honest = [await generateIdentity(), await generateIdentity()]
  const key = `${coordinator.peerIdString}/j1/s1`
  const receipt = (who: typeof cheat, k: string, hash: string): ReturnType<typeof decodeEnvelope> => decodeEnvelope(Buffer.from(signReceipt(who, { key: k, attempt: 1, jobId: 'j1', subtaskId: 's1', type: 'text.chunk', worker: who.peerIdString, coordinator: coordinator.peerIdString, resultHash: hash, price: '0.100000', startedAt: 1, finishedAt: 2 }), 'base64url'))
  const seen: Array<{ accused?: string, refuted?: string }> = []
  net.onChallenge(c => { seen.push(c) })
  const challenge = (lamport: number, replicas: ReturnType<typeof decodeEnvelope>[]): Uint8Array => encodeEnvelope(signEnvelope(coordinator, { kind: 'CHALLENGE', payload: { thread: 'j1', epoch: 1, lamport, receipt: receipt(cheat, key, H('a')), evidence: { resultHash: H('a'), expectedHash: H('b'), replicas } } }))
  const good = honest.map((h, i) => receipt(h, `${key}#r${i + 1}`, H('b')))
  assert.equal(validate(message(challenge(1, good), coordinator.peerIdString)), 'accept')
  assert.equal(validate(message(challenge(2, good.slice(0, 1)), coordinator.peerIdString)), 'reject')
  assert.equal(seen[0]?.accused, cheat.peerIdString)
  assert.equal(seen[1]?.accused, undefined)
  assert.match(seen[1]?.refuted ?? '', /majority/)
})

test('a DECIDE for a thread its signer may not decide is rejected and not booked; a second, different one from a decider in one epoch is rejected', async () => {
  const { validate, decisions } = await network((thread, decider) => thread.startsWith(`${decider}/`))
  const owner = await generateIdentity()
  const stranger = await generateIdentity()
  const thread = `${owner.peerIdString}/job`
  const decide = (who: typeof owner, lamport: number, result: string): Uint8Array => encodeEnvelope(signEnvelope(who, { kind: 'DECIDE', payload: { thread, epoch: 1, lamport, result } }))
  assert.equal(validate(message(decide(stranger, 1, H('a')), stranger.peerIdString)), 'reject')
  assert.equal(decisions.get(thread), undefined)
  assert.equal(validate(message(decide(owner, 1, H('b')), owner.peerIdString)), 'accept')
  assert.equal(validate(message(decide(owner, 2, H('c')), owner.peerIdString)), 'reject', 'E1201: decided twice in epoch 1')
  assert.equal(decisions.get(thread)?.winner.result, H('b'))
})

test('FINALIZE and RECONCILE: only from the thread\'s decider; a FINALIZE of the decision that stands makes it final here, one of another is taken without effect', async () => {
  const alice = await generateIdentity()
  const mallory = await generateIdentity()
  const thread = `${alice.peerIdString}/job`
  const { validate, decisions, net } = await network((t, decider) => t.startsWith(`${decider}/`))
  const settled: Array<[string, number, string]> = []
  net.onSettled(s => { settled.push([s.kind, s.decision.epoch, s.amount]) })
  const send = (who: typeof alice, kind: 'DECIDE' | 'FINALIZE' | 'RECONCILE', payload: Record<string, unknown>): ReturnType<GossipValidator> =>
    validate(message(encodeEnvelope(signEnvelope(who, { kind, payload: { thread, ...payload } as never })), who.peerIdString))
  assert.equal(send(alice, 'DECIDE', { epoch: 1, lamport: 1, result: H('a') }), 'accept')
  assert.equal(send(mallory, 'FINALIZE', { epoch: 1, lamport: 1, result: H('a'), amount: '1.000000' }), 'reject', 'a FINALIZE by another than the decider is forged')
  assert.equal(decisions.get(thread)?.finalized, false)
  assert.equal(send(alice, 'FINALIZE', { epoch: 1, lamport: 2, result: H('b'), amount: '1.000000' }), 'accept', 'not the decision that stands here (yet): taken, no effect')
  assert.equal(decisions.get(thread)?.finalized, false)
  assert.equal(send(alice, 'FINALIZE', { epoch: 1, lamport: 3, result: H('a'), amount: '1.000000' }), 'accept')
  assert.equal(decisions.get(thread)?.finalized, true)
  assert.equal(send(alice, 'DECIDE', { epoch: 2, lamport: 4, result: H('c') }), 'reject', 'a finalized result is not changed (E1200)')
  assert.equal(decisions.get(thread)?.winner.result, H('a'))
  const orphaned = { epoch: 0, lamport: 1, decider: mallory.peerIdString, result: H('d') }
  assert.equal(send(alice, 'RECONCILE', { epoch: 1, lamport: 5, orphaned, refund: '2.000000' }), 'reject', 'a decider reconciles its own decisions only')
  assert.equal(send(alice, 'RECONCILE', { epoch: 1, lamport: 6, orphaned: { ...orphaned, decider: alice.peerIdString }, refund: '2.000000' }), 'accept')
  assert.deepEqual(settled, [['FINALIZE', 1, '1.000000'], ['RECONCILE', 0, '2.000000']])
})

test('a FINALIZE that arrives before its DECIDE (gossip reorders) takes effect once the DECIDE is booked', async () => {
  const alice = await generateIdentity()
  const thread = `${alice.peerIdString}/job`
  const { validate, decisions, net } = await network((t, decider) => t.startsWith(`${decider}/`))
  const settled: string[] = []
  net.onSettled(s => { settled.push(`${s.kind} ${s.decision.epoch}`) })
  const send = (kind: 'DECIDE' | 'FINALIZE', payload: Record<string, unknown>): ReturnType<GossipValidator> =>
    validate(message(encodeEnvelope(signEnvelope(alice, { kind, payload: { thread, ...payload } as never })), alice.peerIdString))
  assert.equal(send('FINALIZE', { epoch: 1, lamport: 2, result: H('a'), amount: '1.000000' }), 'accept')
  assert.equal(decisions.get(thread), undefined)
  assert.equal(send('DECIDE', { epoch: 1, lamport: 1, result: H('a') }), 'ignore', 'older than the FINALIZE from the same signer: stale for the validator')
  // the DECIDE reaches this node another way (a catch-up from a peer)
  assert.equal(net.absorb(signEnvelope(alice, { kind: 'DECIDE', payload: { thread, epoch: 1, lamport: 1, result: H('a') } })), 'booked')
  assert.equal(decisions.get(thread)?.finalized, true)
  assert.deepEqual(settled, ['FINALIZE 1'])
})

test('this node\'s FINALIZE is handed to `keep` before it goes out, and comes after its DECIDE in Lamport order even when the node restarted since', async () => {
  // a fresh network: its Lamport clock for the thread starts again, as after a restart
  const { net, published, self } = await network()
  const kept: Array<{ lamport: number, publishedBefore: number }> = []
  await net.finalized({ thread: 'job', epoch: 1, lamport: 5, decider: self, result: H('a') }, 1_000_000, envelope => {
    kept.push({ lamport: (envelope.payload as { lamport: number }).lamport, publishedBefore: published.length })
  })
  assert.deepEqual(kept, [{ lamport: 6, publishedBefore: 0 }])
  const sent = decodeEnvelope(published[0] as Uint8Array)
  assert.deepEqual([sent.kind, (sent.payload as { lamport: number }).lamport, (sent.payload as { amount: string }).amount], ['FINALIZE', 6, '1.000000'])
})
