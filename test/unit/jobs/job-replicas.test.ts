/**
 * Redundant execution in the real JobRun, with a fake router and
 * dispatcher: r = 3 compares each result with two replicas on other
 * workers; a cheating primary is outvoted, not paid and counted invalid;
 * no majority brings two fresh workers, then "inconclusive" (E1204, nobody
 * blamed); a worker short means "unverified".
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { parseCredits } from '../../../src/market/amount.ts'
import { AgoraError } from '../../../src/errors.ts'
import { JobRun } from '../../../src/jobs/coordinator/job-run.ts'
import { JobStore } from '../../../src/jobs/store/job-store.ts'
import { Database } from '../../../src/store/index.ts'
import { AdaptiveReplication, exactComparator, type Comparator } from '../../../src/verify/index.ts'
import type { CoordinatorContext } from '../../../src/jobs/coordinator/context.ts'
import type { DispatchResult, TaskAssignment } from '../../../src/jobs/protocol/types.ts'
import type { PlannedSubtask } from '../../../src/jobs/planner/types.ts'
import { FakeDispatcher, ListRouter, type Behaviour } from './run-fakes.ts'

/** The fake dispatcher, with each result's real hash (the exact comparator compares hashes). */
class HashingDispatcher extends FakeDispatcher {
  override async dispatch (worker: string, assignment: TaskAssignment, options: { signal?: AbortSignal, onAccepted?: () => void } = {}): Promise<DispatchResult> {
    const answer = await super.dispatch(worker, assignment, options)
    return { ...answer, resultHash: createHash('sha256').update(JSON.stringify(answer.result)).digest('hex') }
  }
}

const PRICE = parseCredits('0.1')

function setup (workers: string[], behaviour: Record<string, Behaviour>, subtasks = 2, redundancy = 3, adaptive?: AdaptiveReplication, canary?: () => boolean, comparator: Comparator = exactComparator, subnetOf?: (peer: string) => string | undefined): { run: JobRun, store: JobStore, router: ListRouter, dispatcher: HashingDispatcher, events: Array<Record<string, unknown>> } {
  const store = new JobStore(new Database({ path: ':memory:' }))
  const planned: PlannedSubtask[] = Array.from({ length: subtasks }, (_, i) => ({ id: `s-${i}`, type: 'debug.noop', params: {}, input: i, deps: [] }))
  const constraints = { redundancy, budget: parseCredits('100') }
  store.insert({ id: 'j1', type: 'debug.noop', input: { kind: 'items', items: [] }, params: {}, constraints, createdAt: Date.now() }, planned)
  const router = new ListRouter(workers, PRICE)
  const dispatcher = new HashingDispatcher(behaviour)
  const events: Array<Record<string, unknown>> = []
  const context: CoordinatorContext = {
    store,
    router,
    dispatcher,
    events: { emit: (name: string, payload: Record<string, unknown>) => { if (name === 'subtask:verified') events.push(payload); return true } } as CoordinatorContext['events'],
    config: { concurrency: 1, maxAttempts: 3, timeouts: { acceptMs: 1000, firstProgressMs: 1000, totalMs: 5000 } },
    selfPeerId: 'me',
    comparator: () => comparator,
    adaptive,
    canary,
    subnetOf,
    progress: () => {}
  }
  const plan = { jobId: 'j1', modelsOf: () => [], bind: () => null }
  return { run: new JobRun(context, plan, constraints, store.planRows('j1'), 0), store, router, dispatcher, events }
}

const wrong: Behaviour = async () => 'wrong'

test('r = 3, honest workers: each result is checked by two replicas on two other workers, all agree, all three are paid', async () => {
  const { run, store, dispatcher, events, router } = setup(['w1', 'w2', 'w3'], {})
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.deepEqual(store.results('j1').map(r => r.result), [0, 1])
  assert.equal(dispatcher.calls.length, 6)
  const s0 = dispatcher.calls.filter(c => c.assignment.subtaskId === 's-0')
  assert.deepEqual(s0.map(c => c.worker), ['w1', 'w2', 'w3'], 'distinct workers')
  assert.deepEqual(s0.map(c => c.assignment.key), ['me/j1/s-0', 'me/j1/s-0#r1', 'me/j1/s-0#r2'], 'each replica has its own key, so its own receipt')
  assert.deepEqual(events.map(e => e.verdict), ['agreed', 'agreed'])
  assert.equal(store.get('j1')?.spent, 6 * PRICE, 'the replicas are paid too')
  assert.ok(!router.records.some(r => r.outcome === 'invalid'))
})

