/** A CHALLENGE's evidence: the accused's signed receipt and two replicas' that outvoted it, all for the challenger — and each way it can fail to check out (E1216). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeEnvelope, generateIdentity, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { signReceipt } from '../../../src/jobs/protocol/receipt.ts'
import { checkChallenge, type VerifyPayload } from '../../../src/verify/index.ts'
import { isCode } from '../../harness/checks.ts'

const H = (c: string): string => c.repeat(64)

function receipt (worker: NodeIdentity, coordinator: string, key: string, resultHash: string): Envelope {
  const encoded = signReceipt(worker, { key, attempt: 1, jobId: 'j1', subtaskId: 's1', type: 'text.chunk', worker: worker.peerIdString, coordinator, resultHash, price: '0.100000', startedAt: 1, finishedAt: 2 })
  return decodeEnvelope(Buffer.from(encoded, 'base64url'))
}

async function scene (): Promise<{ coordinator: NodeIdentity, cheat: NodeIdentity, honest: NodeIdentity[], challenge: (over?: Partial<VerifyPayload<'CHALLENGE'>['evidence']> & { receipt?: Envelope }) => VerifyPayload<'CHALLENGE'> }> {
  const coordinator = await generateIdentity()
  const cheat = await generateIdentity()
  const honest = [await generateIdentity(), await generateIdentity()]
  const key = `${coordinator.peerIdString}/j1/s1`
  const base = {
    receipt: receipt(cheat, coordinator.peerIdString, key, H('a')),
    replicas: honest.map((h, i) => receipt(h, coordinator.peerIdString, `${key}#r${i + 1}`, H('b')))
  }
  return {
    coordinator,
    cheat,
    honest,
    challenge: (over = {}) => ({
      thread: `${coordinator.peerIdString}/j1`,
      epoch: 1,
      lamport: 1,
      receipt: over.receipt ?? base.receipt,
      evidence: { resultHash: over.resultHash ?? H('a'), expectedHash: over.expectedHash ?? H('b'), replicas: over.replicas ?? base.replicas }
    })
  }
}

test('evidence that checks out convicts the accused', async () => {
  const { coordinator, cheat, challenge } = await scene()
  assert.deepEqual(checkChallenge(coordinator.peerIdString, challenge()), { accused: cheat.peerIdString, key: `${coordinator.peerIdString}/j1/s1` })
})

test('evidence that does not check out → E1216: another challenger, one replica, a replica signed twice or by the accused, agreeing, not a replica, forged', async () => {
  const { coordinator, cheat, honest, challenge } = await scene()
  const me = coordinator.peerIdString
  const key = `${me}/j1/s1`
  const [first, second] = challenge().evidence.replicas as [Envelope, Envelope]
  const refused = (payload: VerifyPayload<'CHALLENGE'>, challenger = me): void => { assert.throws(() => checkChallenge(challenger, payload), isCode('E1216')) }
  refused(challenge(), honest[0]?.peerIdString)
  refused(challenge({ replicas: [first] }))
  refused(challenge({ replicas: [first, first] }))
  refused(challenge({ replicas: [first, receipt(cheat, me, `${key}#r2`, H('b'))] }))
  refused(challenge({ replicas: [first, receipt(honest[1] as NodeIdentity, me, `${key}#r2`, H('a'))] }), me)
  refused(challenge({ replicas: [first, receipt(honest[1] as NodeIdentity, me, `${me}/j1/other#r2`, H('b'))] }))
  refused(challenge({ replicas: [first, receipt(honest[1] as NodeIdentity, honest[0]?.peerIdString as string, `${key}#r2`, H('b'))] }), me)
  refused(challenge({ replicas: [first, receipt(coordinator, me, `${key}#r2`, H('b'))] }), me)
  refused(challenge({ resultHash: H('c') }))
  refused(challenge({ expectedHash: H('c') }))
  refused(challenge({ replicas: [first, { ...second, payload: { ...(second.payload as Record<string, unknown>), resultHash: H('d') } }] }), me)
  refused(challenge({ receipt: { ...challenge().receipt, kind: 'OFFER' } }))
})
