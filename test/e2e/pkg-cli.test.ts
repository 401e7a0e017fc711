/**
 * `agora pkg` on two real daemons, as docs/packages.md tells it: publish a
 * folder on A, find it from B by search (the catalogue learnt by gossip),
 * see it with info, install it on B (blocks fetched from A and verified),
 * list, verify, remove; the --json shapes the docs promise; and bad input
 * exiting non-zero with its `Error [E14xx]` line.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { agora, killDaemons, runAgora, startDaemon, type Daemon } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'
import type { InstalledPackage, PackageInfo, PublishResult, SearchResult, VerifyReport } from '../../src/client/packages-schemas.ts'

const env: NodeJS.ProcessEnv = { AGORA_ACCESS_TRUST_MODE: 'public' }
// B installs only from publishers it thinks well of: a stranger (0.5) is under the bar
const strictEnv: NodeJS.ProcessEnv = { ...env, AGORA_PACKAGES_MIN_PUBLISHER_REPUTATION: '0.9' }

async function json<T> (daemon: Daemon, args: string[], cwd?: string): Promise<T> {
  return JSON.parse(await agora([...args, '--data-dir', daemon.dataDir, '--json'], cwd === undefined ? {} : { cwd })) as T
}

describe('agora pkg on two daemons', () => {
  let a: Daemon
  let b: Daemon
  const work = tempDir()

  before(async () => {
    [a, b] = await Promise.all([startDaemon([], tempDir(), env), startDaemon([], tempDir(), strictEnv)])
    await agora(['peers', 'connect', a.address, '--data-dir', b.dataDir])
  })
  after(async () => { await killDaemons() })

  test('publish on A → search, info, install, list, verify, remove on B', async () => {
    mkdirSync(join(work, 'prompts', 'en'), { recursive: true })
    writeFileSync(join(work, 'prompts', 'en', 'summarize.txt'), 'Summarise the text below in three sentences:\n{{text}}\n')
    writeFileSync(join(work, 'prompts', 'README.md'), '# Summarize prompts\n')
    const published = await json<PublishResult>(a, ['pkg', 'publish', './prompts', '--name', 'acme/summarize-prompts', '--version', '1.2.0', '--kind', 'prompt', '--license', 'MIT', '--tags', 'summarize,en', '--description', 'prompts that summarize'], work)
    assert.equal(published.manifest.name, 'acme/summarize-prompts')
    assert.equal(published.manifest.publisher, a.peerId)
    assert.deepEqual(published.manifest.files.map(f => f.path).sort(), ['README.md', 'en/summarize.txt'])

    // B learns it by gossip (or asks A over /agora/search/1)
    let found: SearchResult | undefined
    await waitFor('B to find the package', async () => {
      found = await json<SearchResult>(b, ['pkg', 'search', 'summarize', '--timeout', '2s'])
      return found.results.some(r => r.cid === published.cid)
    }, { timeoutMs: 30_000, intervalMs: 500 })
    const hit = found?.results.find(r => r.cid === published.cid)
    assert.deepEqual([hit?.name, hit?.version, hit?.kind, hit?.publisher], ['acme/summarize-prompts', '1.2.0', 'prompt', a.peerId])
    const table = await agora(['pkg', 'search', 'summarize', '--data-dir', b.dataDir])
    assert.match(table, /acme\/summarize-prompts.*1\.2\.0.*prompt/)

    const info = await json<PackageInfo>(b, ['pkg', 'info', 'acme/summarize-prompts@1.2.0'])
    assert.equal(info.summary.cid, published.cid)
    assert.equal(info.installed, undefined)

    // A is a stranger to B, under B's bar: refused until the operator says they trust the publisher
    const refused = await runAgora(['pkg', 'install', 'acme/summarize-prompts@^1.2', '--data-dir', b.dataDir])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^Error \[E1442\]: /)
    const installed = await json<InstalledPackage>(b, ['pkg', 'install', 'acme/summarize-prompts@^1.2', '--trust-publisher'])
    assert.deepEqual([installed.name, installed.version, installed.state], ['acme/summarize-prompts', '1.2.0', 'installed'])
    assert.equal(readFileSync(join(installed.dir, 'en', 'summarize.txt'), 'utf8'), 'Summarise the text below in three sentences:\n{{text}}\n')

    const list = await json<InstalledPackage[]>(b, ['pkg', 'list'])
    assert.deepEqual(list.map(p => p.cid), [published.cid])
    const verified = await json<VerifyReport[]>(b, ['pkg', 'verify'])
    assert.deepEqual(verified.map(r => [r.cid, r.ok]), [[published.cid, true]])

    const removed = await json<InstalledPackage>(b, ['pkg', 'remove', 'acme/summarize-prompts'])
    assert.equal(removed.cid, published.cid)
    assert.deepEqual(await json<InstalledPackage[]>(b, ['pkg', 'list']), [])

    // carried without the network: a CAR from A (a relative path: made absolute by the CLI), imported on B
    const exported = await json<{ car: { cid: string, blocks: number } }>(a, ['pkg', 'export', 'acme/summarize-prompts', '--car', 'prompts.car'], work)
    assert.equal(exported.car.cid, published.cid)
    const untrusted = await runAgora(['pkg', 'import', join(work, 'prompts.car'), '--data-dir', b.dataDir])
    assert.match(untrusted.stderr, /^Error \[E1442\]: /, 'a CAR is held to the same publisher bar as an install')
    const imported = await json<{ cid: string, name: string }>(b, ['pkg', 'import', join(work, 'prompts.car'), '--trust-publisher'])
    assert.deepEqual([imported.cid, imported.name], [published.cid, 'acme/summarize-prompts'])
    assert.deepEqual((await json<InstalledPackage[]>(b, ['pkg', 'list'])).map(p => p.cid), [published.cid])
  })

  test('a model package exported into an Ollama models dir', async () => {
    writeFileSync(join(work, 'tiny.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(4096, 7)]))
    await json<PublishResult>(a, ['pkg', 'publish', 'tiny.gguf', '--name', 'acme/tiny-model', '--version', '0.1.0', '--kind', 'model', '--engine', 'llama.cpp', '--quantisation', 'Q4_K_M'], work)
    await waitFor('B to learn the model package', async () => (await runAgora(['pkg', 'info', 'acme/tiny-model', '--data-dir', b.dataDir])).code === 0, { timeoutMs: 30_000, intervalMs: 500 })
    await json<InstalledPackage>(b, ['pkg', 'install', 'acme/tiny-model', '--trust-publisher'])
    const models = join(work, 'ollama-models')
    const out = await json<{ ollama: { model: string, modelsDir: string } }>(b, ['pkg', 'export', 'acme/tiny-model', '--ollama', '--model', 'tiny:q4', '--models-dir', models])
    assert.deepEqual(out.ollama, { model: 'tiny:q4', modelsDir: models })
    const manifest = JSON.parse(readFileSync(join(models, 'manifests', 'registry.ollama.ai', 'library', 'tiny', 'q4'), 'utf8')) as { layers: Array<{ mediaType: string, digest: string }> }
    assert.ok(manifest.layers.some(l => l.mediaType === 'application/vnd.ollama.image.model'))
    const notModel = await runAgora(['pkg', 'export', 'acme/summarize-prompts', '--ollama', '--models-dir', models, '--data-dir', b.dataDir])
    assert.equal(notModel.code, 1)
    assert.match(notModel.stderr, /^Error \[E1450\]: /)
  })

  test('bad input and refusals exit non-zero with their code', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['pkg', 'install', 'NotASpec'], /^Error \[E1472\]: /],
      [['pkg', 'search', 'x', '--timeout', 'later'], /^Error \[E1473\]: /],
      [['pkg', 'export', 'acme/summarize-prompts'], /^Error \[E1474\]: /],
      [['pkg', 'publish', join(work, 'no-such-folder'), '--name', 'acme/x', '--version', '1.0.0'], /^Error \[E1430\]: /],
      [['pkg', 'info', 'acme/never-published'], /^Error \[E14\d\d\]: /],
      [['pkg', 'remove', 'acme/never-published'], /^Error \[E14\d\d\]: /]
    ]
    for (const [args, error] of cases) {
      const run = await runAgora([...args, '--data-dir', b.dataDir])
      assert.notEqual(run.code, 0, args.join(' '))
      assert.match(run.stderr, error, `${args.join(' ')}: ${run.stderr}`)
    }
  })
})
