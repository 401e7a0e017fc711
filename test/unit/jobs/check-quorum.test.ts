/**
 * Verifiers on the network, each side on its own: which verifiers a
 * coordinator asks and what their answers make of a result (QuorumChecks),
 * and what a verifier checks before it re-runs anything, and when it
 * re-runs (CheckVerifier). The multi-node flow is
 * test/integration/verify-quorum.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { generateIdentity } from '../../../src/identity/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { QuorumChecks, type QuorumChecksComponents } from '../../../src/jobs/check/quorum.ts'
import { CheckVerifier } from '../../../src/jobs/check/verifier.ts'
import type { CheckRequest, CheckResponse } from '../../../src/jobs/check/protocol.ts'
import { resultHash } from '../../../src/jobs/protocol/hash.ts'
import { decodeReceipt, signReceipt } from '../../../src/jobs/protocol/receipt.ts'
import type { DispatchResult, TaskAssignment } from '../../../src/jobs/protocol/types.ts'
import { exactComparator, type AttestInput } from '../../../src/verify/index.ts'
import { isCode } from '../../harness/checks.ts'

const coordinator = await generateIdentity()
const workerIdentity = await generateIdentity()
const COORD = coordinator.peerIdString
const WORKER = workerIdentity.peerIdString
const VERIFIERS = ['12D3KooWVerifAVerifAVerifAVerifAVerifAVerifAVeri', '12D3KooWVerifBVerifBVerifBVerifBVerifBVerifBVeri', '12D3KooWVerifCVerifCVerifCVerifCVerifCVerifCVeri']
const SELF = VERIFIERS[0] as string
const log = silentLogger().forComponent('test')
const AB = ['a', 'b']
const AC = ['a', 'c']

const assignment: TaskAssignment = { key: `${COORD}/j1/s1`, jobId: 'j1', subtaskId: 's1', attempt: 1, type: 'text.chunk', params: {}, input: 'text' }
/** The worker's signed receipt for `result`, made out to the coordinator. */
const receiptFor = (result: unknown): string => signReceipt(workerIdentity, { key: assignment.key, attempt: 1, jobId: 'j1', subtaskId: 's1', type: 'text.chunk', worker: WORKER, coordinator: COORD, resultHash: resultHash(result), price: '0.100000', startedAt: 1, finishedAt: 2 })
const primary = (result: unknown, worker = WORKER): DispatchResult => ({ result, resultHash: resultHash(result), receipt: receiptFor(result), receiptPayload: {} as DispatchResult['receiptPayload'], worker })

/** A verifier's answer: its re-run (`result`) when asked for it. */
const answer = (verdict: 'valid' | 'invalid', request: CheckRequest): CheckResponse => ({ verdict, resultHash: resultHash(AB), ...(request.wantResult === true ? { result: AB } : {}) })

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

const check = async (q: QuorumChecks, result: unknown = AB, drawn = VERIFIERS.slice(0, 2)): Promise<string | undefined> =>
  await q.check({ thread: `${COORD}/j1/s1`, assignment, primary: primary(result), k: 2, drawn, signal: AbortSignal.timeout(5000) })

test('K verifiers other than the worker (and a spare or two), in quorum mode only, when K are there', () => {
  const chosen = quorum().verifiersFor('text.chunk', new Set([WORKER]))
  assert.equal(chosen?.k, 2)
  assert.deepEqual([...chosen?.drawn ?? []].sort(), [...VERIFIERS].sort(), 'K and, here, the one spare left')
  assert.equal(quorum({ verifiersOf: () => Array.from({ length: 9 }, (_, i) => `v${i}`) }).verifiersFor('text.chunk', new Set())?.drawn.length, 4, 'K + 2 spares at most')
  assert.equal(quorum({ quorum: () => ({ mode: 'bootstrap', k: 1 }) }).verifiersFor('text.chunk', new Set()), undefined, 'bootstrap mode: the coordinator compares itself')
  assert.equal(quorum({ verifiersOf: () => [SELF, WORKER] }).verifiersFor('text.chunk', new Set([WORKER])), undefined, 'fewer than K')
})

