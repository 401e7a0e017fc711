/**
 * The packages routes, through `inject` and through a real socket with the
 * typed client, against a small real PackageApi (memory-packages.ts): each
 * route, its query or body checked (E1471 naming the field, E1472 for a
 * spec), the room's own errors kept with their status, progress streamed
 * as server-sent events with the result (or the error) last, and a node
 * without packages answering 503 E1470.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApiServer, type ControlPlane } from '../../../src/api/index.ts'
import { ControlClient } from '../../../src/client/index.ts'
import type { ProgressEvent, TransferProgress } from '../../../src/client/packages-schemas.ts'
import { AgoraError } from '../../../src/errors.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { PackageApi } from '../../../src/packages/types.ts'
import { tempDir } from '../../harness/temp.ts'
import { MemoryPackages } from './memory-packages.ts'

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'
const headers = { authorization: `Bearer ${TOKEN}`, host: '127.0.0.1' }

async function server (packages?: PackageApi): Promise<FastifyInstance> {
  return await buildApiServer({ control: {} as unknown as ControlPlane, events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), ...(packages === undefined ? {} : { packages }) }, { token: TOKEN })
}

function events<R> (body: string): Array<ProgressEvent<R>> {
  return body.split('\n\n').filter(b => b.startsWith('data: ')).map(b => JSON.parse(b.slice(6)) as ProgressEvent<R>)
}

describe('packages routes', () => {
  let app: FastifyInstance
  let packages: MemoryPackages
  let dir: string
  let cid: string
  before(async () => {
    dir = tempDir()
    packages = new MemoryPackages(join(dir, 'installed'))
    cid = await packages.add('acme/summarize-prompts', '1.2.0', { 'summarize.txt': 'Summarise: {{text}}' }, { description: 'prompts that summarize' })
    await packages.add('acme/summarize-prompts', '1.3.1', { 'summarize.txt': 'Summarise briefly: {{text}}' }, { description: 'prompts that summarize' })
    await packages.add('acme/llama-3b-q4', '1.0.0', { 'model.gguf': 'GGUF'.repeat(100_000) }, { kind: 'model', description: 'a small llama' })
    await packages.add('mallory/summarize-evil', '0.1.0', { 'x.txt': 'x' }, { reputation: 0.1, description: 'summarize badly' })
    app = await server(packages)
  })
  after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('search: words, kind, limit, timeout and local reach the service; the answer is its result', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/packages/search?q=summarize&limit=5&timeout=1500&local=1', headers })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(packages.calls.at(-1), ['search', { text: 'summarize', limit: 5, timeoutMs: 1500, localOnly: true }])
    assert.deepEqual(res.json().results.map((r: { name: string }) => r.name).sort(), ['acme/summarize-prompts', 'acme/summarize-prompts', 'mallory/summarize-evil'])
    const models = await app.inject({ method: 'GET', url: '/api/v1/packages/search?q=&kind=model', headers })
    assert.deepEqual(models.json().results.map((r: { name: string }) => r.name), ['acme/llama-3b-q4'])
  })

  test('search: a bad kind, limit or timeout is 400 E1471 naming the field', async () => {
    for (const [query, field] of [['kind=weights', 'query.kind'], ['limit=0', 'query.limit'], ['limit=101', 'query.limit'], ['timeout=600000', 'query.timeout'], ['timeout=soon', 'query.timeout'], ['colour=red', 'query']] as const) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/packages/search?q=x&${query}`, headers })
      assert.equal(res.statusCode, 400, query)
      assert.deepEqual([res.json().error.code, res.json().error.message], ['E1471', `invalid ${field}`], query)
    }
  })

  test('info: a spec in ?spec= by name, name@range or CID; a malformed spec is E1472, an unknown one keeps the service\'s 404', async () => {
    const latest = await app.inject({ method: 'GET', url: `/api/v1/packages/info?spec=${encodeURIComponent('acme/summarize-prompts')}`, headers })
    assert.equal(latest.statusCode, 200, latest.body)
    assert.equal(latest.json().summary.version, '1.3.1')
    assert.deepEqual(latest.json().versions, ['1.3.1', '1.2.0'])
    const ranged = await app.inject({ method: 'GET', url: `/api/v1/packages/info?spec=${encodeURIComponent('acme/summarize-prompts@~1.2')}`, headers })
    assert.equal(ranged.json().summary.version, '1.2.0')
    const byCid = await app.inject({ method: 'GET', url: `/api/v1/packages/info?spec=${cid}`, headers })
    assert.equal(byCid.json().summary.cid, cid)
    for (const spec of ['Acme/Upper', 'acme', 'acme/x@not-a-range', 'bafyNOTACID', '']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/packages/info?spec=${encodeURIComponent(spec)}`, headers })
      assert.equal(res.statusCode, 400, spec)
      assert.deepEqual([res.json().error.code, res.json().error.message], ['E1472', 'invalid query.spec'], spec)
    }
    const missing = await app.inject({ method: 'GET', url: '/api/v1/packages/info', headers })
    assert.equal(missing.json().error.code, 'E1472')
    const unknown = await app.inject({ method: 'GET', url: `/api/v1/packages/info?spec=${encodeURIComponent('acme/nothing')}`, headers })
    assert.deepEqual([unknown.statusCode, unknown.json().error.code], [404, 'E1437'])
  })

  test('install, list, pin, unpin, verify, remove: each answers the service\'s record', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/packages/install', headers, payload: { spec: 'acme/summarize-prompts@^1.2', pin: true } })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual([res.json().name, res.json().version, res.json().pinned, res.json().state], ['acme/summarize-prompts', '1.3.1', true, 'installed'])
    assert.deepEqual(packages.calls.at(-1), ['install', { spec: 'acme/summarize-prompts@^1.2', pin: true, signal: undefined, onProgress: undefined }])
    const list = await app.inject({ method: 'GET', url: '/api/v1/packages', headers })
    assert.deepEqual(list.json().map((p: { version: string }) => p.version), ['1.3.1'])
    const unpinned = await app.inject({ method: 'POST', url: '/api/v1/packages/unpin', headers, payload: { spec: 'acme/summarize-prompts' } })
    assert.equal(unpinned.json().pinned, false)
    const pinned = await app.inject({ method: 'POST', url: '/api/v1/packages/pin', headers, payload: { spec: 'acme/summarize-prompts' } })
    assert.equal(pinned.json().pinned, true)
    const verified = await app.inject({ method: 'POST', url: '/api/v1/packages/verify', headers, payload: {} })
    assert.deepEqual(verified.json().map((r: { ok: boolean }) => r.ok), [true])
    writeFileSync(join(res.json().dir, 'summarize.txt'), 'tampered')
    const damaged = await app.inject({ method: 'POST', url: '/api/v1/packages/verify', headers, payload: { spec: 'acme/summarize-prompts' } })
    assert.deepEqual(damaged.json()[0].bad, ['summarize.txt'])
    const removed = await app.inject({ method: 'DELETE', url: `/api/v1/packages?spec=${encodeURIComponent('acme/summarize-prompts')}`, headers })
    assert.equal(removed.statusCode, 200, removed.body)
    assert.equal(removed.json().version, '1.3.1')
    const again = await app.inject({ method: 'DELETE', url: `/api/v1/packages?spec=${encodeURIComponent('acme/summarize-prompts')}`, headers })
    assert.deepEqual([again.statusCode, again.json().error.code], [404, 'E1448'])
  })

  test('install: a bad body is E1471 or E1472; the reputation bar keeps its 403 E1442 until trustPublisher', async () => {
    const bad: Array<[unknown, string, string]> = [
      [{}, 'E1472', 'invalid body.spec'],
      [{ spec: 'acme/summarize-prompts', pin: 'yes' }, 'E1471', 'invalid body.pin'],
      [{ spec: 'acme/summarize-prompts', force: true }, 'E1471', 'invalid body'],
      [{ spec: 'acme/summarize-prompts@>=1 <' }, 'E1472', 'invalid body.spec']
    ]
    for (const [payload, code, message] of bad) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/packages/install', headers, payload: payload as Record<string, unknown> })
      assert.equal(res.statusCode, 400, JSON.stringify(payload))
      assert.deepEqual([res.json().error.code, res.json().error.message], [code, message], JSON.stringify(payload))
    }
    const refused = await app.inject({ method: 'POST', url: '/api/v1/packages/install', headers, payload: { spec: 'mallory/summarize-evil' } })
    assert.deepEqual([refused.statusCode, refused.json().error.code], [403, 'E1442'])
    const trusted = await app.inject({ method: 'POST', url: '/api/v1/packages/install', headers, payload: { spec: 'mallory/summarize-evil', trustPublisher: true } })
    assert.equal(trusted.statusCode, 200, trusted.body)
  })

  test('install with ?progress=1 streams progress, then the result as the last event; an error ends the stream as an event', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/packages/install?progress=1', headers, payload: { spec: 'acme/llama-3b-q4' } })
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-type']), /^text\/event-stream/)
    const stream = events<{ name: string }>(res.body)
    const progress = stream.filter(e => e.type === 'progress').map(e => (e as { progress: TransferProgress }).progress)
    assert.deepEqual([...new Set(progress.map(p => p.phase))], ['resolve', 'fetch', 'done'])
    assert.ok(progress.length < 400_000 / (64 * 1024) + 3, 'progress within one phase is thinned, not one event per step')
    assert.deepEqual(progress.at(-1), { operation: 'install', name: 'acme/llama-3b-q4', phase: 'done', bytes: 400_000, totalBytes: 400_000, providers: 2 })
    assert.deepEqual(stream.at(-1), { type: 'result', result: (stream.at(-1) as { result: unknown }).result })
    assert.equal((stream.at(-1) as { result: { name: string } }).result.name, 'acme/llama-3b-q4')
    const sse = await app.inject({ method: 'POST', url: '/api/v1/packages/install', headers: { ...headers, accept: 'text/event-stream' }, payload: { spec: 'mallory/summarize-evil@0.1.0' } })
    const last = events(sse.body).at(-1)
    assert.equal(last?.type, 'error')
    assert.equal((last as { error: { code: string } }).error.code, 'E1442')
    // a body that does not parse is refused before any stream begins
    const early = await app.inject({ method: 'POST', url: '/api/v1/packages/install?progress=1', headers, payload: { spec: 'NOT A SPEC' } })
    assert.deepEqual([early.statusCode, early.json().error.code], [400, 'E1472'])
    const badFlag = await app.inject({ method: 'POST', url: '/api/v1/packages/install?progress=maybe', headers, payload: { spec: 'acme/llama-3b-q4' } })
    assert.deepEqual([badFlag.statusCode, badFlag.json().error.code, badFlag.json().error.message], [400, 'E1471', 'invalid query.progress'])
  })

  test('publish: an absolute path on the node and the manifest fields; a relative path or a bad field is E1471', async () => {
    const folder = join(dir, 'prompts')
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'a.txt'), 'A prompt')
    const body = { path: folder, name: 'acme/new-prompts', version: '2.0.0', kind: 'prompt', license: 'MIT', tags: ['summarize', 'en'] }
    const res = await app.inject({ method: 'POST', url: '/api/v1/packages/publish', headers, payload: body })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual([res.json().manifest.name, res.json().manifest.files[0].path, res.json().size], ['acme/new-prompts', 'a.txt', 8])
    assert.deepEqual(packages.calls.at(-1), ['publish', body])
    for (const [change, field] of [[{ path: 'prompts' }, 'body.path'], [{ name: 'new-prompts' }, 'body.name'], [{ version: 'v2' }, 'body.version'], [{ kind: 'weights' }, 'body.kind'], [{ tags: 'a,b' }, 'body.tags'], [{ dependencies: { 'acme/x': 'latest!' } }, 'body.dependencies.acme/x']] as const) {
      const bad = await app.inject({ method: 'POST', url: '/api/v1/packages/publish', headers, payload: { ...body, ...change } })
      assert.equal(bad.statusCode, 400, field)
      assert.deepEqual([bad.json().error.code, bad.json().error.message], ['E1471', `invalid ${field}`])
    }
    const missing = await app.inject({ method: 'POST', url: '/api/v1/packages/publish', headers, payload: { ...body, path: join(dir, 'nothing-here') } })
    assert.deepEqual([missing.statusCode, missing.json().error.code], [400, 'E1430'])
  })

  test('export to a CAR or to Ollama (exactly one), import, gc', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/packages/install', headers, payload: { spec: 'acme/llama-3b-q4' } })
    const out = join(dir, 'out.car')
    const car = await app.inject({ method: 'POST', url: '/api/v1/packages/export', headers, payload: { spec: 'acme/llama-3b-q4', car: out } })
    assert.equal(car.statusCode, 200, car.body)
    assert.equal(car.json().car.bytes, 400_000)
    const ollama = await app.inject({ method: 'POST', url: '/api/v1/packages/export', headers, payload: { spec: 'acme/llama-3b-q4', ollama: { model: 'llama-3b:q4' } } })
    assert.deepEqual(ollama.json(), { ollama: { model: 'llama-3b:q4', modelsDir: '/home/user/.ollama/models' } })
    for (const payload of [{ spec: 'acme/llama-3b-q4' }, { spec: 'acme/llama-3b-q4', car: out, ollama: {} }, { spec: 'acme/llama-3b-q4', car: 'out.car' }]) {
      const bad = await app.inject({ method: 'POST', url: '/api/v1/packages/export', headers, payload })
      assert.deepEqual([bad.statusCode, bad.json().error.code], [400, 'E1471'], JSON.stringify(payload))
    }
    const notModel = await app.inject({ method: 'POST', url: '/api/v1/packages/export', headers, payload: { spec: 'mallory/summarize-evil', ollama: {} } })
    assert.deepEqual([notModel.statusCode, notModel.json().error.code], [422, 'E1450'])
    const imported = await app.inject({ method: 'POST', url: '/api/v1/packages/import', headers, payload: { path: out } })
    assert.deepEqual([imported.statusCode, imported.json().error.code], [400, 'E1467'])
    const badTrust = await app.inject({ method: 'POST', url: '/api/v1/packages/import', headers, payload: { path: out, trustPublisher: 'yes' } })
    assert.deepEqual([badTrust.statusCode, badTrust.json().error.message], [400, 'invalid body.trustPublisher'])
    const relative = await app.inject({ method: 'POST', url: '/api/v1/packages/import', headers, payload: { path: 'out.car' } })
    assert.deepEqual([relative.statusCode, relative.json().error.code, relative.json().error.message], [400, 'E1471', 'invalid body.path'])
    await app.inject({ method: 'POST', url: '/api/v1/packages/pin', headers, payload: { spec: 'acme/llama-3b-q4' } })
    const gc = await app.inject({ method: 'POST', url: '/api/v1/packages/gc', headers })
    assert.equal(gc.statusCode, 200, gc.body)
    assert.deepEqual(gc.json().removed.map((r: { name: string }) => r.name), ['mallory/summarize-evil'])
    const left = await app.inject({ method: 'GET', url: '/api/v1/packages', headers })
    assert.deepEqual(left.json().map((p: { name: string }) => p.name), ['acme/llama-3b-q4'])
  })

  test('the typed client over a real socket: progress streams to onProgress, the result resolves, errors keep their code', async () => {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    assert.ok(address !== null && typeof address === 'object')
    const client = new ControlClient({ url: `http://127.0.0.1:${address.port}`, token: TOKEN })
    const seen: TransferProgress[] = []
    const installed = await client.installPackage({ spec: 'acme/summarize-prompts@1.2.0' }, { onProgress: p => seen.push(p) })
    assert.equal(installed.version, '1.2.0')
    assert.deepEqual([seen[0]?.phase, seen.at(-1)?.phase], ['resolve', 'done'])
    await assert.rejects(client.installPackage({ spec: 'mallory/summarize-evil' }, { onProgress: () => {} }), (err: unknown) => err instanceof AgoraError && err.code === 'E1442')
    await assert.rejects(client.installPackage({ spec: 'NOPE' }, { onProgress: () => {} }), (err: unknown) => err instanceof AgoraError && err.code === 'E1472')
    const found = await client.packageSearch({ q: 'llama', kind: 'model' })
    assert.deepEqual(found.results.map(r => r.name), ['acme/llama-3b-q4'])
    assert.equal((await client.packageInfo('acme/summarize-prompts@1.2.0')).summary.version, '1.2.0')
    assert.deepEqual((await client.pinPackage('acme/summarize-prompts', true)).pinned, true)
    assert.deepEqual((await client.removePackage('acme/summarize-prompts')).version, '1.2.0')
  })
})

test('a node without packages answers 503 E1470 on every packages route', async () => {
  const app = await server()
  try {
    for (const [method, url] of [['GET', '/api/v1/packages'], ['GET', '/api/v1/packages/search?q=x'], ['POST', '/api/v1/packages/gc']] as const) {
      const res = await app.inject({ method, url, headers })
      assert.deepEqual([res.statusCode, res.json().error.code], [503, 'E1470'], url)
    }
    const streamed = await app.inject({ method: 'POST', url: '/api/v1/packages/install?progress=1', headers, payload: { spec: 'acme/x' } })
    assert.deepEqual([streamed.statusCode, streamed.json().error.code], [503, 'E1470'])
  } finally {
    await app.close()
  }
})