test('a cheating primary is outvoted: the majority\'s result commits under its worker, the cheat is counted invalid and not paid', async () => {
  const { run, store, events, router } = setup(['cheat', 'w2', 'w3'], { cheat: wrong }, 1)
  assert.deepEqual(await run.run(), { state: 'completed' })
  const [committed] = store.subtasks('j1')
  assert.equal(committed?.worker, 'w2')
  assert.deepEqual(store.results('j1').map(r => r.result), [0])
  assert.deepEqual(events.map(e => [e.verdict, e.worker, e.outliers]), [['outvoted', 'cheat', ['cheat']]])
  assert.deepEqual(router.records.filter(r => r.outcome === 'invalid').map(r => r.peer), ['cheat'])
  assert.equal(store.get('j1')?.spent, 2 * PRICE, 'the two agreeing replicas; not the cheat')
})

test('a cheating replica is the outlier: the primary stands, the cheat is not paid', async () => {
  const { run, store, events, router } = setup(['w1', 'cheat', 'w3'], { cheat: wrong }, 1)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.equal(store.subtasks('j1')[0]?.worker, 'w1')
  assert.deepEqual(events.map(e => [e.verdict, e.outliers]), [['agreed', ['cheat']]])
  assert.deepEqual(router.records.filter(r => r.outcome === 'invalid').map(r => r.peer), ['cheat'])
  assert.equal(store.get('j1')?.spent, 2 * PRICE)
})

test('no majority: K + 2 fresh workers are added before anyone is blamed; still none → E1204, the attempt is retried elsewhere, nobody counted invalid', async () => {
  const scatter: Record<string, Behaviour> = { a: async () => 'a', b: async () => 'b', c: async () => 'c', d: async () => 'd', e: async () => 'e', f: async () => 'f' }
  const { run, dispatcher, events, router, store } = setup(['a', 'b', 'c', 'd', 'e', 'f'], scatter, 1, 2)
  const end = await run.run()
  assert.equal(end.state, 'failed')
  assert.deepEqual(dispatcher.calls.slice(0, 5).map(c => c.worker), ['a', 'b', 'c', 'd', 'e'], 'one replica, then K + 2 = 3 fresh workers (K = 1 in bootstrap mode)')
  const last = store.subtasks('j1')[0]?.verification
  assert.deepEqual([last?.verdict, last?.agreeing, last?.outliers], ['inconclusive', 0, []], 'the last check, kept on the subtask')
  assert.equal(events[0]?.verdict, 'inconclusive')
  assert.ok(!router.records.some(r => r.outcome === 'invalid'), JSON.stringify(router.records))
})

test('no other worker to run a replica: the result commits "unverified"', async () => {
  const { run, store, events, dispatcher } = setup(['w1'], {}, 1)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.deepEqual(store.results('j1').map(r => r.result), [0])
  assert.equal(dispatcher.calls.length, 1)
  assert.deepEqual(events.map(e => e.verdict), ['unverified'])
})

test('a busy replica worker is asked again after a back-off, so the check still happens; a failed replica is placed once more on another worker', async () => {
  let busy = 2
  const refuse = (reason: string): AgoraError => new AgoraError('E1040', 'w2 refused subtask', { details: { worker: 'w2', reason, retryAfterMs: 5 } })
  const { run, store, events, dispatcher } = setup(['cheat', 'w2', 'w3'], { cheat: wrong, w2: async a => { if (busy-- > 0) throw refuse('slots'); return a.input } }, 1)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.deepEqual(events.map(e => [e.verdict, e.outliers]), [['outvoted', ['cheat']]], 'checked, not "unverified"')
  assert.deepEqual(dispatcher.calls.filter(c => c.worker === 'w2').length, 3, 'asked three times: busy, busy, done')
  assert.deepEqual(store.results('j1').map(r => r.result), [0])

  const broken = setup(['cheat', 'w2', 'w3', 'w4'], { cheat: wrong, w2: async () => { throw new AgoraError('E1044', 'w2 failed the subtask') } }, 1)
  assert.deepEqual(await broken.run.run(), { state: 'completed' })
  assert.deepEqual(broken.dispatcher.calls.map(c => [c.worker, c.assignment.key.replace('me/j1/', '')]), [['cheat', 's-0'], ['w2', 's-0#r1'], ['w3', 's-0#r2'], ['w4', 's-0#r3']], 'w2 failed: w4 took its place')
  assert.deepEqual(broken.events.map(e => [e.verdict, e.outliers]), [['outvoted', ['cheat']]])
})