test('the verdict: K valid and the DECIDE booked → valid; K invalid → invalid; anything less → no verdict', async () => {
  const asked: CheckRequest[] = []
  let counted: readonly string[] = []
  assert.equal(await check(quorum({ ask: async (_peer, request) => { asked.push(request); return answer('valid', request) }, decided: async (_t, _e, _r, verifiers) => { counted = verifiers; return true } })), 'valid')
  // one re-run: the first verifier's; the second compares with it; the worker's receipt goes along; only the asked verifiers' reveals count
  assert.deepEqual(asked.map(r => [r.wantResult, r.replica?.verifier]), [[true, undefined], [undefined, SELF]])
  assert.deepEqual(asked[1]?.replica?.result, AB)
  assert.equal(decodeReceipt(asked[0]?.receipt ?? '').receipt.resultHash, resultHash(AB))
  assert.deepEqual(counted, VERIFIERS.slice(0, 2))
  assert.equal(await check(quorum({ ask: async (_peer, request) => answer('invalid', request) })), 'invalid')
  let n = 0
  assert.equal(await check(quorum({ ask: async (_peer, request) => answer(n++ === 0 ? 'valid' : 'invalid', request) })), undefined, 'split: no verdict')
  assert.equal(await check(quorum({ ask: async (peer, request) => { if (peer === VERIFIERS[1]) throw new AgoraError('E1040', 'busy'); return answer('valid', request) } })), undefined, 'one did not answer')
  let others = 0
  assert.equal(await check(quorum({ ask: async (peer, request) => { if (peer === SELF) throw new AgoraError('E1040', 'busy'); others++; return answer('valid', request) } })), undefined, 'no re-run and no spare: nothing to compare with')
  assert.equal(others, 0)
  // a busy re-runner hands the re-run to a spare; the quorum is then the spare and the next one
  const asked2: Array<[string, boolean]> = []
  const busyFirst = quorum({ ask: async (peer, request) => { asked2.push([peer, request.wantResult === true]); if (peer === SELF) throw new AgoraError('E1040', 'busy'); return answer('valid', request) } })
  assert.equal(await check(busyFirst, AB, VERIFIERS), 'valid')
  assert.deepEqual(asked2, [[SELF, true], [VERIFIERS[1], true], [VERIFIERS[2], false]])
  assert.equal(await check(quorum({ decided: async () => false })), undefined, 'no DECIDE: no verdict')
  let sent = 0
  assert.equal(await check(quorum({ ask: async (_peer, request) => { sent++; return answer('valid', request) } }), 'x'.repeat(800 * 1024)), undefined, 'too large to send')
  assert.equal(sent, 0)
})

/** A verifier whose own worker computes `run(assignment)`; `runs` counts them. */
function verifier (attested: AttestInput[], run: () => unknown = () => AB, runs = { n: 0 }, maxInFlight = 4): CheckVerifier {
  return new CheckVerifier({
    reqresp: { handle: async () => {}, unhandle: async () => {} },
    dispatcher: { dispatch: async (worker) => { runs.n++; return primary(run(), worker) } },
    selfPeerId: SELF,
    comparator: type => type === 'text.chunk' ? exactComparator : undefined,
    attest: async input => { attested.push(input) },
    log
  }, { verifies: ['text.chunk'], maxInFlight })
}

const request = (over: Partial<CheckRequest> = {}, result: unknown = AB): CheckRequest =>
  ({ thread: `${COORD}/j1/s1`, epoch: 1, assignment, worker: WORKER, receipt: receiptFor(result), result, resultHash: resultHash(result), ...over })

test('a verifier re-runs, compares, attests and answers; it refuses other types, another\'s thread, a receipt that does not check out, a result that does not hash to its claim', async () => {
  const attested: AttestInput[] = []
  const signal = AbortSignal.timeout(5000)
  const v = verifier(attested)
  assert.deepEqual(await v.check(request(), COORD, signal), { verdict: 'valid', resultHash: resultHash(AB) })
  assert.deepEqual(await v.check(request({}, AC), COORD, signal), { verdict: 'invalid', resultHash: resultHash(AB) })
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(attested.map(a => [a.thread, a.epoch, a.subtask, a.worker, a.verdict]), [[`${COORD}/j1/s1`, 1, 's1', WORKER, 'valid'], [`${COORD}/j1/s1`, 1, 's1', WORKER, 'invalid']])
  await assert.rejects(v.check(request({ assignment: { ...assignment, type: 'text.embed' } }), COORD, signal), isCode('E1207'))
  await assert.rejects(v.check(request(), WORKER, signal), isCode('E1207'), 'only the thread\'s coordinator asks')
  await assert.rejects(v.check(request({ resultHash: 'f'.repeat(64) }), COORD, signal), isCode('E1207'))
  await assert.rejects(v.check(request({ receipt: receiptFor(AC) }), COORD, signal), isCode('E1207'), 'a receipt for another result')
  const stranger = await generateIdentity()
  await assert.rejects(v.check({ ...request(), thread: `${stranger.peerIdString}/j1/s1`, assignment: { ...assignment, key: `${stranger.peerIdString}/j1/s1` } }, stranger.peerIdString, signal), isCode('E1207'), 'a receipt made out to another coordinator: no free re-runs')
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(attested.length, 2, 'a refused check attests nothing')
  // asked for its re-run, it sends it back
  assert.deepEqual((await v.check(request({ wantResult: true }), COORD, signal)).result, AB)
})

