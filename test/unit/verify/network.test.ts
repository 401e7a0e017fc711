/** What the verify network does with one gossip message: the signer must be the gossip author; stale and early messages are ignored, faults rejected. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EnvelopeVerifier, decodeEnvelope, encodeEnvelope, generateIdentity, signEnvelope } from '../../../src/identity/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database, ReplayRepository } from '../../../src/store/index.ts'
import { DecisionBook, VerifyNetwork, VerifyValidator } from '../../../src/verify/index.ts'
import type { GossipValidator } from '../../../src/p2p/index.ts'
import { waitFor } from '../../harness/wait.ts'

const H = (c: string): string => c.repeat(64)

async function network (): Promise<{ validate: GossipValidator, decisions: DecisionBook, published: Uint8Array[], net: VerifyNetwork, self: string }> {
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
  const net = new VerifyNetwork({ gossip, identity, validator, decisions, logger: silentLogger().forComponent('test') }, { k: () => 1, decides: () => true, revealAfterMs: 10 })
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
