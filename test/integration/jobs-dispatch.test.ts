/**
 * /agora/task/1 between real libp2p nodes on loopback: a worker (slots: 1,
 * friends mode trusting the coordinator), the coordinator's dispatcher, a
 * stranger, and raw handlers that never answer (or accept and go silent).
 * Aborts are checked on the worker's side (the executor saw them).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import { generateIdentity, type NodeIdentity } from '../../src/identity/index.ts'
import { ReqResp } from '../../src/protocols/index.ts'
import { Dispatcher } from '../../src/jobs/dispatch/index.ts'
import { ResultFetchBudget } from '../../src/jobs/dispatch/fetch-budget.ts'
import { resultHash, TASK_PROTOCOL_ID, verifyReceipt, type DispatchTimeouts } from '../../src/jobs/protocol/index.ts'
import { TaskServer } from '../../src/jobs/worker/index.ts'
import { STATUS } from '../../src/protocols/index.ts'
import { errorFrame } from '../../src/protocols/reqresp/frames.ts'
import { AgoraError } from '../../src/errors.ts'
import { assignment, fixtures, makeWorker, type Fixtures, type WorkerSetup } from '../unit/jobs/task-fixtures.ts'
import { connectNodes, createTestNode, waitFor, type TestNode } from '../harness/libp2p-nodes.ts'
import { within } from '../harness/wait.ts'
import { isCode } from '../harness/checks.ts'
import type { Stream } from '@libp2p/interface'
import type { Registry } from 'prom-client'

const TIMEOUTS: DispatchTimeouts = { acceptMs: 2000, firstProgressMs: 3000, totalMs: 20_000 }

async function metric (registry: Registry | undefined, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry?.getSingleMetric(name)?.get())?.values ?? []
  return values.filter(v => Object.entries(labels).every(([k, value]) => v.labels[k] === value)).reduce((sum, v) => sum + v.value, 0)
}

const details = (err: unknown): Record<string, unknown> => (err as { details: Record<string, unknown> }).details

describe('jobs: /agora/task/1 between real nodes', () => {
  const ids: NodeIdentity[] = []
  const nodes: TestNode[] = []
  const engines: ReqResp[] = []
  let coordinator: TestNode
  let workerNode: TestNode
  let stranger: TestNode
  let fx: Fixtures
  let work: WorkerSetup
  let own: WorkerSetup
  let server: TaskServer
  let dispatcher: Dispatcher
  let strangerDispatcher: Dispatcher
  /** Streams the raw handlers on the stranger got, and whether each was closed by the caller. */
  const silent: Array<{ stream: Stream, closed: boolean }> = []

  before(async () => {
    for (let i = 0; i < 3; i++) ids.push(await generateIdentity())
    for (const id of ids) nodes.push(await createTestNode({ privateKey: id.privateKey, metrics: true }))
    ;[coordinator, workerNode, stranger] = nodes as [TestNode, TestNode, TestNode]
    const [coordinatorId, workerId, strangerId] = ids as [NodeIdentity, NodeIdentity, NodeIdentity]
    for (const node of nodes) engines.push(new ReqResp({ libp2p: node.libp2p, logger: node.logger, metrics: node.registry }))
    const [coordinatorRpc, workerRpc, strangerRpc] = engines as [ReqResp, ReqResp, ReqResp]

    fx = fixtures()
    work = await makeWorker({ identity: workerId, fx, slots: 1, trusted: () => [coordinator.peerId], heartbeatMs: 100, progressThrottleMs: 20, metrics: workerNode.registry, logger: workerNode.logger })
    server = new TaskServer({ reqresp: workerRpc, worker: work.worker, access: work.access, logger: workerNode.logger })
    await server.start()

    own = await makeWorker({ identity: coordinatorId })
    dispatcher = new Dispatcher({ reqresp: coordinatorRpc, worker: own.worker, executors: fx.executors, logger: coordinator.logger, metrics: coordinator.registry }, { timeouts: TIMEOUTS })
    const strangerOwn = await makeWorker({ identity: strangerId })
    strangerDispatcher = new Dispatcher({ reqresp: strangerRpc, worker: strangerOwn.worker, executors: fx.executors, logger: stranger.logger }, { timeouts: TIMEOUTS })
    for (const engine of engines) await engine.start()
    await connectNodes(coordinator, workerNode)
    await connectNodes(stranger, workerNode)
    await connectNodes(coordinator, stranger)
  })

  after(async () => {
    fx?.gate.release()
    await server?.stop()
    await work?.worker.stop()
    for (const engine of engines) await engine.stop()
    await Promise.allSettled(nodes.map(async node => { await node.stop() }))
  })

  test('accept, progress (with heartbeats), then the result with a verified receipt', async () => {
    let accepted = 0
    const progress: number[] = []
    const a = assignment(coordinator.peerId, 't.sleep', { attempt: 2 })
    const pending = dispatcher.dispatch(workerNode.peerId, a, { onAccepted: () => { accepted++ }, onProgress: f => { progress.push(f) } })
    await waitFor(() => progress.length >= 3, { what: 'progress and heartbeats' })
    assert.equal(accepted, 1)
    fx.gate.release()
    const result = await pending
    assert.deepEqual(result.result, { slept: true })
    assert.equal(result.resultHash, resultHash({ slept: true }))
    assert.equal(result.worker, workerNode.peerId)
    assert.equal(result.receiptPayload.attempt, 2)
    verifyReceipt(result.receipt, { worker: workerNode.peerId, coordinator: coordinator.peerId, key: a.key, attempt: 2, resultHash: result.resultHash })
    assert.equal(await metric(workerNode.registry, 'agora_jobs_worker_completed_total'), 1)
    assert.equal(await metric(coordinator.registry, 'agora_jobs_dispatch_attempts_total', { where: 'remote', outcome: 'ok' }), 1)
  })

  test('heartbeats keep a long subtask alive past the progress timeout', async () => {
    let progress = 0
    const started = Date.now()
    const pending = dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.sleep'), { timeouts: { firstProgressMs: 300 }, onProgress: () => { progress++ } })
    await waitFor(() => progress >= 6 && Date.now() - started > 600, { what: 'twice the progress timeout, with heartbeats' })
    fx.gate.release()
    assert.deepEqual((await pending).result, { slept: true })
  })

  test('a worker at its slot limit refuses (E1040, reason slots, a retry hint)', async () => {
    const started = fx.gate.started
    const busy = dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.sleep'))
    await waitFor(() => fx.gate.started === started + 1, { what: 'the sleeper to start' })
    await assert.rejects(dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.echo', { input: { text: 'x' } })), (err: unknown) => {
      isCode('E1040')(err)
      assert.equal(details(err).reason, 'slots')
      assert.equal(details(err).retryAfterMs, 1000)
      return true
    })
    fx.gate.release()
    await within('the released sleeper to answer', busy)
    assert.equal(await metric(workerNode.registry, 'agora_jobs_worker_refused_total', { reason: 'slots' }), 1)
  })

  test('a non-trusted peer in friends mode is refused (E1040, reason access, E901 in the message)', async () => {
    await assert.rejects(strangerDispatcher.dispatch(workerNode.peerId, assignment(stranger.peerId, 't.echo', { input: { text: 'x' } })), (err: unknown) => {
      isCode('E1040')(err)
      assert.equal(details(err).reason, 'access')
      assert.match((err as { why: string }).why, /E901/)
      return true
    })
  })

  test('a worker that never answers → E1041 (accept), and the stream is closed', async () => {
    await stranger.libp2p.handle(TASK_PROTOCOL_ID, async (stream: Stream) => {
      const entry = { stream, closed: false }
      silent.push(entry)
      stream.addEventListener('close', () => { entry.closed = true })
      await lpStream(stream).read().catch(() => {})
      // and then nothing: no accept, no refusal
    })
    try {
      const started = Date.now()
      await assert.rejects(dispatcher.dispatch(stranger.peerId, assignment(coordinator.peerId, 't.echo', { input: { text: 'x' } }), { timeouts: { acceptMs: 300 } }),
        (err: unknown) => isCode('E1041')(err) && /accept/.test((err as { why: string }).why))
      assert.ok(Date.now() - started < 3000, 'the accept timer (300 ms) fired: a hang guard at 10×')
      await waitFor(() => silent.length === 1 && silent[0]?.closed === true, { what: 'the silent stream to be closed by the caller' })
    } finally {
      await stranger.libp2p.unhandle(TASK_PROTOCOL_ID)
    }
  })

  test('a worker that accepts and goes silent → E1042 (progress)', async () => {
    await stranger.libp2p.handle(TASK_PROTOCOL_ID, async (stream: Stream) => {
      const lp = lpStream(stream)
      await lp.read()
      const body = new TextEncoder().encode(JSON.stringify({ type: 'accepted', slotsIdle: 0 }))
      const frame = new Uint8Array(body.byteLength + 1)
      frame.set(body, 1) // status byte 0: OK
      await lp.write(frame)
    })
    try {
      await assert.rejects(dispatcher.dispatch(stranger.peerId, assignment(coordinator.peerId, 't.echo', { input: { text: 'x' } }), { timeouts: { firstProgressMs: 300 } }),
        isCode('E1042'))
    } finally {
      await stranger.libp2p.unhandle(TASK_PROTOCOL_ID)
    }
  })

  test('a worker that accepts, then answers a rate limit (E206) or an access code, failed the attempt: it cannot bounce the subtask as a refusal', async () => {
    for (const code of ['E206', 'E901'] as const) {
      await stranger.libp2p.handle(TASK_PROTOCOL_ID, async (stream: Stream) => {
        const lp = lpStream(stream)
        await lp.read()
        const accepted = new TextEncoder().encode(JSON.stringify({ type: 'accepted', slotsIdle: 0 }))
        await lp.write(Uint8Array.from([STATUS.OK, ...accepted]))
        await lp.write(errorFrame(new AgoraError(code, 'go away')))
        // this raw handler serves one request per stream: close it, so the caller does not reuse it
        await stream.close()
      })
      try {
        await assert.rejects(dispatcher.dispatch(stranger.peerId, assignment(coordinator.peerId, 't.echo', { input: { text: 'x' } })),
          (err: unknown) => isCode('E1044')(err) && details(err).remoteCode === code)
      } finally {
        await stranger.libp2p.unhandle(TASK_PROTOCOL_ID)
      }
    }
  })

  test('the total timeout → E1043, and the executor on the worker is aborted', async () => {
    const aborted = fx.gate.aborted
    await assert.rejects(dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.sleep'), { timeouts: { totalMs: 500 } }), isCode('E1043'))
    await waitFor(() => fx.gate.aborted === aborted + 1, { what: 'the worker\'s executor to see the abort' })
    await waitFor(() => work.resources.running === 0, { what: 'the slot to come back' })
  })

  test('the caller aborting cancels the execution on the worker', async () => {
    const { gate } = fx
    const aborted = gate.aborted
    const started = gate.started
    const controller = new AbortController()
    const pending = dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.sleep'), { signal: controller.signal })
    await waitFor(() => gate.started === started + 1, { what: 'the sleeper to start on the worker' })
    controller.abort()
    await assert.rejects(pending, isCode('E1050'))
    await waitFor(() => gate.aborted === aborted + 1, { what: 'the worker\'s executor to see the abort' })
    await waitFor(() => work.resources.running === 0, { what: 'the slot to come back' })
  })

  test('a large result goes by reference and is fetched in chunks', async () => {
    const size = 3 * 1024 * 1024
    const result = await dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.big', { params: { size } }))
    assert.equal((result.result as { data: string }).data.length, size)
    const json = JSON.stringify(result.result)
    assert.equal(await metric(workerNode.registry, 'agora_jobs_worker_fetched_bytes_total'), Buffer.byteLength(json))
    assert.equal(await metric(coordinator.registry, 'agora_jobs_dispatch_fetched_bytes_total'), Buffer.byteLength(json))
    assert.equal(result.resultHash, resultHash(result.result))
  })

  test('a fetch waits for room in the node-wide budget, and neither the progress nor the total timeout runs while it waits', async () => {
    const size = 3 * 1024 * 1024
    const [progressMs, totalMs] = [500, 2500]
    const budget = new ResultFetchBudget(4 * 1024 * 1024)
    const budgeted = new Dispatcher({ reqresp: engines[0] as ReqResp, worker: own.worker, executors: fx.executors, logger: coordinator.logger }, { timeouts: TIMEOUTS, fetchBudget: budget })
    const held = await budget.reserve(2 * 1024 * 1024, new AbortController().signal)
    try {
      const fetchedBefore = await metric(workerNode.registry, 'agora_jobs_worker_fetched_bytes_total')
      const pending = budgeted.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.big', { params: { size } }), { timeouts: { firstProgressMs: progressMs, totalMs } })
      pending.catch(() => {}) // awaited below; a rejection meanwhile must not go unhandled
      await waitFor(() => budget.waiting === 1, { what: 'the fetch to wait for room' })
      // what is checked is that nothing fires: let the whole total timeout pass while the fetch waits
      const since = performance.now()
      await waitFor(() => performance.now() - since > totalMs + progressMs, { what: 'the total timeout to pass', timeoutMs: 2 * totalMs })
      assert.equal(budget.waiting, 1)
      assert.equal(await metric(workerNode.registry, 'agora_jobs_worker_fetched_bytes_total'), fetchedBefore, 'nothing is fetched without room')
      held()
      const result = await pending
      assert.equal((result.result as { data: string }).data.length, size)
      assert.equal(budget.reserved, 0)
    } finally {
      held()
    }
  })

  test('a malformed result (not matching the output schema) → E1045 at the dispatcher', async () => {
    await assert.rejects(dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.bad')), (err: unknown) => isCode('E1045')(err) && /output schema/.test((err as { why: string }).why))
  })

  test('a failure on the worker → E1044 with the remote code; bad input names the field', async () => {
    await assert.rejects(dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.fail')), (err: unknown) => isCode('E1044')(err) && details(err).remoteCode === 'E700')
    await assert.rejects(dispatcher.dispatch(workerNode.peerId, assignment(coordinator.peerId, 't.echo', { input: { text: 1 } })),
      (err: unknown) => isCode('E1044')(err) && details(err).remoteCode === 'E1044' && /input: text/.test((err as { why: string }).why))
  })

  test('a late duplicate of a key returns the cached result without running again', async () => {
    const a = assignment(coordinator.peerId, 't.echo', { input: { text: 'once' } })
    const first = await dispatcher.dispatch(workerNode.peerId, a)
    const runs = fx.runs.echo
    const late = await dispatcher.dispatch(workerNode.peerId, { ...a, attempt: 2 })
    assert.equal(fx.runs.echo, runs)
    assert.equal(late.resultHash, first.resultHash)
    assert.deepEqual(late.result, { text: 'once' })
    assert.equal(late.receiptPayload.attempt, 2)
    assert.equal(await metric(workerNode.registry, 'agora_jobs_worker_accepted_total', { how: 'cached' }), 1)
  })
})
