/**
 * `agora pkg`'s flag handling and progress line, without a node: the
 * `--version` of `pkg publish` kept for the package, paths made absolute
 * against the CLI's directory, each bad flag refused with its code, and the
 * bar's bytes, rate, ETA and providers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { checkSpec, exportBody, packageVersionArgv, parseDependencies, publishBody, searchQuery, type PublishFlags } from '../../../src/cli/pkg-args.ts'
import { RateMeter, TransferProgressView, barAllowed, renderTransfer } from '../../../src/cli/transfer-progress.ts'

const code = (c: string) => (err: unknown) => err instanceof AgoraError && err.code === c

test('--version after `pkg publish` is the package\'s; anywhere else it stays agora\'s', () => {
  assert.deepEqual(packageVersionArgv(['pkg', 'publish', './p', '--name', 'a/b', '--version', '1.2.0']), ['pkg', 'publish', './p', '--name', 'a/b', '--package-version', '1.2.0'])
  assert.deepEqual(packageVersionArgv(['-d', '/tmp/x', 'pkg', 'publish', './p', '--version=1.2.0', '--json']), ['-d', '/tmp/x', 'pkg', 'publish', './p', '--package-version=1.2.0', '--json'])
  assert.deepEqual(packageVersionArgv(['--version']), ['--version'])
  assert.deepEqual(packageVersionArgv(['pkg', 'install', 'a/b', '--version']), ['pkg', 'install', 'a/b', '--version'])
  assert.deepEqual(packageVersionArgv(['--config', 'pkg', 'publish', '--version', '1']), ['--config', 'pkg', 'publish', '--version', '1'])
  // after `--` a word is an operand, even one spelled --version
  assert.deepEqual(packageVersionArgv(['pkg', 'publish', '--version', '1.0.0', '--', '--version']), ['pkg', 'publish', '--package-version', '1.0.0', '--', '--version'])
})

test('publish without --version names --version, as the user writes it', async () => {
  await assert.rejects(publishBody('p', { name: 'acme/x', kind: 'other', dep: [], owner: [] }, '/home/me'), (err: unknown) => err instanceof AgoraError && err.code === 'E1473' && err.what === '--version is required')
})

test('publish: the path made absolute against the CLI\'s directory; tags, dependencies, compat and owners from their flags', async () => {
  const flags: PublishFlags = { name: 'acme/llama-3b-q4', packageVersion: '1.0.0', kind: 'model', tags: 'llama, gguf,,q4', dep: ['acme/tokenizer=^1.0'], owner: [], engine: 'llama.cpp', contextLength: '8192', license: 'MIT' }
  assert.deepEqual(await publishBody('models/llama.gguf', flags, '/home/me'), {
    path: '/home/me/models/llama.gguf', name: 'acme/llama-3b-q4', version: '1.0.0', kind: 'model', license: 'MIT', tags: ['llama', 'gguf', 'q4'],
    dependencies: { 'acme/tokenizer': '^1.0' }, compat: { engine: 'llama.cpp', contextLength: 8192 }
  })
  assert.equal((await publishBody('/abs/p', { ...flags, tags: undefined, dep: [], engine: undefined, contextLength: undefined }, '/home/me')).path, '/abs/p')
  const bad: Array<[Partial<PublishFlags>, string]> = [[{ name: 'Acme/X' }, '--name'], [{ packageVersion: '1.0' }, '--version'], [{ kind: 'weights' }, '--kind'], [{ contextLength: 'lots' }, '--engine/--base-model/--quantisation/--context-length'], [{ dep: ['acme/x=not a range'] }, '--dep']]
  for (const [change, flag] of bad) {
    await assert.rejects(publishBody('p', { ...flags, ...change }, '/home/me'), (err: unknown) => err instanceof AgoraError && err.code === 'E1473' && err.what.startsWith(`${flag}:`), flag)
  }
  assert.throws(() => parseDependencies(['acme/x']), code('E1473'))
})

test('search: words joined, --timeout as a duration in ms, bad values refused naming the flag', async () => {
  assert.deepEqual(await searchQuery(['summarize', 'en'], { kind: 'prompt', limit: '10', timeout: '3s' }), { q: 'summarize en', kind: 'prompt', limit: '10', timeout: '3000' })
  assert.deepEqual(await searchQuery([], { local: true }), { q: '', local: '1' })
  await assert.rejects(searchQuery(['x'], { timeout: 'soon' }), code('E1473'))
  await assert.rejects(searchQuery(['x'], { timeout: '2m' }), (err: unknown) => err instanceof AgoraError && err.code === 'E1473' && err.what.startsWith('--timeout:'))
  await assert.rejects(searchQuery(['x'], { kind: 'weights' }), (err: unknown) => err instanceof AgoraError && err.what.startsWith('--kind:'))
  await assert.rejects(searchQuery(['x'], { limit: '0' }), (err: unknown) => err instanceof AgoraError && err.what.startsWith('--limit:'))
})

test('export: exactly one target; --car made absolute; --model only with --ollama; specs checked', async () => {
  assert.deepEqual(await exportBody('acme/x', { car: 'out.car' }, '/home/me'), { spec: 'acme/x', car: '/home/me/out.car' })
  assert.deepEqual(await exportBody('acme/x', { ollama: true, model: 'x:q4', modelsDir: 'models' }, '/home/me'), { spec: 'acme/x', ollama: { model: 'x:q4', modelsDir: '/home/me/models' } })
  await assert.rejects(exportBody('acme/x', {}), code('E1474'))
  await assert.rejects(exportBody('acme/x', { car: 'a.car', ollama: true }), code('E1474'))
  await assert.rejects(exportBody('acme/x', { car: 'a.car', model: 'm' }), code('E1474'))
  assert.equal(await checkSpec('acme/x@^1.2'), 'acme/x@^1.2')
  assert.equal(await checkSpec('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
  for (const bad of ['acme', 'acme/X', 'acme/x@nope', 'acme/x@']) await assert.rejects(checkSpec(bad), code('E1472'), bad)
})

test('the progress line: phase, bar, bytes, rate before the ETA, providers when installing', () => {
  const line = renderTransfer({ operation: 'install', name: 'acme/x', phase: 'fetch', bytes: 4 * 1048576, totalBytes: 16 * 1048576, providers: 2 }, 2 * 1048576, 6000, { unicode: false })
  assert.equal(line, 'fetching [######------------------] 4.0 MiB/16.0 MiB 25% · 2.0 MiB/s · ETA 6s · 2 providers')
  assert.equal(renderTransfer({ operation: 'publish', name: 'acme/x', phase: 'done', bytes: 10, totalBytes: 10, providers: 0 }, undefined, undefined, { unicode: false }), 'done [########################] 10 B/10 B 100%')
  let now = 0
  const meter = new RateMeter(() => now)
  assert.equal(meter.rate(0), undefined)
  now = 500
  assert.equal(meter.rate(1000), 2000)
})

test('the view redraws one line on a terminal; no bar for pipes, --json or --quiet', () => {
  const written: string[] = []
  let now = 0
  const view = new TransferProgressView({ isTTY: true, columns: 200, write: text => written.push(text) }, () => now)
  view.update({ operation: 'install', name: 'acme/x', phase: 'fetch', bytes: 0, totalBytes: 2048, providers: 1 })
  now = 1000
  view.update({ operation: 'install', name: 'acme/x', phase: 'fetch', bytes: 1024, totalBytes: 2048, providers: 2 })
  view.end()
  assert.ok(written.slice(0, 2).every(w => w.startsWith('\r\x1b[2K')))
  assert.match(written[1] as string, /acme\/x fetching .* 1\.0 KiB\/2\.0 KiB 50% · 1\.0 KiB\/s · ETA 1s · 2 providers$/)
  assert.equal(written.at(-1), '\n')
  const tty = { isTTY: true }
  assert.equal(barAllowed({ format: 'table', quiet: false }, tty, tty), true)
  assert.equal(barAllowed({ format: 'json', quiet: false }, tty, tty), false)
  assert.equal(barAllowed({ format: 'table', quiet: true }, tty, tty), false)
  assert.equal(barAllowed({ format: 'table', quiet: false }, { isTTY: false }, tty), false)
})