test('handed another verifier\'s re-run, a verifier compares with it; when they disagree it re-runs itself, so one verifier cannot get a worker outvoted alone', async () => {
  const signal = AbortSignal.timeout(5000)
  const runs = { n: 0 }
  const v = verifier([], () => AB, runs)
  const replica = (result: unknown): CheckRequest['replica'] => ({ verifier: VERIFIERS[1] as string, result, resultHash: resultHash(result) })
  assert.deepEqual(await v.check(request({ replica: replica(AB) }), COORD, signal), { verdict: 'valid', resultHash: resultHash(AB) })
  assert.equal(runs.n, 0, 'agreeing with the replica: nothing re-run')
  // a bad first verifier's re-run: this one re-runs and finds the worker right
  assert.deepEqual(await v.check(request({ replica: replica(AC) }), COORD, signal), { verdict: 'valid', resultHash: resultHash(AB) })
  assert.equal(runs.n, 1)
  // a wrong worker result: the replica and its own run both disagree
  assert.equal((await v.check(request({ replica: replica(AB) }, AC), COORD, signal)).verdict, 'invalid')
  await assert.rejects(v.check(request({ replica: { ...replica(AB) as NonNullable<CheckRequest['replica']>, resultHash: 'f'.repeat(64) } }), COORD, signal), isCode('E1207'))
})

test('a verifier whose own worker is busy waits for a slot instead of refusing', async () => {
  let tries = 0
  const v = new CheckVerifier({
    reqresp: { handle: async () => {}, unhandle: async () => {} },
    dispatcher: {
      dispatch: async (worker) => {
        if (tries++ < 3) throw new AgoraError('E1040', 'busy', { details: { reason: 'slots' } })
        return primary(AB, worker)
      }
    },
    selfPeerId: SELF,
    comparator: () => exactComparator,
    attest: async () => {},
    log
  }, { verifies: ['text.chunk'], maxInFlight: 4 })
  assert.equal((await v.check(request(), COORD, AbortSignal.timeout(5000))).verdict, 'valid')
  assert.equal(tries, 4)
})

test('a verifier takes at most maxInFlight checks at once, half of them from one caller; the next is refused as busy (E1040), nothing queues', async () => {
  let release: () => void = () => {}
  const gate = new Promise<void>(resolve => { release = resolve })
  const v = new CheckVerifier({
    reqresp: { handle: async () => {}, unhandle: async () => {} },
    dispatcher: { dispatch: async (worker) => { await gate; return primary(AB, worker) } },
    selfPeerId: SELF,
    comparator: () => exactComparator,
    attest: async () => {},
    log
  }, { verifies: ['text.chunk'], maxInFlight: 4 })
  const signal = AbortSignal.timeout(5000)
  const running = [v.check(request(), COORD, signal), v.check(request(), COORD, signal)]
  await assert.rejects(v.check(request(), COORD, signal), (err: unknown) => { isCode('E1040')(err); assert.equal((err as AgoraError).details?.reason, 'slots'); return true })
  release()
  assert.deepEqual((await Promise.all(running)).map(r => r.verdict), ['valid', 'valid'])
  assert.equal((await v.check(request(), COORD, signal)).verdict, 'valid', 'room again once they ended')
})

test('verify.quorumReruns = R: the first R verifiers each re-run (a lazy re-runner no longer decides alone); the rest compare with the first', async () => {
  const asked: Array<[string, boolean | undefined, string | undefined]> = []
  const record = (peer: string, request: CheckRequest): void => { asked.push([peer, request.wantResult, request.replica?.verifier]) }
  const k3 = (over: Partial<QuorumChecksComponents>): QuorumChecks => quorum({ quorum: () => ({ mode: 'quorum', k: 3 }), reruns: () => 2, ...over })
  const drawn = [...VERIFIERS, '12D3KooWVerifDVerifDVerifDVerifDVerifDVerifDVeri']
  const run = async (q: QuorumChecks): Promise<string | undefined> => await q.check({ thread: `${COORD}/j1/s1`, assignment, primary: primary(AB), k: 3, drawn, signal: AbortSignal.timeout(5000) })
  assert.equal(await run(k3({ ask: async (peer, request) => { record(peer, request); return answer('valid', request) } })), 'valid')
  assert.deepEqual(asked, [[VERIFIERS[0], true, undefined], [VERIFIERS[1], true, undefined], [VERIFIERS[2], undefined, VERIFIERS[0]]])
  // the first re-runner copies the worker's result; the second re-runs for real and disagrees: no longer valid
  const lazyFirst = k3({ ask: async (peer, request) => answer(peer === VERIFIERS[1] ? 'invalid' : 'valid', request) })
  assert.equal(await run(lazyFirst), undefined)
  // R above K is K; a re-runner that cannot hands its place to the next while K − R remain to compare
  asked.length = 0
  const busy = k3({ reruns: () => 9, ask: async (peer, request) => { record(peer, request); if (peer === VERIFIERS[1]) throw new AgoraError('E1040', 'busy'); return answer('valid', request) } })
  assert.equal(await run(busy), 'valid')
  assert.deepEqual(asked.map(a => [a[0], a[1]]), [[VERIFIERS[0], true], [VERIFIERS[1], true], [VERIFIERS[2], true], [drawn[3], true]])
})
