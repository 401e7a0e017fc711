import { describe, test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { parseCredits } from '../../../src/market/amount.ts'
import { JobRun, type RunEnd } from '../../../src/jobs/coordinator/job-run.ts'
import { JobStore } from '../../../src/jobs/store/job-store.ts'
import { Database } from '../../../src/store/index.ts'
import type { CoordinatorContext } from '../../../src/jobs/coordinator/context.ts'
import type { TaskDispatcher } from '../../../src/jobs/protocol/types.ts'
import type { RouteRequest, WorkerCandidate } from '../../../src/jobs/router/types.ts'
import { FakeDispatcher, ListRouter, type Behaviour } from './run-fakes.ts'
import type { PlannedSubtask } from '../../../src/jobs/planner/types.ts'

function setup (subtasks: PlannedSubtask[], router: ListRouter, dispatcher: TaskDispatcher, config: Partial<CoordinatorContext['config']> = {}, deadline?: number, budget?: number): { run: JobRun, store: JobStore, db: Database } {
  const db = new Database({ path: ':memory:' })
  const store = new JobStore(db)
  store.insert({ id: 'j1', type: 'debug.noop', input: { kind: 'items', items: [] }, params: {}, constraints: { redundancy: 1, deadline, budget }, createdAt: Date.now() }, subtasks)
  const context: CoordinatorContext = {
    store,
    router,
    dispatcher,
    events: { emit: () => true },
    config: { concurrency: 4, maxAttempts: 3, timeouts: { acceptMs: 1000, firstProgressMs: 1000, totalMs: 5000 }, ...config },
    selfPeerId: 'me',
    progress: () => {}
  }
  const plan = {
    jobId: 'j1',
    modelsOf: () => [],
    bind: (_id: string, deps: Array<{ result: unknown }>) => ({ joined: deps.map(d => d.result) })
  }
  return { run: new JobRun(context, plan, { redundancy: 1, deadline, budget }, store.planRows('j1'), 0), store, db }
}

const items = (n: number): PlannedSubtask[] => Array.from({ length: n }, (_, i) => ({ id: `s-${i}`, type: 'debug.noop', params: {}, input: i, deps: [] }))
const never: Behaviour = async (_a, signal) => await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })

