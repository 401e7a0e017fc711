/** The verification validator: each kind accepted; forged, replayed, stale, malformed, fenced-off and flooding messages refused with their codes, cheapest check first. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { EnvelopeVerifier, encodeEnvelope, generateIdentity, signEnvelope, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { Database, ReplayRepository } from '../../../src/store/index.ts'
import { attestCommitment, VerifyValidator, VERIFY_KINDS } from '../../../src/verify/index.ts'
import { isCode } from '../../harness/checks.ts'

const H = (c: string): string => c.repeat(64)

function setup (init: { perSignerPerSecond?: number, maxThreads?: number, now?: () => number } = {}): { validator: VerifyValidator, verified: () => number } {
  const envelopes = new EnvelopeVerifier({ replay: new ReplayRepository(new Database({ path: ':memory:' })) })
  let calls = 0
  const counting = { verify: (e: Envelope, o?: Parameters<EnvelopeVerifier['verify']>[1]) => { calls++; return envelopes.verify(e, o) } }
  return { validator: new VerifyValidator({ envelopes: counting }, init), verified: () => calls }
}

async function examples (signer: NodeIdentity, worker: string): Promise<Record<string, Record<string, unknown>>> {
  const receipt = signEnvelope(signer, { kind: 'RECEIPT', payload: { key: 'k' } })
  return {
    NEED: { taskType: 'text.embed', quantity: 10, budget: '5.000000', deadline: Date.now() + 600_000 },
    PROPOSE: { unitPrice: '0.100000', etaMs: 2000, capacity: 4 },
    CLAIM: { subtask: 's1' },
    COMMIT: { subtask: 's1', resultHash: H('a') },
    ATTEST: { phase: 'commit', subtask: 's1', worker, commitment: H('b') },
    DECIDE: { result: H('a') },
    FINALIZE: { result: H('a'), amount: '1.000000' },
    CHALLENGE: { receipt, evidence: { resultHash: H('a'), expectedHash: H('c'), replicas: [receipt, receipt] } },
    INVALIDATE: { result: H('a'), reason: 'a challenge checked out' },
    RECONCILE: { orphaned: { epoch: 1, lamport: 3, decider: worker, result: H('d') }, refund: '1.000000' }
  }
}

const sign = (who: NodeIdentity, kind: string, payload: Record<string, unknown>, thread = 'job-1', epoch = 1, lamport = 1): Envelope =>
  signEnvelope(who, { kind: kind as never, payload: { thread, epoch, lamport, ...payload } })

test('one valid message of each of the ten kinds is accepted, as bytes or decoded', async () => {
  const alice = await generateIdentity()
  const bob = await generateIdentity()
  const { validator } = setup()
  const payloads = await examples(alice, bob.peerIdString)
  let lamport = 0
  for (const kind of VERIFY_KINDS) {
    const envelope = sign(alice, kind, payloads[kind] as Record<string, unknown>, 'job-1', 1, ++lamport)
    const accepted = validator.accept(lamport % 2 === 0 ? encodeEnvelope(envelope) : envelope)
    assert.equal(accepted.kind, kind)
    assert.equal((accepted.payload as { lamport: number }).lamport, lamport)
  }
})

test('a forged ATTEST (another key, the victim\'s id) → E112, and it moves nothing: the victim\'s own message with that Lamport time passes', async () => {
  const victim = await generateIdentity()
  const mallory = await generateIdentity()
  const { validator } = setup()
  const payload = { phase: 'commit', subtask: 's1', worker: mallory.peerIdString, commitment: H('e') }
  const forged = { ...sign(mallory, 'ATTEST', payload, 'job-1', 1, 7), from: victim.peerIdString }
  assert.throws(() => validator.accept(forged), isCode('E112'))
  assert.equal(validator.accept(sign(victim, 'ATTEST', payload, 'job-1', 1, 7)).kind, 'ATTEST')
})

test('a message published under another peer\'s name → E1215 before anything is remembered: the signer\'s own copy still passes', async () => {
  const alice = await generateIdentity()
  const mallory = await generateIdentity()
  const { validator, verified } = setup()
  const decide = sign(alice, 'DECIDE', { result: H('a') }, 'job-1', 1, 1)
  assert.throws(() => validator.accept(encodeEnvelope(decide), { author: mallory.peerIdString }), isCode('E1215'))
  assert.equal(verified(), 0)
  assert.equal(validator.accept(encodeEnvelope(decide), { author: alice.peerIdString }).kind, 'DECIDE')
})

test('a replayed DECIDE or ATTEST → E1212 (stale Lamport); once the thread is forgotten, the persisted replay guard still refuses it (E114)', async () => {
  const alice = await generateIdentity()
  const { validator } = setup({ maxThreads: 2 })
  const decide = sign(alice, 'DECIDE', { result: H('a') }, 'job-1', 1, 5)
  validator.accept(decide)
  assert.throws(() => validator.accept(decide), isCode('E1212'))
  assert.throws(() => validator.accept(sign(alice, 'DECIDE', { result: H('a') }, 'job-1', 1, 4)), isCode('E1212'), 'an older Lamport time')
  // two other threads push job-1 out of the validator's memory
  validator.accept(sign(alice, 'CLAIM', { subtask: 'x' }, 'job-2', 0, 1))
  validator.accept(sign(alice, 'CLAIM', { subtask: 'x' }, 'job-3', 0, 1))
  assert.equal(validator.epochOf('job-1'), 0, 'forgotten')
  assert.throws(() => validator.accept(decide), isCode('E114'))
})

test('a DECIDE from an older epoch is accepted (the DecisionBook keeps it as a loser) but never lowers the fence; an ATTEST of an older epoch → E1213', async () => {
  const alice = await generateIdentity()
  const bob = await generateIdentity()
  const { validator } = setup()
  validator.accept(sign(alice, 'DECIDE', { result: H('a') }, 'job-1', 3, 1))
  assert.equal(validator.epochOf('job-1'), 3)
  assert.equal(validator.accept(sign(bob, 'DECIDE', { result: H('b') }, 'job-1', 2, 9)).kind, 'DECIDE')
  assert.equal(validator.epochOf('job-1'), 3)
  const attest = { phase: 'commit', subtask: 's1', worker: alice.peerIdString, commitment: H('f') }
  assert.throws(() => validator.accept(sign(bob, 'ATTEST', attest, 'job-1', 2, 10)), isCode('E1213'))
  assert.equal(validator.accept(sign(bob, 'ATTEST', attest, 'job-1', 3, 11)).kind, 'ATTEST')
})

test('commit before reveal: a reveal without its commitment, or against it → E1214; the matching one passes', async () => {
  const verifier = await generateIdentity()
  const worker = await generateIdentity()
  const { validator } = setup()
  const salt = randomBytes(16).toString('base64url')
  const reveal = { phase: 'reveal', subtask: 's1', worker: worker.peerIdString, verdict: 'valid', resultHash: H('a'), salt }
  assert.throws(() => validator.accept(sign(verifier, 'ATTEST', reveal, 'job-1', 1, 1)), isCode('E1214'))
  validator.accept(sign(verifier, 'ATTEST', { phase: 'commit', subtask: 's1', worker: worker.peerIdString, commitment: attestCommitment('valid', H('a'), salt) }, 'job-1', 1, 2))
  assert.throws(() => validator.accept(sign(verifier, 'ATTEST', { ...reveal, verdict: 'invalid' }, 'job-1', 1, 3)), isCode('E1214'), 'a changed verdict')
  assert.equal(validator.accept(sign(verifier, 'ATTEST', reveal, 'job-1', 1, 4)).kind, 'ATTEST')
})

test('bad input: a malformed payload → E1210 naming the field; another kind → E113; bad bytes → E110; too large → E111', async () => {
  const alice = await generateIdentity()
  const { validator } = setup()
  assert.throws(() => validator.accept(sign(alice, 'COMMIT', { subtask: 's1', resultHash: 'nothex' })), (err: unknown) => {
    isCode('E1210')(err)
    assert.match((err as Error).message, /resultHash/)
    return true
  })
  assert.throws(() => validator.accept(sign(alice, 'NEED', { taskType: 't', quantity: 0, budget: '1.000000', deadline: 1 })), isCode('E1210'))
  assert.throws(() => validator.accept(sign(alice, 'DECIDE', { result: H('a'), extra: 1 })), isCode('E1210'))
  assert.throws(() => validator.accept(signEnvelope(alice, { kind: 'OFFER', payload: {} })), isCode('E113'))
  assert.throws(() => validator.accept(new TextEncoder().encode('{"v":1')), isCode('E110'))
  assert.throws(() => validator.accept(new Uint8Array(300 * 1024)), isCode('E111'))
})

test('a NEED flood: past the per-signer rate, messages are refused (E1211) before any signature is checked; others are not held up', async () => {
  const flooder = await generateIdentity()
  const other = await generateIdentity()
  // the clock stands still: no token flows back while the flood is sent, however slow the machine
  const frozen = Date.now()
  const { validator, verified } = setup({ perSignerPerSecond: 20, now: () => frozen })
  const need = (who: NodeIdentity, i: number): Envelope => sign(who, 'NEED', { taskType: 'text.embed', quantity: 1, budget: '1.000000', deadline: Date.now() + 60_000 }, `need-${i}`, 0, 1)
  const outcomes = Array.from({ length: 200 }, (_, i) => { try { validator.accept(need(flooder, i)); return 'ok' } catch (err) { return (err as { code?: string }).code } })
  assert.equal(outcomes.filter(o => o === 'ok').length, 20)
  assert.equal(outcomes.filter(o => o === 'E1211').length, 180)
  assert.equal(verified(), 20, 'refused ones cost no signature check')
  assert.equal(validator.accept(need(other, 0)).kind, 'NEED')
})
