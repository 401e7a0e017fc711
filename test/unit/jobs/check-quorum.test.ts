/**
 * Verifiers on the network, each side on its own: which verifiers a
 * coordinator asks and what their answers make of a result (QuorumChecks),
 * and what a verifier checks before it re-runs anything (CheckVerifier).
 * The multi-node flow is test/integration/verify-quorum.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { QuorumChecks, type QuorumChecksComponents } from '../../../src/jobs/check/quorum.ts'
import { CheckVerifier } from '../../../src/jobs/check/verifier.ts'
import type { CheckRequest, CheckResponse } from '../../../src/jobs/check/protocol.ts'
import { resultHash } from '../../../src/jobs/protocol/hash.ts'
import type { DispatchResult, TaskAssignment } from '../../../src/jobs/protocol/types.ts'
import { exactComparator, type AttestInput } from '../../../src/verify/index.ts'
import { isCode } from '../../harness/checks.ts'

const COORD = '12D3KooWCoordCoordCoordCoordCoordCoordCoordCoordCo'
const WORKER = '12D3KooWWorkerWorkerWorkerWorkerWorkerWorkerWorke'
const VERIFIERS = ['12D3KooWVerifAVerifAVerifAVerifAVerifAVerifAVeri', '12D3KooWVerifBVerifBVerifBVerifBVerifBVerifBVeri', '12D3KooWVerifCVerifCVerifCVerifCVerifCVerifCVeri']
const log = silentLogger().forComponent('test')

const assignment: TaskAssignment = { key: `${COORD}/j1/s1`, jobId: 'j1', subtaskId: 's1', attempt: 1, type: 'text.chunk', params: {}, input: 'text' }
const primary = (result: unknown): DispatchResult => ({ result, resultHash: resultHash(result), receipt: '', receiptPayload: {} as DispatchResult['receiptPayload'], worker: WORKER })

/** A verifier's answer: its re-run (`result`) when asked for it. */
const answer = (verdict: 'valid' | 'invalid', request: CheckRequest): CheckResponse => ({ verdict, resultHash: resultHash(['a', 'b']), ...(request.wantResult === true ? { result: ['a', 'b'] } : {}) })

function quorum (over: Partial<QuorumChecksComponents> = {}): QuorumChecks {
  return new QuorumChecks({
    ask: async (_peer, request) => answer('valid', request),
    verifiersOf: () => [...VERIFIERS, WORKER],
    quorum: () => ({ mode: 'quorum', k: 2 }),
    decided: async () => true,
    log,
    ...over
  })
}

const check = async (q: QuorumChecks, result: unknown = ['a', 'b']): Promise<string | undefined> =>
  await q.check({ thread: `${COORD}/j1/s1`, assignment, primary: primary(result), verifiers: VERIFIERS.slice(0, 2), signal: AbortSignal.timeout(5000) })

test('K verifiers other than the worker, in quorum mode only, when K are there', () => {
  const chosen = quorum().verifiersFor('text.chunk', new Set([WORKER]))
  assert.equal(chosen?.length, 2)
  assert.ok(chosen?.every(v => VERIFIERS.includes(v)))
  assert.equal(quorum({ quorum: () => ({ mode: 'bootstrap', k: 1 }) }).verifiersFor('text.chunk', new Set()), undefined, 'bootstrap mode: the coordinator compares itself')
  assert.equal(quorum({ verifiersOf: () => [VERIFIERS[0] as string, WORKER] }).verifiersFor('text.chunk', new Set([WORKER])), undefined, 'fewer than K')
})

test('the verdict: K valid and the DECIDE booked → valid; K invalid → invalid; anything less → no verdict', async () => {
  const asked: CheckRequest[] = []
  assert.equal(await check(quorum({ ask: async (_peer, request) => { asked.push(request); return answer('valid', request) } })), 'valid')
  // one re-run: the first verifier's; the second compares with it
  assert.deepEqual(asked.map(r => [r.wantResult, r.replica?.verifier]), [[true, undefined], [undefined, VERIFIERS[0]]])
  assert.deepEqual(asked[1]?.replica?.result, ['a', 'b'])
  assert.equal(await check(quorum({ ask: async (_peer, request) => answer('invalid', request) })), 'invalid')
  let n = 0
  assert.equal(await check(quorum({ ask: async (_peer, request) => answer(n++ === 0 ? 'valid' : 'invalid', request) })), undefined, 'split: no verdict')
  assert.equal(await check(quorum({ ask: async (peer, request) => { if (peer === VERIFIERS[1]) throw new AgoraError('E1040', 'busy'); return answer('valid', request) } })), undefined, 'one did not answer')
  let others = 0
  assert.equal(await check(quorum({ ask: async (peer, request) => { if (peer === VERIFIERS[0]) throw new AgoraError('E1040', 'busy'); others++; return answer('valid', request) } })), undefined, 'no re-run: nothing to compare with')
  assert.equal(others, 0)
  assert.equal(await check(quorum({ decided: async () => false })), undefined, 'no DECIDE: no verdict')
  let sent = 0
  assert.equal(await check(quorum({ ask: async (_peer, request) => { sent++; return answer('valid', request) } }), 'x'.repeat(800 * 1024)), undefined, 'too large to send')
  assert.equal(sent, 0)
})

