import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, type NodeIdentity } from '../../../src/identity/index.ts'
import { canonicalJson, resultHash, verifyReceipt, type TaskAssignment } from '../../../src/jobs/protocol/index.ts'
import type { TaskWorker, WorkerEvent } from '../../../src/jobs/worker/index.ts'
import { isCode } from '../../harness/checks.ts'
import { waitFor, within } from '../../harness/wait.ts'
import { assignment, makeWorker } from './task-fixtures.ts'

async function collect (events: AsyncIterable<WorkerEvent>): Promise<WorkerEvent[]> {
  const out: WorkerEvent[] = []
  for await (const event of events) out.push(event)
  return out
}

function resultOf (events: WorkerEvent[]): Extract<WorkerEvent, { type: 'result' }> {
  const last = events.at(-1)
  assert.equal(last?.type, 'result', JSON.stringify(events))
  return last as Extract<WorkerEvent, { type: 'result' }>
}

function refusalOf (events: WorkerEvent[]): Extract<WorkerEvent, { type: 'refused' }> {
  assert.equal(events.length, 1, JSON.stringify(events))
  assert.equal(events[0]?.type, 'refused')
  return events[0] as Extract<WorkerEvent, { type: 'refused' }>
}

const run = async (worker: TaskWorker, coordinator: string, a: TaskAssignment, signal = new AbortController().signal): Promise<WorkerEvent[]> =>
  await collect(worker.run(coordinator, a, signal))

