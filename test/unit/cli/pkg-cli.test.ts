/**
 * `agora pkg` spawned against a listening API whose PackageApi is the small
 * real one of test/unit/api/memory-packages.ts: every verb, tables and
 * --json shapes, relative paths made absolute before they leave, each bad
 * input exiting non-zero with its `Error [E14xx]` line, and the progress bar
 * — drawn on a terminal (a pty), never on a pipe.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApiServer, type ControlPlane } from '../../../src/api/index.ts'
import { API_INFO_FILE, API_TOKEN_FILE } from '../../../src/client/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { CLI, runAgora } from '../../harness/cli.ts'
import { startOnPty } from '../../harness/pty.ts'
import { tempDir } from '../../harness/temp.ts'
import { MemoryPackages, PUBLISHER } from '../api/memory-packages.ts'

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'

describe('agora pkg against a listening API', () => {
  let app: FastifyInstance
  let packages: MemoryPackages
  let dataDir: string
  const cli = async (args: string[], cwd?: string): ReturnType<typeof runAgora> => await runAgora(['--data-dir', dataDir, ...args], { timeoutMs: 30_000, ...(cwd === undefined ? {} : { cwd }) })
  const json = async <T>(args: string[], cwd?: string): Promise<T> => {
    const run = await cli([...args, '--json'], cwd)
    assert.equal(run.code, 0, `agora ${args.join(' ')}: ${run.stderr}`)
    return JSON.parse(run.stdout) as T
  }

  before(async () => {
    dataDir = tempDir()
    packages = new MemoryPackages(join(dataDir, 'installed'))
    await packages.add('acme/llama-3b-q4', '1.0.0', { 'model.gguf': 'GGUF'.repeat(1_000_000) }, { kind: 'model', description: 'a small llama', stepDelayMs: 40 })
    await packages.add('mallory/summarize-evil', '0.1.0', { 'x.txt': 'x' }, { reputation: 0.1, description: 'summarize badly' })
    app = await buildApiServer({ control: {} as unknown as ControlPlane, events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), packages }, { token: TOKEN })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    if (address === null || typeof address !== 'object') throw new Error('not listening')
    writeFileSync(join(dataDir, API_INFO_FILE), JSON.stringify({ url: `http://127.0.0.1:${address.port}`, pid: process.pid, peerId: PUBLISHER }))
    writeFileSync(join(dataDir, API_TOKEN_FILE), TOKEN)
  })
  after(async () => {
    await app.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  test('publish → search → info → install → list → verify → remove, with the issue\'s own command lines', async () => {
    const work = join(dataDir, 'work')
    mkdirSync(join(work, 'prompts'), { recursive: true })
    writeFileSync(join(work, 'prompts', 'summarize.txt'), 'Summarise: {{text}}')
    const published = await cli(['pkg', 'publish', './prompts', '--name', 'acme/summarize-prompts', '--version', '1.2.0', '--kind', 'prompt', '--license', 'MIT', '--tags', 'summarize,en', '--description', 'prompts that summarize'], work)
    assert.equal(published.code, 0, published.stderr)
    assert.match(published.stdout, /published\s+acme\/summarize-prompts@1\.2\.0/)
    assert.equal((packages.calls.at(-1) as [string, { path: string }])[1].path, join(work, 'prompts'), 'the relative path left as an absolute one')
    assert.equal(published.stderr, '', 'no bar and no escape codes on a pipe')

    const search = await cli(['pkg', 'search', 'summarize', '--limit', '10', '--timeout', '3s'])
    assert.equal(search.code, 0, search.stderr)
    assert.match(search.stdout, /acme\/summarize-prompts .*1\.2\.0.*prompt/s)
    assert.match(search.stdout, /2 results · 2 peers asked, 1 answered/)
    assert.deepEqual(packages.calls.at(-1), ['search', { text: 'summarize', limit: 10, timeoutMs: 3000 }])
    const found = await json<{ results: Array<{ name: string, publisher: string }>, peersAsked: number }>(['pkg', 'search', 'llama', '--kind', 'model'])
    assert.deepEqual(found.results.map(r => [r.name, r.publisher]), [['acme/llama-3b-q4', PUBLISHER]])

    const info = await cli(['pkg', 'info', 'acme/summarize-prompts@1.2.0'])
    assert.match(info.stdout, /license\s+MIT/)
    assert.match(info.stdout, /files\s+summarize\.txt\s+19 B\s+bafk/)
    const infoJson = await json<{ summary: { version: string }, manifest: { tags: string[] }, versions: string[] }>(['pkg', 'info', 'acme/summarize-prompts'])
    assert.deepEqual([infoJson.summary.version, infoJson.manifest.tags, infoJson.versions], ['1.2.0', ['summarize', 'en'], ['1.2.0']])

    const installed = await json<{ name: string, version: string, pinned: boolean, dir: string }>(['pkg', 'install', 'acme/summarize-prompts@^1.2', '--pin'])
    assert.deepEqual([installed.name, installed.version, installed.pinned], ['acme/summarize-prompts', '1.2.0', true])
    const list = await json<Array<{ name: string }>>(['pkg', 'list'])
    assert.deepEqual(list.map(p => p.name), ['acme/summarize-prompts'])
    const table = await cli(['pkg', 'ls'])
    assert.match(table.stdout, /acme\/summarize-prompts.*1\.2\.0.*yes.*installed/)

    assert.equal((await cli(['pkg', 'verify'])).code, 0)
    writeFileSync(join(installed.dir, 'summarize.txt'), 'tampered')
    const damaged = await cli(['pkg', 'verify', 'acme/summarize-prompts'])
    assert.equal(damaged.code, 1)
    assert.match(damaged.stdout, /DAMAGED.*summarize\.txt/)

    assert.equal((await json<{ pinned: boolean }>(['pkg', 'unpin', 'acme/summarize-prompts'])).pinned, false)
    const removed = await cli(['pkg', 'rm', 'acme/summarize-prompts'])
    assert.match(removed.stdout, /removed\s+acme\/summarize-prompts@1\.2\.0/)
    const gone = await cli(['pkg', 'remove', 'acme/summarize-prompts'])
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /^Error \[E1448\]: /)
  })

  test('bad input is a usage error (exit 2, as E600 elsewhere) with its code, before anything is sent', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['pkg', 'install', 'Acme/Upper'], /^Error \[E1472\]: 'Acme\/Upper' is not a package spec/],
      [['pkg', 'info', 'acme/x@not-a-range'], /^Error \[E1472\]: /],
      [['pkg', 'search', 'x', '--timeout', 'soon'], /^Error \[E1473\]: --timeout takes a duration/],
      [['pkg', 'search', 'x', '--kind', 'weights'], /^Error \[E1473\]: --kind: /],
      [['pkg', 'publish', '.', '--name', 'acme', '--version', '1.0.0'], /^Error \[E1473\]: --name: /],
      [['pkg', 'publish', '.', '--name', 'acme/x', '--version', 'one'], /^Error \[E1473\]: --version: /],
      [['pkg', 'publish', '.', '--name', 'acme/x'], /^Error \[E1473\]: --version is required/],
      [['pkg', 'export', 'acme/x'], /^Error \[E1474\]: /],
      [['pkg', 'export', 'acme/x', '--car', 'a.car', '--ollama'], /^Error \[E1474\]: /]
    ]
    const before = packages.calls.length
    for (const [args, error] of cases) {
      const run = await cli(args)
      assert.equal(run.code, 2, args.join(' '))
      assert.match(run.stderr, error, args.join(' '))
    }
    assert.equal(packages.calls.length, before, 'nothing reached the node')
    // the node's own refusals keep their code
    const low = await cli(['pkg', 'install', 'mallory/summarize-evil'])
    assert.equal(low.code, 1)
    assert.match(low.stderr, /^Error \[E1442\]: .* — install only from publishers you trust/)
    assert.equal((await cli(['pkg', 'install', 'mallory/summarize-evil', '--trust-publisher'])).code, 0)
    const missing = await cli(['pkg', 'publish', './nothing', '--name', 'acme/x', '--version', '1.0.0'], dataDir)
    assert.match(missing.stderr, /^Error \[E1430\]: cannot read .*\/nothing/)
  })

  test('export to a CAR and to Ollama, import, gc', async () => {
    assert.equal((await cli(['pkg', 'install', 'acme/llama-3b-q4'])).code, 0)
    const car = await json<{ car: { bytes: number } }>(['pkg', 'export', 'acme/llama-3b-q4', '--car', 'out.car'], dataDir)
    assert.equal(car.car.bytes, 4_000_000)
    const ollama = await cli(['pkg', 'export', 'acme/llama-3b-q4', '--ollama', '--model', 'llama-3b:q4'])
    assert.match(ollama.stdout, /run\s+ollama run llama-3b:q4/)
    const imported = await cli(['pkg', 'import', 'out.car'], dataDir)
    assert.match(imported.stderr, /^Error \[E1467\]/)
    assert.deepEqual(packages.calls.at(-1), ['importCar', join(dataDir, 'out.car')])
    const gc = await json<{ removed: Array<{ name: string }>, freedBytes: number }>(['pkg', 'gc'])
    assert.deepEqual(gc.removed.map(r => r.name).sort(), ['acme/llama-3b-q4', 'mallory/summarize-evil'])
  })

  test('on a terminal, install draws one redrawn line with bytes, rate, ETA and providers', async () => {
    const term = startOnPty([process.execPath, CLI, '--data-dir', dataDir, 'pkg', 'install', 'acme/llama-3b-q4'], { env: { COLUMNS: '200' } })
    try {
      await term.expect(/acme\/llama-3b-q4 fetching \[[█░]+\] [\d.]+ (KiB|MiB)\/3\.8 MiB \d+% · [\d.]+ (B|KiB|MiB)\/s · ETA \d+s · 2 providers/, 20_000)
      assert.equal(await term.exited(30_000), 0)
      assert.match(term.output(), /package\s+acme\/llama-3b-q4@1\.0\.0/)
    } finally {
      term.kill()
    }
  })
})