function verifier (attested: AttestInput[], run: (a: TaskAssignment) => unknown = () => ['a', 'b']): CheckVerifier {
  return new CheckVerifier({
    reqresp: { handle: async () => {}, unhandle: async () => {} },
    dispatcher: { dispatch: async (worker, a) => primary(run(a)) as DispatchResult & { worker: typeof worker } },
    selfPeerId: VERIFIERS[0] as string,
    comparator: type => type === 'text.chunk' ? exactComparator : undefined,
    attest: async input => { attested.push(input) },
    log
  }, { verifies: ['text.chunk'], maxInFlight: 4 })
}

const request = (over: Partial<CheckRequest> = {}): CheckRequest => ({ thread: `${COORD}/j1/s1`, epoch: 1, assignment, worker: WORKER, result: ['a', 'b'], resultHash: resultHash(['a', 'b']), ...over })

test('a verifier re-runs, compares, attests and answers; it refuses other types, another\'s thread and a result that does not hash to its claim', async () => {
  const attested: AttestInput[] = []
  const signal = AbortSignal.timeout(5000)
  const v = verifier(attested)
  assert.deepEqual(await v.check(request(), COORD, signal), { verdict: 'valid', resultHash: resultHash(['a', 'b']) })
  assert.deepEqual(await v.check(request({ result: ['a', 'c'], resultHash: resultHash(['a', 'c']) }), COORD, signal), { verdict: 'invalid', resultHash: resultHash(['a', 'b']) })
  assert.deepEqual(attested.map(a => [a.thread, a.epoch, a.subtask, a.worker, a.verdict]), [[`${COORD}/j1/s1`, 1, 's1', WORKER, 'valid'], [`${COORD}/j1/s1`, 1, 's1', WORKER, 'invalid']])
  await assert.rejects(v.check(request({ assignment: { ...assignment, type: 'text.embed' } }), COORD, signal), isCode('E1207'))
  await assert.rejects(v.check(request(), WORKER, signal), isCode('E1207'), 'only the thread\'s coordinator asks')
  await assert.rejects(v.check(request({ resultHash: 'f'.repeat(64) }), COORD, signal), isCode('E1207'))
  assert.equal(attested.length, 2, 'a refused check attests nothing')
  // asked for its re-run, it sends it back; handed another verifier's, it compares with that and runs nothing
  assert.deepEqual((await v.check(request({ wantResult: true }), COORD, signal)).result, ['a', 'b'])
  let ran = 0
  const comparing = verifier(attested, () => { ran++; return ['a', 'b'] })
  const replica = { verifier: VERIFIERS[1] as string, result: ['a', 'c'], resultHash: resultHash(['a', 'c']) }
  assert.deepEqual(await comparing.check(request({ replica }), COORD, signal), { verdict: 'invalid', resultHash: resultHash(['a', 'c']) })
  assert.equal(ran, 0)
})

test('a verifier whose own worker is busy waits for a slot instead of refusing', async () => {
  const attested: AttestInput[] = []
  let tries = 0
  const v = new CheckVerifier({
    reqresp: { handle: async () => {}, unhandle: async () => {} },
    dispatcher: {
      dispatch: async () => {
        if (tries++ < 3) throw new AgoraError('E1040', 'busy', { details: { reason: 'slots' } })
        return primary(['a', 'b'])
      }
    },
    selfPeerId: VERIFIERS[0] as string,
    comparator: () => exactComparator,
    attest: async input => { attested.push(input) },
    log
  }, { verifies: ['text.chunk'], maxInFlight: 4 })
  assert.equal((await v.check(request(), COORD, AbortSignal.timeout(5000))).verdict, 'valid')
  assert.equal(tries, 4)
})

test('a verifier takes at most maxInFlight checks at once; the next is refused as busy (E1040), nothing queues', async () => {
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const v = new CheckVerifier({
    reqresp: { handle: async () => {}, unhandle: async () => {} },
    dispatcher: { dispatch: async () => { await gate; return primary(['a', 'b']) } },
    selfPeerId: VERIFIERS[0] as string,
    comparator: () => exactComparator,
    attest: async () => {},
    log
  }, { verifies: ['text.chunk'], maxInFlight: 2 })
  const signal = AbortSignal.timeout(5000)
  const running = [v.check(request(), COORD, signal), v.check(request(), COORD, signal)]
  await assert.rejects(v.check(request(), COORD, signal), (err: unknown) => { isCode('E1040')(err); assert.equal((err as AgoraError).details?.reason, 'slots'); return true })
  release()
  assert.deepEqual((await Promise.all(running)).map(r => r.verdict), ['valid', 'valid'])
  assert.equal((await v.check(request(), COORD, signal)).verdict, 'valid', 'room again once they ended')
})