describe('jobs worker: TaskWorker', () => {
  let coordinator: NodeIdentity
  let stranger: NodeIdentity
  before(async () => {
    [coordinator, stranger] = await Promise.all([generateIdentity(), generateIdentity()])
  })
  const trusted = (): string[] => [coordinator.peerIdString]

  test('runs an executor: accepted, then the result with a receipt for this attempt and hash', async () => {
    const { worker, identity } = await makeWorker({ trusted, pricePerTask: 2_000_000 })
    const a = assignment(coordinator.peerIdString, 't.echo', { input: { text: 'hi' }, params: { upper: true }, attempt: 3 })
    const events = await run(worker, coordinator.peerIdString, a)
    assert.equal(events[0]?.type, 'accepted')
    const result = resultOf(events)
    assert.deepEqual(result.result(), { text: 'HI' })
    assert.equal(result.hash, resultHash({ text: 'HI' }))
    const { receipt } = verifyReceipt(result.receipt, { worker: identity.peerIdString, coordinator: coordinator.peerIdString, key: a.key, attempt: 3, resultHash: result.hash })
    assert.equal(receipt.price, '2.000000', 'credits with six decimals on the wire')
    assert.ok(receipt.finishedAt >= receipt.startedAt)
  })

  test('refusals: unknown or disabled debug type, price, deadline, access (with the access code), stopping', async () => {
    const { worker } = await makeWorker({ trusted, pricePerTask: 5_000_000 })
    const c = coordinator.peerIdString
    const type = refusalOf(await run(worker, c, assignment(c, 'no.such')))
    assert.equal(type.reason, 'type')
    assert.match(type.message, /t\.echo/, 'the known types are listed')
    assert.equal(refusalOf(await run(worker, c, assignment(c, 't.debug'))).reason, 'type')
    const price = refusalOf(await run(worker, c, assignment(c, 't.echo', { input: { text: 'x' }, maxPrice: '4.999999' })))
    assert.equal(price.reason, 'price')
    assert.match(price.message, /asks 5\.000000 credits per task, over the 4\.999999 offered/)
    assert.equal(refusalOf(await run(worker, c, assignment(c, 't.echo', { input: { text: 'x' }, deadline: Date.now() - 1 }))).reason, 'deadline')
    const access = refusalOf(await run(worker, stranger.peerIdString, assignment(stranger.peerIdString, 't.echo', { input: { text: 'x' } })))
    assert.equal(access.reason, 'access')
    assert.match(access.message, /E901/)
    await worker.stop()
    assert.equal(refusalOf(await run(worker, c, assignment(c, 't.echo', { input: { text: 'x' } }))).reason, 'stopping')
  })

  test('resources: slots, then CPU and memory, refuse with a retry hint', async () => {
    const { worker, fx, probes, resources } = await makeWorker({ trusted, slots: 1 })
    const c = coordinator.peerIdString
    const sleeping = run(worker, c, assignment(c, 't.sleep'))
    await waitFor('the sleeper to start', () => fx.gate.started === 1)
    const slots = refusalOf(await run(worker, c, assignment(c, 't.echo', { input: { text: 'x' } })))
    assert.equal(slots.reason, 'slots')
    assert.equal(slots.retryAfterMs, 1000)
    fx.gate.release()
    resultOf(await sleeping)
    await waitFor('the slot to come back', () => resources.running === 0)
    probes.load = 10
    assert.equal(refusalOf(await run(worker, c, assignment(c, 't.echo', { input: { text: 'x' } }))).reason, 'cpu')
    probes.load = 0
    probes.freeBytes = 0
    assert.equal(refusalOf(await run(worker, c, assignment(c, 't.echo', { input: { text: 'x' } }))).reason, 'memory')
  })

  test('bad input or params fail with E1044 naming the field, and give the slot back', async () => {
    const { worker, resources } = await makeWorker({ trusted })
    const c = coordinator.peerIdString
    await assert.rejects(run(worker, c, assignment(c, 't.echo', { input: { text: 7 } })), (err: unknown) => isCode('E1044')(err) && /input: text/.test((err as { why: string }).why))
    await assert.rejects(run(worker, c, assignment(c, 't.echo', { input: { text: 'x' }, params: { upper: 'yes' } })), (err: unknown) => isCode('E1044')(err) && /params: upper/.test((err as { why: string }).why))
    assert.equal(resources.running, 0)
  })

  test('an executor failure travels with its own code; a non-JSON result is E1048', async () => {
    const { worker } = await makeWorker({ trusted })
    const c = coordinator.peerIdString
    await assert.rejects(run(worker, c, assignment(c, 't.fail')), isCode('E700'))
    await assert.rejects(run(worker, c, assignment(c, 't.void')), isCode('E1048'))
  })

  test('idempotency: a finished key returns the cached result without running again, with a receipt for the new attempt', async () => {
    const { worker, fx, identity } = await makeWorker({ trusted, pricePerTask: 1 })
    const c = coordinator.peerIdString
    const a = assignment(c, 't.echo', { input: { text: 'once' } })
    const first = resultOf(await run(worker, c, a))
    const again = await run(worker, c, { ...a, attempt: 2 })
    assert.deepEqual(again.map(e => e.type), ['accepted', 'result'])
    const second = resultOf(again)
    assert.equal(fx.runs.echo, 1)
    assert.equal(second.hash, first.hash)
    assert.deepEqual(second.result(), { text: 'once' })
    assert.equal(verifyReceipt(second.receipt, { worker: identity.peerIdString, coordinator: c, key: a.key, attempt: 2, resultHash: first.hash }).receipt.attempt, 2)
    // the price it was made at still applies
    assert.equal(refusalOf(await run(worker, c, { ...a, attempt: 3, maxPrice: '0.000000' })).reason, 'price')
    // the same key from another coordinator is another subtask
    const { worker: open } = await makeWorker({ trusted: () => [c, stranger.peerIdString], fx })
    resultOf(await run(open, c, a))
    resultOf(await run(open, stranger.peerIdString, a))
    assert.equal(fx.runs.echo, 3)
  })

  test('a re-offer of a running key attaches to it: one run, both callers get the result', async () => {
    const { worker, fx, resources } = await makeWorker({ trusted })
    const c = coordinator.peerIdString
    const a = assignment(c, 't.sleep')
    const first = run(worker, c, a)
    await waitFor('the run to start', () => fx.gate.started === 1)
    const second = run(worker, c, { ...a, attempt: 2 })
    await waitFor('the second caller to attach', () => resources.running === 1 && worker.runningCount === 1)
    fx.gate.release()
    const [one, two] = await Promise.all([first, second])
    assert.equal(fx.gate.started, 1)
    assert.equal(resultOf(one).hash, resultOf(two).hash)
  })

  test('the last caller leaving aborts the executor; one of two leaving does not', async () => {
    const { worker, fx, resources } = await makeWorker({ trusted })
    const c = coordinator.peerIdString
    const a = assignment(c, 't.sleep')
    const leaving = new AbortController()
    const first = run(worker, c, a, leaving.signal)
    await waitFor('the run to start', () => fx.gate.started === 1)
    const staying = new AbortController()
    const second = run(worker, c, a, staying.signal)
    leaving.abort(new Error('gone'))
    await assert.rejects(first)
    assert.equal(fx.gate.aborted, 0, 'the other caller still follows it')
    staying.abort(new Error('gone too'))
    await assert.rejects(second)
    await waitFor('the executor to see the abort', () => fx.gate.aborted === 1)
    await waitFor('the slot to come back', () => resources.running === 0)
  })

  test('progress is throttled, and heartbeats keep coming while the executor is quiet', async () => {
    const { worker, fx } = await makeWorker({ trusted, heartbeatMs: 40, progressThrottleMs: 10 })
    const c = coordinator.peerIdString
    const events: WorkerEvent[] = []
    const done = (async () => { for await (const event of worker.run(c, assignment(c, 't.sleep'), new AbortController().signal)) events.push(event) })()
    await waitFor('three heartbeats', () => events.filter(e => e.type === 'progress').length >= 3, { timeoutMs: 5000 })
    fx.gate.release()
    await within('the released run to end', done)
    const fractions = events.flatMap(e => e.type === 'progress' ? [e.fraction] : [])
    assert.equal(fractions[0], 0.1, 'the executor\'s progress, then the same fraction as a heartbeat')
    assert.ok(fractions.every(f => f === 0.1))
  })

  test('the deadline passing while it runs aborts the executor (E1047)', async () => {
    const { worker, fx } = await makeWorker({ trusted })
    const c = coordinator.peerIdString
    await assert.rejects(run(worker, c, assignment(c, 't.sleep', { deadline: Date.now() + 150 })), isCode('E1047'))
    await waitFor('the executor to see the abort', () => fx.gate.aborted === 1)
  })

  test('stop aborts what runs (E1049)', async () => {
    const { worker, fx } = await makeWorker({ trusted })
    const c = coordinator.peerIdString
    const running = run(worker, c, assignment(c, 't.sleep'))
    await waitFor('the run to start', () => fx.gate.started === 1)
    await worker.stop()
    await assert.rejects(running, isCode('E1049'))
    assert.equal(fx.gate.aborted, 1)
  })

  test('fetch hands a held result to its coordinator only (E1046 otherwise)', async () => {
    const { worker } = await makeWorker({ trusted })
    const c = coordinator.peerIdString
    const a = assignment(c, 't.big', { params: { size: 1000 } })
    const result = resultOf(await run(worker, c, a))
    assert.equal(worker.fetch(c, a.key, result.hash).utf8.toString('utf8'), canonicalJson(result.result()))
    assert.equal(worker.fetch(c, a.key, result.hash).utf8, worker.fetch(c, a.key, result.hash).utf8, 'every fetch sends slices of one buffer, not a copy each')
    assert.throws(() => worker.fetch(stranger.peerIdString, a.key, result.hash), isCode('E1046'))
    assert.throws(() => worker.fetch(c, a.key, '0'.repeat(64)), isCode('E1046'))
  })
})