describe('JobRun', () => {
  test('runs every subtask once, within the concurrency limit', async () => {
    const router = new ListRouter(['w1'])
    const dispatcher = new FakeDispatcher({})
    const { run, store, db } = setup(items(20), router, dispatcher, { concurrency: 3 })
    assert.deepEqual(await run.run(), { state: 'completed' })
    assert.equal(dispatcher.calls.length, 20)
    assert.ok(router.maxLoad <= 3 && router.maxLoad >= 2, `max load ${router.maxLoad}`)
    assert.deepEqual(store.results('j1').map(r => r.result), Array.from({ length: 20 }, (_, i) => i))
    assert.equal(store.get('j1')?.progress.committed, 20)
    db.close()
  })

  test('a budget of "0.3" covers three subtasks at "0.1" exactly (micro-credits, no floating point)', async () => {
    const dispatcher = new FakeDispatcher({})
    const { run, store, db } = setup(items(3), new ListRouter(['w1'], parseCredits('0.1')), dispatcher, { concurrency: 1 }, undefined, parseCredits('0.3'))
    assert.deepEqual(await run.run(), { state: 'completed' })
    assert.equal(store.get('j1')?.spent, 300_000)
    assert.deepEqual(store.subtasks('j1').map(s => s.price), [100_000, 100_000, 100_000])
    // the last one is offered at what is left of the budget, exactly the price
    assert.deepEqual(dispatcher.calls.map(c => c.assignment.maxPrice), ['0.100000', '0.100000', '0.100000'])
    db.close()
  })

  test('a budget one micro-credit short of the last subtask fails the job with E1021', async () => {
    const { run, store, db } = setup(items(3), new ListRouter(['w1'], parseCredits('0.1')), new FakeDispatcher({}), { concurrency: 1 }, undefined, parseCredits('0.299999'))
    const end = await run.run()
    assert.equal(end.state, 'failed')
    assert.equal(end.state === 'failed' ? end.error.code : undefined, 'E1021')
    assert.equal(store.get('j1')?.spent, 200_000)
    db.close()
  })

  test('a worker\'s retry hint is capped: a refusal asking for years parks the subtask for a minute at most', async () => {
    let refused = 0
    const dispatcher = new FakeDispatcher({ w1: async a => { if (refused++ === 0) throw new AgoraError('E1040', 'busy', { details: { reason: 'cpu', retryAfterMs: 2 ** 40 } }); return a.input } })
    const { run, db } = setup(items(1), new ListRouter(['w1']), dispatcher)
    const started = Date.now()
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: started })
    try {
      const done = run.run()
      for (let i = 0; i < 200 && dispatcher.calls.length < 2; i++) {
        await Promise.resolve()
        mock.timers.tick(1000)
      }
      assert.equal(dispatcher.calls.length, 2, 'offered again after the capped wait')
      assert.deepEqual(await done, { state: 'completed' })
    } finally {
      mock.timers.reset()
      db.close()
    }
  })

  test('workers refusing for their load: the job says why it waits, and fails with E1020 naming them after noWorkerTimeoutMs', async () => {
    const dispatcher = new FakeDispatcher({ w1: async () => { throw new AgoraError('E1040', 'the load per core is 1.19, over the limit', { details: { reason: 'cpu', retryAfterMs: 50 } }) } })
    const { run, db } = setup(items(2), new ListRouter(['w1']), dispatcher, { noWorkerTimeoutMs: 1000 })
    const started = Date.now()
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: started })
    try {
      const done = run.run()
      for (let i = 0; i < 50 && dispatcher.calls.length === 0; i++) await Promise.resolve()
      for (let i = 0; i < 20 && run.waiting() === undefined; i++) { await Promise.resolve(); mock.timers.tick(10) }
      assert.equal(run.waiting(), '1 worker refusing: …w1 cpu (the load per core is 1.19, over the limit)')
      for (let i = 0; i < 400 && Date.now() - started < 1500; i++) { await Promise.resolve(); mock.timers.tick(50) }
      const end = await done
      assert.equal(end.state, 'failed')
      assert.equal(end.state === 'failed' ? end.error.code : undefined, 'E1020')
      assert.match(end.state === 'failed' ? end.error.why ?? '' : '', /w1 cpu \(the load per core is 1\.19/)
    } finally {
      mock.timers.reset()
      db.close()
    }
  })

  test('a failing worker is excluded; the subtask commits elsewhere with one accepted result', async () => {
    const router = new ListRouter(['bad', 'good'])
    const dispatcher = new FakeDispatcher({ bad: async () => { throw new AgoraError('E1044', 'boom') } })
    const { run, store, db } = setup(items(1), router, dispatcher)
    assert.equal((await run.run()).state, 'completed')
    const [subtask] = store.subtasks('j1')
    assert.equal(subtask?.worker, 'good')
    assert.equal(subtask?.attempts, 2)
    assert.deepEqual(subtask?.excluded, ['bad'])
    assert.deepEqual(router.records, [{ peer: 'bad', outcome: 'failure' }, { peer: 'good', outcome: 'success' }])
    db.close()
  })

  test('attempts failing in the same tick all get retried (none is dropped while its cleanup is pending)', async () => {
    const router = new ListRouter(['bad', 'good'])
    const dispatcher = new FakeDispatcher({ bad: async () => { throw new AgoraError('E202', 'unreachable') } })
    const { run, store, db } = setup(items(6), router, dispatcher, { concurrency: 6 })
    const end = await Promise.race([run.run(), new Promise(resolve => setTimeout(() => { resolve('stalled') }, 5000))])
    assert.deepEqual(end, { state: 'completed' })
    assert.ok(store.subtasks('j1').every(s => s.state === 'committed' && s.worker === 'good'))
    db.close()
  })

  test('a refusal does not use an attempt up and is not recorded as a failure', async () => {
    let refusals = 0
    const router = new ListRouter(['busy'])
    const dispatcher = new FakeDispatcher({
      busy: async a => {
        if (refusals++ < 5) throw new AgoraError('E1040', 'refused', { details: { reason: 'slots', retryAfterMs: 5 } })
        return a.input
      }
    })
    const { run, store, db } = setup(items(1), router, dispatcher, { maxAttempts: 1 })
    assert.equal((await run.run()).state, 'completed')
    assert.equal(store.subtasks('j1')[0]?.attempts, 1)
    assert.deepEqual(router.records.map(r => r.outcome), ['refused', 'refused', 'refused', 'refused', 'refused', 'success'])
    db.close()
  })

  test('a worker refusing for lack of slots gets no more of our attempts than it runs (no refusal storm)', async () => {
    // two slots, eight subtasks out at once: before it learnt, every freed slot drew six offers, five refused
    let running = 0
    let refusals = 0
    const dispatcher: TaskDispatcher = {
      async dispatch (_worker, assignment, options = {}) {
        await new Promise(resolve => setImmediate(resolve)) // an answer takes a round trip
        if (running >= 2) {
          refusals++
          throw new AgoraError('E1040', 'refused', { details: { reason: 'slots', retryAfterMs: 1000 } })
        }
        running++
        options.onAccepted?.()
        await new Promise(resolve => setTimeout(resolve, 5))
        running--
        return await new FakeDispatcher({}).dispatch('w', assignment)
      }
    }
    const { run, store, db } = setup(items(40), new ListRouter(['w']), dispatcher, { concurrency: 8 })
    assert.deepEqual(await run.run(), { state: 'completed' })
    assert.equal(store.get('j1')?.progress.committed, 40)
    assert.ok(refusals <= 12, `${refusals} refusals for 40 subtasks`)
    db.close()
  })

  test('attempts run out: the subtask and the job fail, committed results are kept', async () => {
    const router = new ListRouter(['w1', 'w2'])
    const dispatcher = new FakeDispatcher({
      w1: async a => { if (a.subtaskId === 's-1') throw new AgoraError('E1044', 'boom'); return a.input },
      w2: async a => { if (a.subtaskId === 's-1') throw new AgoraError('E1041', 'slow'); return a.input }
    })
    const { run, store, db } = setup(items(2), router, dispatcher, { maxAttempts: 2, concurrency: 1 })
    const end = await run.run()
    assert.equal(end.state, 'failed')
    assert.equal(end.state === 'failed' ? end.error.code : '', 'E1065')
    const [first, second] = store.subtasks('j1')
    assert.equal(first?.state, 'committed')
    assert.equal(second?.state, 'failed')
    assert.equal(second?.error?.code, 'E1041')
    db.close()
  })

  test('dependencies: a reduce waits for its inputs and gets their results in order', async () => {
    const plan: PlannedSubtask[] = [
      { id: 'a', type: 't', params: {}, input: 'A', deps: [] },
      { id: 'b', type: 't', params: {}, input: 'B', deps: [] },
      { id: 'r', type: 't', params: {}, input: null, deps: ['b', 'a'] }
    ]
    const dispatcher = new FakeDispatcher({})
    const { run, store, db } = setup(plan, new ListRouter(['w']), dispatcher)
    assert.equal((await run.run()).state, 'completed')
    assert.equal(dispatcher.calls.at(-1)?.assignment.subtaskId, 'r')
    assert.deepEqual(store.results('j1', ['r'])[0]?.result, { joined: ['B', 'A'] })
    db.close()
  })

  test('cancel aborts the attempts out on workers', async () => {
    const aborted: string[] = []
    const router = new ListRouter(['w'])
    const dispatcher = new FakeDispatcher({ w: async (a, signal) => { signal.addEventListener('abort', () => aborted.push(a.subtaskId)); return await never(a, signal) } })
    const { run, db } = setup(items(3), router, dispatcher)
    const done = run.run()
    while (dispatcher.calls.length < 3) await new Promise(resolve => setImmediate(resolve))
    run.cancel(new AgoraError('E1066', 'cancelled'))
    const end = await done
    assert.equal(end.state, 'cancelled')
    assert.deepEqual(aborted.sort(), ['s-0', 's-1', 's-2'])
    db.close()
  })

  test('a deadline fails the job with E1063', async () => {
    const { run, db } = setup(items(1), new ListRouter(['w']), new FakeDispatcher({ w: never }), {}, Date.now() + 50)
    const end = await run.run()
    assert.equal(end.state === 'failed' ? end.error.code : end.state, 'E1063')
    db.close()
  })

  test('a worker refusing for good (access) is not asked again for that task type; no blame', async () => {
    const router = new ListRouter(['strict', 'open'])
    const dispatcher = new FakeDispatcher({ strict: async () => { throw new AgoraError('E1040', 'refused', { details: { reason: 'access' } }) } })
    const { run, db } = setup(items(5), router, dispatcher, { concurrency: 1 })
    assert.equal((await run.run()).state, 'completed')
    assert.equal(dispatcher.calls.filter(c => c.worker === 'strict').length, 1)
    assert.deepEqual(router.records.filter(r => r.peer === 'strict').map(r => r.outcome), ['refused'])
    db.close()
  })

  test('every worker refusing for lasting reasons: after a minute, not before, the job fails with E1020 naming the refusals', async () => {
    const refuse = (reason: string): Behaviour => async () => { throw new AgoraError('E1040', 'refused', { details: { reason } }) }
    const router = new ListRouter(['w1', 'w2'])
    const dispatcher = new FakeDispatcher({ w1: refuse('access'), w2: refuse('type') })
    const { run, db } = setup(items(2), router, dispatcher)
    const started = Date.now()
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: started })
    try {
      const outcome: { end?: RunEnd } = {}
      const done = run.run().then(e => { outcome.end = e })
      const flush = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise(resolve => setImmediate(resolve)) }
      await flush()
      assert.deepEqual(new Set(router.records.map(r => `${r.peer} ${r.outcome}`)), new Set(['w1 refused', 'w2 refused']), 'both refused, and nobody was blamed')
      const asked = dispatcher.calls.length
      for (let second = 1; second <= 59; second++) {
        mock.timers.tick(1000)
        await flush()
      }
      assert.equal(outcome.end, undefined, 'still waiting for a worker 59 s on')
      for (let second = 60; second <= 62 && outcome.end === undefined; second++) {
        mock.timers.tick(1000)
        await flush()
      }
      await done
      const end = outcome.end as RunEnd | undefined // (narrowed to undefined by the check above)
      assert.equal(end?.state, 'failed')
      const error = end?.state === 'failed' ? end.error : undefined
      assert.equal(error?.code, 'E1020')
      assert.match(error?.why ?? '', /w1: access/)
      assert.match(error?.why ?? '', /w2: type/)
      assert.ok(Date.now() - started > 60_000)
      assert.equal(dispatcher.calls.length, asked, 'a worker that refused for good is not asked again')
    } finally {
      mock.timers.reset()
      db.close()
    }
  })

  test('an error raised on our side (request too large) fails the subtask without blaming the worker', async () => {
    const router = new ListRouter(['w1', 'w2'])
    const dispatcher = new FakeDispatcher({ w1: async () => { throw new AgoraError('E111', 'too large') } })
    const { run, store, db } = setup(items(1), router, dispatcher)
    const end = await run.run()
    assert.equal(end.state === 'failed' ? end.error.code : end.state, 'E1065')
    assert.equal(dispatcher.calls.length, 1, 'not retried on another worker')
    assert.deepEqual(router.records, [], 'nobody blamed')
    assert.equal(store.subtasks('j1')[0]?.error?.code, 'E111')
    db.close()
  })

  test('a deadline beyond the longest timer does not fire early', async () => {
    const { run, db } = setup(items(3), new ListRouter(['w']), new FakeDispatcher({}), {}, Date.now() + 40 * 24 * 3600_000)
    assert.deepEqual(await run.run(), { state: 'completed' })
    db.close()
  })

  test('a restart hands back the attempts that were out (nobody failed)', () => {
    const db = new Database({ path: ':memory:' })
    const store = new JobStore(db)
    store.insert({ id: 'j', type: 't', input: { kind: 'items', items: [] }, params: {}, constraints: { redundancy: 1 }, createdAt: 1 }, items(2))
    store.assign('j', 's-0', 'w1', 1, 2)
    store.running('j', 's-0', 1, 3)
    assert.equal(store.resetInterrupted('j'), 1)
    const [first] = store.subtasks('j')
    assert.equal(first?.state, 'pending')
    assert.equal(first?.attempts, 0)
    db.close()
  })

  test('a task type nobody can run now does not hold back a ready subtask of another type queued behind it', async () => {
    class TypedRouter extends ListRouter {
      override choose (request: RouteRequest): { candidate: WorkerCandidate, explored: boolean } {
        if (request.taskType === 'blocked') throw new AgoraError('E1020', 'no worker for blocked')
        return super.choose(request)
      }
    }
    const plan: PlannedSubtask[] = [
      { id: 'x1', type: 'blocked', params: {}, input: 1, deps: [] },
      { id: 'x2', type: 'blocked', params: {}, input: 2, deps: [] },
      { id: 'y1', type: 'free', params: {}, input: 3, deps: [] }
    ]
    const dispatcher = new FakeDispatcher({})
    const { run, store, db } = setup(plan, new TypedRouter(['w']), dispatcher, {}, Date.now() + 300)
    await run.run()
    assert.deepEqual(dispatcher.calls.map(c => c.assignment.subtaskId), ['y1'])
    assert.equal(store.subtasks('j1').find(s => s.id === 'y1')?.state, 'committed')
    db.close()
  })

  test('a late result of a superseded attempt is ignored', () => {
    const db = new Database({ path: ':memory:' })
    const store = new JobStore(db)
    store.insert({ id: 'j', type: 't', input: { kind: 'items', items: [] }, params: {}, constraints: { redundancy: 1 }, createdAt: 1 }, items(1))
    store.assign('j', 's-0', 'w1', 1, 2)
    store.retry('j', 's-0', 1, { code: 'E1041', message: 'slow' }, 'w1', false, 3)
    store.assign('j', 's-0', 'w2', 2, 4)
    const commit = { result: 'x', resultHash: 'h', price: 1_000_000, receipt: 'r' }
    assert.equal(store.commit('j', 's-0', { ...commit, worker: 'w1', attempt: 1 }, 5), false)
    assert.equal(store.commit('j', 's-0', { ...commit, worker: 'w2', attempt: 2 }, 6), true)
    assert.equal(store.commit('j', 's-0', { ...commit, worker: 'w2', attempt: 2 }, 7), false)
    assert.equal(store.get('j')?.progress.committed, 1)
    assert.equal(store.get('j')?.spent, 1_000_000)
    db.close()
  })
})
