/**
 * Jobs survive dead processes. Real daemons driven through the CLI:
 *  - a worker SIGKILLed mid-job: its subtasks go elsewhere, the job
 *    completes, every subtask has exactly one accepted result;
 *  - the coordinator SIGKILLed mid-job and restarted: the job resumes from
 *    the store and completes without re-running finished subtasks.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { agora, killDaemons, startDaemon, type Daemon } from '../harness/cli.ts'
import { waitFor } from '../harness/wait.ts'
import { isAlive } from '../../src/client/index.ts'

const env = (slots: number, concurrency = 64): NodeJS.ProcessEnv => ({
  AGORA_ACCESS_TRUST_MODE: 'public',
  AGORA_JOBS_DEBUG_TASKS: 'true',
  AGORA_JOBS_SLOTS: String(slots),
  AGORA_JOBS_CONCURRENCY: String(concurrency),
  AGORA_JOBS_MAX_CPU_LOAD: '0',
  AGORA_JOBS_MIN_FREE_MEMORY_MB: '0',
  AGORA_OFFERS_REANNOUNCE_MS: '5000'
})

interface SubtaskJson { id: string, state: string, attempts: number, worker: string | null, finishedAt: number | null, resultHash: string | null }
interface JobJson { id: string, state: string, progress: { total: number, committed: number }, subtasks: SubtaskJson[] }

async function show (daemon: Daemon, jobId: string): Promise<JobJson> {
  return JSON.parse(await agora(['jobs', 'show', jobId, '--data-dir', daemon.dataDir, '--json'])) as JobJson
}

async function submit (daemon: Daemon, params: string[]): Promise<string> {
  const job = JSON.parse(await agora(['jobs', 'submit', '--type', 'debug.sleep', ...params.flatMap(p => ['--param', p]), '--data-dir', daemon.dataDir, '--json'])) as { id: string }
  return job.id
}

async function waitForTaskOffers (coordinator: Daemon, workers: Daemon[]): Promise<void> {
  await waitFor('the workers\' offers on the coordinator', async () => {
    const offers = JSON.parse(await agora(['offers', 'list', '--data-dir', coordinator.dataDir, '--json'])) as Array<{ node: string, taskTypes: string[] }>
    return workers.every(w => offers.some(o => o.node === w.peerId && o.taskTypes.includes('debug.sleep')))
  }, { timeoutMs: 20_000, intervalMs: 200 })
}

async function completedRuns (daemon: Daemon): Promise<number> {
  const text = await (await fetch(`${daemon.url}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith('agora_jobs_worker_completed_total'))
  return line === undefined ? 0 : Number(line.split(' ').at(-1))
}

after(async () => { await killDaemons() })

test('SIGKILL a worker mid-job: the job completes; every subtask has exactly one accepted result', async () => {
  const coordinator = await startDaemon([], undefined, env(0))
  const workers = await Promise.all([0, 1, 2].map(async () => await startDaemon(['--bootstrap', coordinator.address], undefined, env(2))))
  await waitForTaskOffers(coordinator, workers)
  const victim = workers[0] as Daemon

  const jobId = await submit(coordinator, ['count=24', 'ms=400'])
  await waitFor('a subtask running on the victim', async () => (await show(coordinator, jobId)).subtasks.some(s => s.worker === victim.peerId && s.state === 'running'), { timeoutMs: 15_000, intervalMs: 50 })
  process.kill(victim.pid, 'SIGKILL')
  await waitFor('the victim to die', () => !isAlive(victim.pid))

  const job = await waitFor('the job to finish', async () => {
    const j = await show(coordinator, jobId)
    return ['completed', 'failed', 'cancelled'].includes(j.state) ? j : undefined
  }, { timeoutMs: 60_000, intervalMs: 200 })
  assert.equal(job.state, 'completed')
  assert.equal(job.progress.committed, 24, 'committed once each: the counter moves in the commit transaction')
  assert.ok(job.subtasks.every(s => s.state === 'committed' && s.resultHash !== null))
  assert.ok(job.subtasks.some(s => s.attempts >= 2 && s.worker !== victim.peerId), 'the victim\'s subtasks were reassigned')
})

test('SIGKILL the coordinator mid-job and restart it: the job completes without re-running finished subtasks', async () => {
  let coordinator = await startDaemon([], undefined, env(0, 2))
  const workers = await Promise.all([0, 1].map(async () => await startDaemon(['--bootstrap', coordinator.address], undefined, env(2))))
  await waitForTaskOffers(coordinator, workers)

  const jobId = await submit(coordinator, ['count=20', 'ms=250'])
  await waitFor('6 subtasks committed', async () => (await show(coordinator, jobId)).progress.committed >= 6, { timeoutMs: 30_000, intervalMs: 50 })
  process.kill(coordinator.pid, 'SIGKILL')
  await waitFor('the coordinator to die', () => !isAlive(coordinator.pid))

  coordinator = await startDaemon(['--bootstrap', (workers[0] as Daemon).address], coordinator.dataDir, env(0, 2))
  const resumed = await show(coordinator, jobId)
  const finishedBefore = resumed.subtasks.filter(s => s.state === 'committed')
  assert.ok(finishedBefore.length >= 6)

  const job = await waitFor('the resumed job to finish', async () => {
    const j = await show(coordinator, jobId)
    return ['completed', 'failed', 'cancelled'].includes(j.state) ? j : undefined
  }, { timeoutMs: 60_000, intervalMs: 200 })
  assert.equal(job.state, 'completed')
  for (const before of finishedBefore) {
    const after = job.subtasks.find(s => s.id === before.id)
    assert.deepEqual(after, before, `subtask ${before.id} was not run again`)
  }
  // every subtask ran once, plus at most the two that were out when the coordinator died
  let runs = 0
  for (const worker of workers) runs += await completedRuns(worker)
  assert.ok(runs >= 20 && runs <= 22, `${runs} runs on the workers`)
})