test('replicas go to other networks first: a Sybil\'s nodes in one /24 do not check each other while another network is left', async () => {
  // s1 and s2 share the primary's /24; h sits elsewhere; x has no routable address (no rule)
  const nets: Record<string, string | undefined> = { p: 'ip4:198.51.100', s1: 'ip4:198.51.100', s2: 'ip4:198.51.100', h: 'ip4:203.0.113', x: undefined }
  const spread = setup(['p', 's1', 's2', 'h', 'x'], {}, 1, 3, undefined, undefined, exactComparator, peer => nets[peer])
  assert.deepEqual(await spread.run.run(), { state: 'completed' })
  assert.deepEqual(spread.dispatcher.calls.map(c => c.worker), ['p', 'h', 'x'], 'the router\'s order was p, s1, s2, h, x')
  // only the primary's network left: a check on it beats none
  const alone = setup(['p', 's1'], {}, 1, 2, undefined, undefined, exactComparator, peer => nets[peer])
  assert.deepEqual(await alone.run.run(), { state: 'completed' })
  assert.deepEqual(alone.dispatcher.calls.map(c => c.worker), ['p', 's1'])
})

test('redundancy 1 runs each subtask once, as before', async () => {
  const { run, dispatcher, events } = setup(['w1', 'w2', 'w3'], {}, 2, 1)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.equal(dispatcher.calls.length, 2)
  assert.equal(events.length, 0)
})

test('adaptive replication (no redundancy asked): a worker\'s results are cross-checked until it is trusted, then sampled', async () => {
  const adaptive = new AdaptiveReplication({ trustAfter: 2, random: () => 0.99 })
  const { run, dispatcher, events } = setup(['w1', 'w2'], {}, 5, 1, adaptive)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.deepEqual(dispatcher.calls.map(c => c.assignment.key.replace('me/j1/', '')), ['s-0', 's-0#r1', 's-1', 's-1#r1', 's-2', 's-3', 's-4'], 'checked twice, then trusted and (this draw) not sampled')
  assert.deepEqual(events.map(e => e.verdict), ['agreed', 'agreed'])
  assert.equal(adaptive.standing('w1', 'debug.noop').trusted, true)
})

test('adaptive replication catches a worker that starts cheating once trusted: outvoted, its streak reset, checked every time again', async () => {
  let honest = 2
  const adaptive = new AdaptiveReplication({ trustAfter: 2, random: () => 0 })
  const { run, store, events } = setup(['w1', 'w2', 'w3'], { w1: async a => honest-- > 0 ? a.input : 'wrong' }, 3, 1, adaptive)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.deepEqual(events.map(e => [e.verdict, e.outliers]), [['agreed', []], ['agreed', []], ['outvoted', ['w1']]])
  assert.deepEqual(store.results('j1').map(r => r.result), [0, 1, 2], 'the honest replica\'s result stands')
  const standing = adaptive.standing('w1', 'debug.noop')
  assert.equal(standing.streak, 0)
  assert.equal(standing.checkProbability, 1)
  assert.equal(standing.invalid, 1)
})

test('canaries: this node computes a result itself and compares; a worker that disagrees is outvoted by it, for free', async () => {
  const { run, store, events, dispatcher, router } = setup(['cheat'], { cheat: wrong, me: async a => a.input }, 2, 1, undefined, () => true)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.deepEqual(store.results('j1').map(r => r.result), [0, 1], 'this node\'s own results stand')
  assert.deepEqual(events.map(e => [e.verdict, e.method, e.outliers]), [['outvoted', 'canary', ['cheat']], ['outvoted', 'canary', ['cheat']]])
  assert.deepEqual(dispatcher.calls.filter(c => c.worker === 'me').map(c => [c.assignment.key, c.assignment.maxPrice]), [['me/j1/s-0#c', '0.000000'], ['me/j1/s-1#c', '0.000000']])
  assert.equal(store.get('j1')?.spent, 0, 'the cheat is not paid, and this node\'s own work is free')
  assert.deepEqual(router.records.filter(r => r.outcome === 'invalid').map(r => r.peer), ['cheat', 'cheat'])
})

test('canaries: an honest worker agrees and is paid; when this node cannot run the task the canary is skipped', async () => {
  const agreed = setup(['w1'], { me: async a => a.input }, 1, 1, undefined, () => true)
  assert.deepEqual(await agreed.run.run(), { state: 'completed' })
  assert.deepEqual(agreed.events.map(e => [e.verdict, e.method]), [['agreed', 'canary']])
  assert.equal(agreed.store.get('j1')?.spent, PRICE)
  const cannot = setup(['w1'], { me: async () => { throw new Error('no executor here') } }, 1, 1, undefined, () => true)
  assert.deepEqual(await cannot.run.run(), { state: 'completed' })
  assert.deepEqual(cannot.events, [])
  assert.equal(cannot.store.get('j1')?.spent, PRICE)
})

test('no canaries for the language-model types: their answers vary with sampling', async () => {
  const text: Comparator = { method: 'text', agree: async () => false }
  const { run, dispatcher, events } = setup(['w1'], { me: async a => a.input }, 2, 1, undefined, () => true, text)
  assert.deepEqual(await run.run(), { state: 'completed' })
  assert.deepEqual(dispatcher.calls.map(c => c.worker), ['w1', 'w1'])
  assert.deepEqual(events, [])
})
