/**
 * The jobs API through `inject` against an in-memory JobsApi and a real
 * blob store: shapes (the shared schemas), bad input with its exact code,
 * chunked uploads, and 503 without a coordinator.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApiServer } from '../../../src/api/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { BlobStore } from '../../../src/jobs/blobs/index.ts'
import { jobResponse, jobsResponse, jobDetailResponse, jobResultResponse, jobTypesResponse, uploadStatusResponse, blobRefResponse } from '../../../src/client/schemas.ts'
import { FakeJobs, unusedControl } from '../../harness/fake-jobs.ts'

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'
const auth = { host: '127.0.0.1', authorization: `Bearer ${TOKEN}` }
const MAX_INLINE = 64 * 1024

function errorOf (res: LightMyRequestResponse): { code: string, message: string, why?: string, hint?: string } {
  return (res.json() as { error: { code: string, message: string, why?: string, hint?: string } }).error
}

describe('jobs API', () => {
  let app: FastifyInstance
  let jobs: FakeJobs
  let blobs: BlobStore
  let dataDir: string

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'agora-'))
    blobs = new BlobStore({ dataDir, logger: silentLogger() }, { maxUploadBytes: 8 * 1024 * 1024 })
    blobs.start()
    jobs = new FakeJobs({ blobs })
    app = await buildApiServer(
      { control: unusedControl(), events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), jobs },
      { token: TOKEN, maxInlineInputBytes: MAX_INLINE }
    )
  })
  after(async () => {
    await app.close()
    blobs.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const submit = async (body: unknown): Promise<LightMyRequestResponse> => await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: auth, payload: body as object })

  test('submit stores the spec with defaults and answers the job', async () => {
    const res = await submit({ type: 'text.embed', input: { kind: 'text', text: 'x'.repeat(2500) }, constraints: { maxPricePerSubtask: 2, budget: '0.3', zone: 'eu' } })
    assert.equal(res.statusCode, 200)
    const job = jobResponse.parse(res.json())
    assert.equal(job.state, 'planned')
    assert.equal(job.progress.total, 3)
    // credits in (a JSON number or a decimal string), micro-credits inside, six-decimal strings out
    assert.deepEqual(jobs.submitted.at(-1)?.constraints, { maxPricePerSubtask: 2_000_000, budget: 300_000, zone: 'eu', redundancy: 1 })
    assert.deepEqual(job.constraints, { maxPricePerSubtask: '2.000000', budget: '0.300000', zone: 'eu', redundancy: 1 })
    assert.equal(job.spent, '0.000000')
    assert.deepEqual(jobs.submitted.at(-1)?.params, {})
  })

  test('a body failing the spec schema is 400 E502 naming the field; a bad amount is E1100 naming it', async () => {
    let res = await submit({ type: 'text.embed', input: { kind: 'pdf', data: 'x' } })
    assert.equal(res.statusCode, 400)
    assert.equal(errorOf(res).code, 'E502')
    assert.match(errorOf(res).message, /body\.input\.kind/)
    for (const budget of [-1, '0.1234567', 'lots', 1e-7]) {
      res = await submit({ type: 'text.embed', input: { kind: 'text', text: 'x' }, constraints: { budget } })
      assert.equal(res.statusCode, 400)
      assert.equal(errorOf(res).code, 'E1100', String(budget))
      assert.match(errorOf(res).message, /body\.constraints\.budget/)
    }
    res = await submit({ type: 'text.embed', input: { kind: 'text', text: 'x' }, constraints: { maxPricePerSubtask: '0.0000001' } })
    assert.equal(errorOf(res).code, 'E1100')
    assert.match(errorOf(res).message, /body\.constraints\.maxPricePerSubtask/)
    assert.match(errorOf(res).why ?? '', /7 decimals/)
    res = await submit({ type: 'text.embed', input: { kind: 'text', text: 'x' }, extra: true })
    assert.equal(errorOf(res).code, 'E502')
  })

  test('an unknown job type is 400 E1000 listing the known ones', async () => {
    const res = await submit({ type: 'text.translate', input: { kind: 'text', text: 'x' } })
    assert.equal(res.statusCode, 400)
    const error = (res.json() as { error: { code: string, why: string } }).error
    assert.equal(error.code, 'E1000')
    assert.match(error.why, /text\.embed.*summarize/)
  })

  test('an inline input over the limit is 413 E1002 saying the limit and how to pass a file', async () => {
    const submitted = jobs.submitted.length
    for (const body of [
      { type: 'text.embed', input: { kind: 'text', text: 'é'.repeat(MAX_INLINE / 2 + 1) } },
      { type: 'batch.chat', input: { kind: 'items', items: Array.from({ length: 2000 }, (_, i) => ({ prompt: `question number ${i}` })) } },
      // far over: refused by the body limit before parsing, with the same answer
      { type: 'text.embed', input: { kind: 'text', text: '"'.repeat(MAX_INLINE * 4) } }
    ]) {
      const res = await submit(body)
      assert.equal(res.statusCode, 413)
      const error = errorOf(res)
      assert.equal(error.code, 'E1002')
      assert.match(error.message, /over the 64 KiB limit \(jobs\.maxInlineInputBytes\)/)
      assert.match(error.hint ?? '', /agora jobs submit --file F/)
    }
    assert.equal(jobs.submitted.length, submitted, 'nothing was submitted')
    assert.equal((await submit({ type: 'text.embed', input: { kind: 'text', text: 'a'.repeat(MAX_INLINE) } })).statusCode, 200, 'exactly the limit is fine')
  })

  test('list filters by state (or status) and limit; a bad state is E502', async () => {
    const a = jobResponse.parse((await submit({ type: 'summarize', input: { kind: 'text', text: 'one' } })).json())
    const b = jobResponse.parse((await submit({ type: 'summarize', input: { kind: 'text', text: 'two' } })).json())
    await jobs.cancel(a.id)
    const list = async (query: string): Promise<LightMyRequestResponse> => await app.inject({ method: 'GET', url: `/api/v1/jobs${query}`, headers: auth })
    const cancelled = jobsResponse.parse((await list('?state=cancelled')).json())
    assert.deepEqual(cancelled.map(j => j.id), [a.id])
    assert.deepEqual(jobsResponse.parse((await list('?status=cancelled')).json()).map(j => j.id), [a.id])
    const limited = jobsResponse.parse((await list('?limit=1')).json())
    assert.equal(limited.length, 1)
    assert.ok(jobsResponse.parse((await list('')).json()).some(j => j.id === b.id))
    const bad = await list('?state=sleeping')
    assert.equal(bad.statusCode, 400)
    assert.match(errorOf(bad).message, /query\.state/)
    assert.equal(errorOf(await list('?limit=0')).code, 'E502')
  })

  test('show answers the job with every subtask; unknown is 404 E1060', async () => {
    const job = jobResponse.parse((await submit({ type: 'text.embed', input: { kind: 'text', text: 'y'.repeat(3000) } })).json())
    jobs.advance(job.id, 2, '12D3KooWWorkerA')
    const res = await app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}`, headers: auth })
    assert.equal(res.statusCode, 200)
    const detail = jobDetailResponse.parse(res.json())
    assert.equal(detail.state, 'running')
    assert.equal(detail.progress.committed, 2)
    assert.deepEqual(detail.subtasks.map(s => [s.id, s.state, s.worker, s.attempts, s.price]), [
      ['task-0000', 'committed', '12D3KooWWorkerA', 1, '0.100000'], ['task-0001', 'committed', '12D3KooWWorkerA', 1, '0.100000'], ['task-0002', 'pending', null, 0, null]
    ])
    assert.equal(detail.spent, '0.200000')
    const missing = await app.inject({ method: 'GET', url: '/api/v1/jobs/job-nope', headers: auth })
    assert.equal(missing.statusCode, 404)
    assert.equal(errorOf(missing).code, 'E1060')
  })

  test('result: 409 E1061 while running, the result once finished', async () => {
    const job = jobResponse.parse((await submit({ type: 'text.embed', input: { kind: 'text', text: 'z' } })).json())
    const early = await app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/result`, headers: auth })
    assert.equal(early.statusCode, 409)
    assert.equal(errorOf(early).code, 'E1061')
    jobs.finish(job.id, { vectors: [[1, 2]] })
    const res = await app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/result`, headers: auth })
    assert.deepEqual(jobResultResponse.parse(res.json()), { jobId: job.id, state: 'completed', partial: false, result: { vectors: [[1, 2]] } })
  })

  test('cancel stops the job and its open subtasks; twice is 409 E1064', async () => {
    const job = jobResponse.parse((await submit({ type: 'text.embed', input: { kind: 'text', text: 'w'.repeat(2001) } })).json())
    jobs.advance(job.id, 1)
    const res = await app.inject({ method: 'POST', url: `/api/v1/jobs/${job.id}/cancel`, headers: auth })
    assert.equal(res.statusCode, 200)
    assert.equal(jobResponse.parse(res.json()).state, 'cancelled')
    assert.deepEqual(jobs.subtasks(job.id).map(s => s.state), ['committed', 'cancelled', 'cancelled'])
    const again = await app.inject({ method: 'POST', url: `/api/v1/jobs/${job.id}/cancel`, headers: auth })
    assert.equal(again.statusCode, 409)
    assert.equal(errorOf(again).code, 'E1064')
  })

  test('types lists the job types', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/jobs/types', headers: auth })
    assert.deepEqual(jobTypesResponse.parse(res.json()).map(t => t.type), ['text.embed', 'summarize', 'batch.chat'])
  })

  test('upload in chunks, complete with the hash, then submit the blob', async () => {
    const content = Buffer.from('A long document. '.repeat(300))
    const begin = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: auth, payload: { size: content.length } })
    const { uploadId } = uploadStatusResponse.parse(begin.json())
    const put = async (offset: number, chunk: Buffer, contentType = 'application/octet-stream'): Promise<LightMyRequestResponse> =>
      await app.inject({ method: 'PUT', url: `/api/v1/uploads/${uploadId}?offset=${offset}`, headers: { ...auth, 'content-type': contentType }, payload: chunk })
    assert.deepEqual((await put(0, content.subarray(0, 2000))).json(), { uploadId, received: 2000 })
    const wrong = await put(0, content.subarray(0, 10))
    assert.equal(wrong.statusCode, 400)
    assert.equal(errorOf(wrong).code, 'E1062')
    assert.match(errorOf(wrong).message, /expected the chunk at offset 2000, got 0/)
    assert.equal(errorOf(await put(2000, content.subarray(2000), 'application/json')).code, 'E502', 'a chunk must be octet-stream')
    assert.equal((await put(2000, content.subarray(2000))).statusCode, 200)
    const sha256 = createHash('sha256').update(content).digest('hex')
    const done = await app.inject({ method: 'POST', url: `/api/v1/uploads/${uploadId}/complete`, headers: auth, payload: { sha256 } })
    assert.deepEqual(blobRefResponse.parse(done.json()), { hash: sha256, size: content.length })
    const job = await submit({ type: 'text.embed', input: { kind: 'blob', hash: sha256, size: content.length } })
    assert.equal(job.statusCode, 200)
    assert.equal(jobResponse.parse(job.json()).progress.total, Math.ceil(content.length / 1000))
  })

  test('upload refusals: over the size limit E1081, chunk over 4 MiB, damaged content E1062, bad ids', async () => {
    const big = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: auth, payload: { size: 9 * 1024 * 1024 } })
    assert.equal(big.statusCode, 413)
    assert.equal(errorOf(big).code, 'E1081')
    assert.match(errorOf(big).message, /over the 8 MiB upload limit \(jobs\.maxUploadBytes\)/)

    const { uploadId } = uploadStatusResponse.parse((await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: auth, payload: { size: 5 * 1024 * 1024 } })).json())
    const huge = await app.inject({ method: 'PUT', url: `/api/v1/uploads/${uploadId}?offset=0`, headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(4 * 1024 * 1024 + 1) })
    assert.equal(huge.statusCode, 400)
    assert.equal(errorOf(huge).code, 'E502')
    assert.match(errorOf(huge).message, /chunk is too large/)

    const small = uploadStatusResponse.parse((await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: auth, payload: { size: 3 } })).json())
    await app.inject({ method: 'PUT', url: `/api/v1/uploads/${small.uploadId}?offset=0`, headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: Buffer.from('abc') })
    const damaged = await app.inject({ method: 'POST', url: `/api/v1/uploads/${small.uploadId}/complete`, headers: auth, payload: { sha256: 'f'.repeat(64) } })
    assert.equal(damaged.statusCode, 400)
    assert.equal(errorOf(damaged).code, 'E1062')
    const unstored = await submit({ type: 'text.embed', input: { kind: 'blob', hash: createHash('sha256').update('abc').digest('hex'), size: 3 } })
    assert.equal(errorOf(unstored).code, 'E1082', 'damaged content is not kept as a blob')

    const badId = await app.inject({ method: 'PUT', url: '/api/v1/uploads/nope?offset=0', headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: Buffer.from('x') })
    assert.equal(errorOf(badId).code, 'E502')
    const noOffset = await app.inject({ method: 'PUT', url: `/api/v1/uploads/${uploadId}`, headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: Buffer.from('x') })
    assert.match(errorOf(noOffset).message, /query\.offset/)
  })

  test('octet-stream bodies are read only by the chunk route', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: Buffer.from('{}') })
    assert.equal(res.statusCode, 400)
    assert.equal(errorOf(res).code, 'E502')
  })

  test('the token is required', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/jobs', headers: { host: '127.0.0.1' } })
    assert.equal(res.statusCode, 401)
    assert.equal(errorOf(res).code, 'E500')
  })
})

describe('jobs API at the default inline limit', () => {
  test('a 1 MiB inline input passes the server\'s 1 MiB body limit; one byte more is E1002', async () => {
    const jobs = new FakeJobs({ chunkChars: 1024 * 1024 })
    const app = await buildApiServer({ control: unusedControl(), events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), jobs }, { token: TOKEN })
    try {
      const at = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: auth, payload: { type: 'text.embed', input: { kind: 'text', text: 'a'.repeat(1024 * 1024) } } })
      assert.equal(at.statusCode, 200, at.body.slice(0, 200))
      const over = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: auth, payload: { type: 'text.embed', input: { kind: 'text', text: 'a'.repeat(1024 * 1024 + 1) } } })
      assert.equal(over.statusCode, 413)
      assert.match(errorOf(over).message, /over the 1 MiB limit/)
      // other routes over the server's limit say so, not that a chunk is too large
      const bigBegin = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: auth, payload: { size: 1, pad: 'x'.repeat(1024 * 1024) } })
      assert.equal(bigBegin.statusCode, 400)
      assert.equal(errorOf(bigBegin).message, 'the request body is too large')
    } finally {
      await app.close()
    }
  })
})

describe('jobs API without a coordinator', () => {
  test('every route answers 503 E1080', async () => {
    const app = await buildApiServer({ control: unusedControl(), events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger() }, { token: TOKEN })
    try {
      for (const [method, url] of [['GET', '/api/v1/jobs'], ['GET', '/api/v1/jobs/types'], ['GET', '/api/v1/jobs/x'], ['POST', '/api/v1/jobs/x/cancel']] as const) {
        const res = await app.inject({ method, url, headers: auth })
        assert.equal(res.statusCode, 503, `${method} ${url}`)
        assert.equal(errorOf(res).code, 'E1080')
      }
      const submit = await app.inject({ method: 'POST', url: '/api/v1/jobs', headers: auth, payload: { type: 'text.embed', input: { kind: 'text', text: 'x' } } })
      assert.equal(errorOf(submit).code, 'E1080')
    } finally {
      await app.close()
    }
  })
})
