/**
 * `agora jobs` end to end over a real socket: the typed client (chunked
 * upload, jobs, errors), and the CLI spawned against a listening API whose
 * JobsApi is the in-memory fake, driven forward by the job:submitted event
 * like a coordinator would be (params: fail → the job fails, hold → it
 * stays running until cancelled).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApiServer } from '../../../src/api/index.ts'
import { ControlClient, API_INFO_FILE, API_TOKEN_FILE } from '../../../src/client/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { isAgoraError } from '../../../src/errors.ts'
import { BlobStore } from '../../../src/jobs/blobs/index.ts'
import type { JobJson, SubtaskJson } from '../../../src/client/schemas.ts'
import { FakeJobs, unusedControl } from '../../harness/fake-jobs.ts'
import { runAgora } from '../../harness/cli.ts'

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'
const WORKER = '12D3KooWWorkerAbCdEfGhIjKlMnOpQrStUvWxYz'

describe('agora jobs against a listening API', () => {
  let app: FastifyInstance
  let jobs: FakeJobs
  let blobs: BlobStore
  let dataDir: string
  let client: ControlClient
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => { timers.delete(timer); fn() }, ms)
    timers.add(timer)
  }
  const cli = async (...args: string[]): ReturnType<typeof runAgora> => await runAgora(['--data-dir', dataDir, ...args], { timeoutMs: 30_000 })

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'agora-'))
    blobs = new BlobStore({ dataDir, logger: silentLogger() })
    blobs.start()
    const events = new AgoraEvents()
    jobs = new FakeJobs({ blobs, events })
    // the "coordinator": one subtask after 50 ms, the rest after 150 ms
    events.on('job:submitted', ({ jobId }) => {
      const params = jobs.get(jobId)?.params ?? {}
      if (params.hold === true) return
      later(50, () => { jobs.advance(jobId, 1, WORKER) })
      later(150, () => {
        if (params.fail === true) jobs.fail(jobId, { code: 'E1065', message: 'subtask task-0001 failed on every worker tried' })
        else jobs.finish(jobId, { summary: 'short and sweet' })
      })
    })
    app = await buildApiServer(
      { control: unusedControl(), events, metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), jobs },
      { token: TOKEN, maxInlineInputBytes: 4096 }
    )
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    if (address === null || typeof address !== 'object') throw new Error('not listening')
    const url = `http://127.0.0.1:${address.port}`
    writeFileSync(join(dataDir, API_INFO_FILE), JSON.stringify({ url, pid: process.pid, peerId: '12D3KooWSelf' }))
    writeFileSync(join(dataDir, API_TOKEN_FILE), TOKEN)
    client = new ControlClient({ url, token: TOKEN })
  })
  after(async () => {
    for (const timer of timers) clearTimeout(timer)
    await app.close()
    blobs.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('the client uploads a file in chunks and submits it by hash', async () => {
    const file = join(dataDir, 'doc.txt')
    const content = 'Peers share compute. '.repeat(250)
    writeFileSync(file, content)
    const progress: number[] = []
    const blob = await client.uploadFile(file, { chunkBytes: 1000, onProgress: sent => progress.push(sent) })
    assert.deepEqual(blob, { hash: createHash('sha256').update(content).digest('hex'), size: content.length })
    assert.deepEqual(progress, [0, ...Array.from({ length: 6 }, (_, i) => Math.min((i + 1) * 1000, content.length))])
    const job = await client.submitJob({ type: 'text.embed', input: { kind: 'blob', ...blob }, params: { hold: true } })
    const summary = await client.jobSummary(job.id)
    assert.equal((summary as JobJson & { subtasks?: SubtaskJson[] }).subtasks, undefined, 'the summary has no subtasks')
    assert.equal((await client.job(job.id)).subtasks.length, Math.ceil(content.length / 1000))
    assert.ok((await client.jobs({ state: 'planned' })).some(j => j.id === job.id))
    assert.equal((await client.cancelJob(job.id)).state, 'cancelled')
    await assert.rejects(client.job('job-missing'), err => isAgoraError(err, 'E1060'))
    await assert.rejects(client.uploadFile(join(dataDir, 'nope.txt')), err => isAgoraError(err, 'E600'))
  })

  test('submit --file --wait --json: uploads, follows the job and prints it', async () => {
    const file = join(dataDir, 'long.txt')
    writeFileSync(file, 'A sentence about peers. '.repeat(200))
    const result = await cli('jobs', 'submit', '--type', 'summarize', '--file', file, '--param', 'model=llama3.2:3b', '--param', 'maxWords=50', '--max-price', '0.5', '--deadline', '10m', '--wait', '--json')
    assert.equal(result.code, 0, result.stderr)
    const job = JSON.parse(result.stdout) as JobJson
    assert.match(job.id, /^job-/)
    assert.equal(job.state, 'completed')
    const spec = jobs.submitted.at(-1)
    assert.equal(spec?.input.kind, 'blob')
    assert.deepEqual(spec?.params, { model: 'llama3.2:3b', maxWords: 50 })
    assert.equal(spec?.constraints.maxPricePerSubtask, 500_000, '--max-price 0.5 reaches the node as credits, read as micro-credits')
    assert.equal(job.constraints.maxPricePerSubtask, '0.500000', 'and comes back in the JSON as six decimals')
    assert.ok((spec?.constraints.deadline ?? 0) > Date.now() + 9 * 60_000)
  })

  test('submit --wait off a terminal prints plain progress lines; a failed job exits 1 with its error', async () => {
    const ok = await cli('jobs', 'submit', '--type', 'text.embed', '--text', 'x'.repeat(2500), '--wait')
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stderr, /job-[\w-]+: completed, 3\/3 subtasks done/)
    assert.match(ok.stdout, /completed: 3 subtasks; the result: `agora jobs result job-/)

    const failed = await cli('jobs', 'submit', '--type', 'text.embed', '--text', 'y'.repeat(2500), '--param', 'fail=true', '--wait')
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /Error \[E1065\]: job job-[\w-]+ failed: subtask task-0001 failed on every worker tried/)
  })

  test('show, list, result and types', async () => {
    const submitted = await cli('jobs', 'submit', '--type', 'text.embed', '--text', 'z'.repeat(1500), '--wait', '--json')
    const { id } = JSON.parse(submitted.stdout) as JobJson

    const show = await cli('jobs', 'show', id, '--json')
    const detail = JSON.parse(show.stdout) as JobJson & { subtasks: SubtaskJson[] }
    assert.deepEqual(detail.subtasks.map(s => [s.id, s.state, s.attempts, s.worker]), [['task-0000', 'committed', 1, WORKER], ['task-0001', 'committed', 1, '12D3KooWWorkerFake']])
    const table = await cli('jobs', 'show', id)
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /task-0000/)
    assert.match(table.stdout, /…StUvWxYz/)
    assert.ok(!table.stdout.includes(WORKER), 'the table shortens peer ids')
    assert.match(table.stdout, /held back\s+-\n/, 'nothing held back: a dash')
    jobs.held.set(id, { held: 200_000, paid: 400_000, forfeited: 0, nextDueAt: Date.UTC(2026, 11, 7, 18, 40) })
    assert.match((await cli('jobs', 'show', id)).stdout, /held back\s+0\.200000 held \(first due 2026-12-07T18:40:00\.000Z\); 0\.400000 paid after the audit window\n/)
    assert.deepEqual((JSON.parse((await cli('jobs', 'show', id, '--json')).stdout) as { heldBack: unknown }).heldBack, { held: '0.200000', paid: '0.400000', forfeited: '0.000000', nextDueAt: Date.UTC(2026, 11, 7, 18, 40) })

    const list = JSON.parse((await cli('jobs', 'list', '--state', 'completed', '--json')).stdout) as JobJson[]
    assert.ok(list.some(j => j.id === id))
    assert.ok(list.every(j => j.state === 'completed'))
    const badState = await cli('jobs', 'list', '--state', 'asleep')
    assert.equal(badState.code, 2, 'a usage error, refused before the node is asked')
    assert.match(badState.stderr, /Error \[E600\]: --state takes one of submitted, .* not 'asleep'/)

    const out = join(dataDir, 'result.json')
    const result = await cli('jobs', 'result', id, '--output', out)
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { summary: 'short and sweet' })
    assert.deepEqual(JSON.parse((await cli('jobs', 'result', id)).stdout), { summary: 'short and sweet' })

    const types = await cli('jobs', 'types')
    assert.match(types.stdout, /summarize/)
  })

  test('cancel a running job; cancelling again and bad flags fail with their codes', async () => {
    const id = (await cli('jobs', 'submit', '--type', 'text.embed', '--text', 'hold me', '--param', 'hold=true', '-q')).stdout.trim()
    assert.match(id, /^job-/)
    const cancel = await cli('jobs', 'cancel', id, '--yes')
    assert.equal(cancel.code, 0, cancel.stderr)
    assert.match(cancel.stdout, new RegExp(`cancelled job ${id}`))
    assert.equal(jobs.get(id)?.state, 'cancelled')
    const again = await cli('jobs', 'cancel', id, '-y')
    assert.equal(again.code, 1)
    assert.match(again.stderr, /Error \[E1064\]/)
    const watch = await cli('jobs', 'watch', id)
    assert.equal(watch.code, 1, 'watching a cancelled job exits 1')

    const badParam = await cli('jobs', 'submit', '--type', 'text.embed', '--text', 'x', '--param', 'novalue')
    assert.equal(badParam.code, 2)
    assert.match(badParam.stderr, /Error \[E600\]: --param takes key=value, not 'novalue'/)
    const submitted = jobs.submitted.length
    const badBudget = await cli('jobs', 'submit', '--type', 'text.embed', '--text', 'x', '--budget', '0.1234567')
    assert.equal(badBudget.code, 2)
    assert.match(badBudget.stderr, /Error \[E600\]: --budget takes credits, not '0\.1234567' — it has 7 decimals, at most 6 are allowed/)
    assert.equal(jobs.submitted.length, submitted, 'refused before the node is asked')
    // no input flag: an empty item list goes out, and the node says a text job needs an input
    const noInput = await cli('jobs', 'submit', '--type', 'text.embed')
    assert.equal(noInput.code, 1)
    assert.match(noInput.stderr, /Error \[E10\d\d\]/)
    const tooBig = await cli('jobs', 'submit', '--type', 'text.embed', '--text', 'x'.repeat(5000))
    assert.equal(tooBig.code, 1)
    assert.match(tooBig.stderr, /Error \[E1002\]: the inline input is 4\.9 KiB, over the 4 KiB limit \(jobs\.maxInlineInputBytes\) — .*agora jobs submit --file F/)
  })
})
