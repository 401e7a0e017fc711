/**
 * The task server's accept linger: an `accepted` frame waits a moment for
 * the next, so a quick task's acceptance and result leave together; a slow
 * task's acceptance leaves alone when the linger ends, not with the result.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskServer } from '../../../src/jobs/worker/server.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { TaskFrame, TaskRequest } from '../../../src/jobs/protocol/schema.ts'
import type { TaskWorker, WorkerEvent } from '../../../src/jobs/worker/task-worker.ts'
import type { HandlerContext } from '../../../src/protocols/index.ts'

type Handler = (request: TaskRequest, context: HandlerContext) => AsyncGenerator<TaskFrame, void, undefined>

const ASSIGNMENT = { key: 's1', type: 'debug.noop', input: {}, params: {} }

/** A server over a fake worker whose run is `run`; returns the stream handler it registered. */
async function serverWith (run: TaskWorker['run'], acceptLingerMs: number): Promise<Handler> {
  let handler: Handler | undefined
  const reqresp = {
    handleStream: async (_protocol: unknown, fn: Handler) => { handler = fn },
    unhandle: async () => {}
  }
  const access = { evaluate: () => undefined, admitPeer: () => true }
  const server = new TaskServer({ reqresp: reqresp as never, worker: { run, fetch: () => { throw new Error('no fetch') } }, access: access as never, logger: silentLogger() }, { acceptLingerMs })
  await server.start()
  assert.ok(handler !== undefined)
  return handler
}

const context = (): HandlerContext => ({ peerId: 'coordinator', remoteAddr: '/ip4/127.0.0.1/tcp/1', signal: new AbortController().signal })

const result = (): WorkerEvent => ({ type: 'result', bytes: 2, hash: 'h', receipt: { r: 1 } as never, result: () => ({}) } as unknown as WorkerEvent)

test('a quick task: accepted is held until the result is made, then both go', async () => {
  const made: string[] = []
  const handler = await serverWith(async function * () {
    yield { type: 'accepted', slotsIdle: 3 }
    await Promise.resolve()
    made.push('result')
    yield result()
  }, 60_000)
  const frames = handler({ kind: 'offer', assignment: ASSIGNMENT } as never, context())
  const first = await frames.next()
  assert.equal((first.value as TaskFrame).type, 'accepted')
  assert.deepEqual(made, ['result'], 'the result was made before the acceptance left')
  const second = await frames.next()
  assert.equal((second.value as TaskFrame).type, 'result')
  assert.equal((await frames.next()).done, true)
})

test('a slow task: accepted leaves when the linger ends, while the result is still to come', async () => {
  let finish!: () => void
  const gate = new Promise<void>(resolve => { finish = resolve })
  const handler = await serverWith(async function * () {
    yield { type: 'accepted', slotsIdle: 0 }
    await gate
    yield result()
  }, 5)
  const frames = handler({ kind: 'offer', assignment: ASSIGNMENT } as never, context())
  assert.equal(((await frames.next()).value as TaskFrame).type, 'accepted')
  finish()
  assert.equal(((await frames.next()).value as TaskFrame).type, 'result')
  assert.equal((await frames.next()).done, true)
})

test('no linger (0): accepted leaves before the result is made', async () => {
  const made: string[] = []
  const handler = await serverWith(async function * () {
    yield { type: 'accepted', slotsIdle: 3 }
    made.push('result')
    yield result()
  }, 0)
  const frames = handler({ kind: 'offer', assignment: ASSIGNMENT } as never, context())
  assert.equal(((await frames.next()).value as TaskFrame).type, 'accepted')
  assert.deepEqual(made, [])
  assert.equal(((await frames.next()).value as TaskFrame).type, 'result')
})

test('the caller leaving while an acceptance lingers ends the worker\'s run', async () => {
  let ended = false
  let finish!: () => void
  const gate = new Promise<void>(resolve => { finish = resolve })
  const handler = await serverWith(async function * () {
    try {
      yield { type: 'accepted', slotsIdle: 0 }
      await gate
      yield result()
    } finally {
      ended = true
    }
  }, 5)
  const frames = handler({ kind: 'offer', assignment: ASSIGNMENT } as never, context())
  assert.equal(((await frames.next()).value as TaskFrame).type, 'accepted')
  const leaving = frames.return(undefined)
  finish()
  await leaving
  assert.equal(ended, true)
})

test('the engine leaving while an acceptance lingers aborts the worker\'s run, so its slot is not held to the end of the task', async () => {
  let aborted: unknown
  const handler = await serverWith(async function * (_peer, _assignment, signal) {
    yield { type: 'accepted', slotsIdle: 0 }
    await new Promise<void>(resolve => { signal.addEventListener('abort', () => { aborted = signal.reason; resolve() }, { once: true }) })
  }, 5)
  // the caller's own signal never fires: only our leaving can end the run
  const frames = handler({ kind: 'offer', assignment: ASSIGNMENT } as never, context())
  assert.equal(((await frames.next()).value as TaskFrame).type, 'accepted')
  await frames.return(undefined)
  assert.equal((aborted as { code?: string } | undefined)?.code, 'E1050')
})
