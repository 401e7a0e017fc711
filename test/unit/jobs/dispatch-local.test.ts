/** The dispatcher with this node as the worker: in process, the same checks and receipt as over the wire. */
import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Dispatcher } from '../../../src/jobs/dispatch/index.ts'
import { resultHash, verifyReceipt } from '../../../src/jobs/protocol/index.ts'
import { isCode } from '../../harness/checks.ts'
import { waitFor } from '../../harness/wait.ts'
import { assignment, makeWorker, type WorkerSetup } from './task-fixtures.ts'

const noWire = {
  requestStream: (): AsyncGenerator<never, void, undefined> => { throw new Error('a local dispatch must not use the wire') }
}

describe('jobs dispatch: local (in process)', () => {
  let setup: WorkerSetup
  let dispatcher: Dispatcher
  let self: string
  const registry = createRegistry({ defaultMetrics: false })

  before(async () => {
    setup = await makeWorker({ slots: 1, pricePerTask: 1_000_000 })
    self = setup.identity.peerIdString
    dispatcher = new Dispatcher({ reqresp: noWire, worker: setup.worker, executors: setup.fx.executors, logger: silentLogger(), metrics: registry }, { timeouts: { acceptMs: 500, firstProgressMs: 1000, totalMs: 5000 } })
  })

  test('a verified result with our own receipt, free (a node does not pay itself); callbacks fire', async () => {
    let accepted = 0
    const progress: number[] = []
    const a = assignment(self, 't.echo', { input: { text: 'local' }, maxPrice: '1.000000' })
    const result = await dispatcher.dispatch(self, a, { onAccepted: () => { accepted++ }, onProgress: f => { progress.push(f) } })
    assert.deepEqual(result.result, { text: 'local' })
    assert.equal(result.resultHash, resultHash({ text: 'local' }))
    assert.equal(result.worker, self)
    assert.equal(result.receiptPayload.price, '0.000000', 'its offer asks 1 credit of peers, nothing of its own jobs')
    assert.equal(accepted, 1)
    verifyReceipt(result.receipt, { worker: self, coordinator: self, key: a.key, attempt: 1, resultHash: result.resultHash })
    const values = (await registry.getSingleMetric('agora_jobs_dispatch_attempts_total')?.get())?.values ?? []
    assert.equal(values.find(v => v.labels.where === 'local' && v.labels.outcome === 'ok')?.value, 1)
  })

  test('a refusal is E1040 with the reason', async () => {
    await assert.rejects(dispatcher.dispatch(self, assignment(self, 't.echo', { input: { text: 'x' }, deadline: Date.now() - 1000 })), (err: unknown) => {
      isCode('E1040')(err)
      assert.equal((err as { details: Record<string, unknown> }).details.reason, 'deadline')
      return true
    })
  })

  test('an executor failure is E1044 with the remote code; bad input too', async () => {
    await assert.rejects(dispatcher.dispatch(self, assignment(self, 't.fail')), (err: unknown) => {
      isCode('E1044')(err)
      assert.equal((err as { details: Record<string, unknown> }).details.remoteCode, 'E700')
      return true
    })
    await assert.rejects(dispatcher.dispatch(self, assignment(self, 't.echo', { input: {} })), (err: unknown) => isCode('E1044')(err) && /input: text/.test((err as { why: string }).why))
  })

  test('a result not matching the output schema is E1045', async () => {
    await assert.rejects(dispatcher.dispatch(self, assignment(self, 't.bad')), (err: unknown) => isCode('E1045')(err) && /output schema/.test((err as { why: string }).why))
  })

  test('the total timeout (E1043) aborts the executor and frees its slot', async () => {
    const { gate } = setup.fx
    const aborted = gate.aborted
    await assert.rejects(dispatcher.dispatch(self, assignment(self, 't.sleep'), { timeouts: { totalMs: 200, firstProgressMs: 5000 } }), isCode('E1043'))
    await waitFor('the executor to see the timeout', () => gate.aborted === aborted + 1 && setup.resources.running === 0)
  })

  test('the caller\'s cancel aborts the executor (E1050, or the caller\'s own AgoraError)', async () => {
    const { gate } = setup.fx
    const aborted = gate.aborted
    const controller = new AbortController()
    const started = gate.started
    const cancelled = dispatcher.dispatch(self, assignment(self, 't.sleep'), { signal: controller.signal })
    await waitFor('the run to start', () => gate.started === started + 1)
    controller.abort()
    await assert.rejects(cancelled, isCode('E1050'))
    await waitFor('the executor to see the cancel', () => gate.aborted === aborted + 1 && setup.resources.running === 0)
    await assert.rejects(dispatcher.dispatch(self, assignment(self, 't.sleep'), { signal: AbortSignal.abort(new AgoraError('E1064', 'job finished')) }), isCode('E1064'))
  })

  test('an unknown type is refused before anything is sent (E1000)', async () => {
    await assert.rejects(dispatcher.dispatch('12D3KooWSomeoneElse', assignment(self, 'no.such')), isCode('E1000'))
  })
})
