/**
 * Part 1b of bench/verify.bench.ts: detection through the real coordinator
 * code. Each run is a JobRun (the coordinator's scheduler, its replica
 * checks and adaptive replication, a JobStore on SQLite in memory) whose
 * router offers a cheating worker first and two honest ones after it; the
 * workers are simulated (a dispatcher answering in process). The cheater
 * starts trusted (its streak at trustAfter, so p = 0.1 at pMin 0.1) and
 * cheats on a share of its tasks; the run ends when a cross-check outvotes
 * it. Seeded: every run can be replayed.
 */
import { JobRun } from '../src/jobs/coordinator/job-run.ts'
import { JobStore } from '../src/jobs/store/job-store.ts'
import { Database } from '../src/store/index.ts'
import { AdaptiveReplication, exactComparator } from '../src/verify/index.ts'
import { AgoraError } from '../src/errors.ts'
import type { CoordinatorContext } from '../src/jobs/coordinator/context.ts'
import type { DispatchResult, TaskAssignment, TaskDispatcher } from '../src/jobs/protocol/types.ts'
import { ListRouter } from '../test/unit/jobs/run-fakes.ts'

/** Answers in process: the cheat's wrong answers on a share of tasks (seeded), everyone else the input. */
class SimulatedWorkers implements TaskDispatcher {
  private readonly random: () => number
  private readonly cheatRate: number
  constructor (random: () => number, cheatRate: number) {
    this.random = random
    this.cheatRate = cheatRate
  }

  async dispatch (worker: string, a: TaskAssignment): Promise<DispatchResult> {
    const result = worker === 'cheat' && this.random() < this.cheatRate ? 'wrong' : a.input
    const hash = JSON.stringify(result).padEnd(64, '0').slice(0, 64)
    return { result, resultHash: hash, receipt: 'r', worker, receiptPayload: { key: a.key, attempt: a.attempt, jobId: a.jobId, subtaskId: a.subtaskId, type: a.type, worker, coordinator: 'me', resultHash: hash, price: '0.000000', startedAt: 0, finishedAt: 0 } }
  }
}

/** Tasks the cheat ran until a cross-check outvoted it (undefined: not within `tasks`). */
export async function caughtAfter (random: () => number, cheatRate: number, tasks: number): Promise<number | undefined> {
  const store = new JobStore(new Database({ path: ':memory:' }))
  const planned = Array.from({ length: tasks }, (_, i) => ({ id: `s-${i}`, type: 'debug.noop', params: {}, input: i, deps: [] }))
  store.insert({ id: 'j', type: 'debug.noop', input: { kind: 'items', items: [] }, params: {}, constraints: { redundancy: 1 }, createdAt: Date.now() }, planned)
  const adaptive = new AdaptiveReplication({ pMin: 0.1, trustAfter: 10, random })
  for (let i = 0; i < 10; i++) adaptive.record('cheat', 'debug.noop', true)
  let caught: number | undefined
  let ran = 0
  // the run cancels itself once caught: the events hold it
  const holder: { run?: JobRun } = {}
  const context: CoordinatorContext = {
    store,
    router: new ListRouter(['cheat', 'h1', 'h2'], 0),
    dispatcher: new SimulatedWorkers(random, cheatRate),
    events: {
      emit: (name: string, e: { verdict?: string }) => {
        if (name === 'subtask:committed') ran++
        if (name === 'subtask:verified' && e.verdict === 'outvoted' && caught === undefined) {
          caught = ran + 1
          holder.run?.cancel(new AgoraError('E1064', 'caught'))
        }
        return true
      }
    } as CoordinatorContext['events'],
    config: { concurrency: 1, maxAttempts: 3, timeouts: { acceptMs: 1000, firstProgressMs: 1000, totalMs: 5000 } },
    selfPeerId: 'me',
    comparator: () => exactComparator,
    adaptive,
    progress: () => {}
  }
  holder.run = new JobRun(context, { jobId: 'j', modelsOf: () => [], bind: () => null }, { redundancy: 1 }, store.planRows('j'), 0)
  await holder.run.run()
  return caught
}
