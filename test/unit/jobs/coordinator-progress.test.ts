/**
 * The coordinator's job:progress events (docs/api.md: "at most every 250 ms
 * per job"), on the real JobCoordinator with a list router and a dispatcher
 * that answers at once while the (mocked) clock moves 40 ms per subtask.
 */
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { defaultConfig } from '../../../src/config/schema.ts'
import { AgoraError } from '../../../src/errors.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { JobCoordinator } from '../../../src/jobs/coordinator/coordinator.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database } from '../../../src/store/index.ts'
import { waitFor } from '../../harness/wait.ts'
import { FakeDispatcher, ListRouter } from './run-fakes.ts'
import type { Job } from '../../../src/jobs/types.ts'

const STEP_MS = 40
const SUBTASKS = 50

test('job:progress fires at most every 250 ms per job while subtasks commit, and once more at the end', async () => {
  const db = new Database({ path: ':memory:' })
  const progress: Array<{ at: number, committed: number, state: string }> = []
  const events = new AgoraEvents()
  events.on('job:progress', event => { progress.push({ at: Date.now(), committed: event.committed, state: event.state }) })
  const coordinator = new JobCoordinator({
    db,
    router: new ListRouter(['w']),
    dispatcher: new FakeDispatcher({ w: async a => { mock.timers.tick(STEP_MS); return { ok: true, echo: a.input } } }),
    blobs: {
      has: () => false,
      readText: () => { throw new AgoraError('E1082', 'no blobs here') },
      beginUpload: () => { throw new AgoraError('E1085', 'no uploads here') },
      append: () => { throw new AgoraError('E1085', 'no uploads here') },
      complete: () => { throw new AgoraError('E1085', 'no uploads here') }
    },
    tools: { chunk: async () => [] },
    executors: new Map(),
    events,
    logger: silentLogger(),
    selfPeerId: 'me'
  }, { ...defaultConfig().jobs, debugTasks: true, concurrency: 1 })
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 })
  try {
    const job = await coordinator.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: SUBTASKS } })
    const done = await waitFor('the job to complete', () => coordinator.get(job.id)?.state === 'completed' ? coordinator.get(job.id) as Job : undefined)
    assert.equal(done.progress.committed, SUBTASKS)
    // 50 commits over 2 s of the job's clock: one event per 250 ms at most, then the final one
    const during = progress.slice(0, -1)
    assert.ok(during.length >= 4 && during.length <= (SUBTASKS * STEP_MS) / 250 + 1, `${during.length} progress events while running`)
    for (let i = 1; i < during.length; i++) {
      const gap = (during[i] as { at: number }).at - (during[i - 1] as { at: number }).at
      assert.ok(gap >= 250, `progress events ${gap} ms apart`)
    }
    assert.deepEqual(progress.at(-1), { at: progress.at(-1)?.at, committed: SUBTASKS, state: 'completed' }, 'the end is always told')
  } finally {
    mock.timers.reset()
    await coordinator.stop()
    db.close()
  }
})
