/**
 * The package store's files: written atomically out of real UnixFS blocks
 * (FsBlockstore), checked against the manifest's sha256 on the way;
 * nothing half-written is left; verify re-hashes; the Ollama export writes
 * the store layout and manifest Ollama reads.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { importFile } from 'ipfs-unixfs-importer'
import { isAgoraError } from '../../../src/errors.ts'
import { IMPORT_PROFILE } from '../../../src/packages/constants.ts'
import { verifyInstalled } from '../../../src/packages/install/verify.ts'
import { fileTarget, manifestPathOf, writeAtomic, writePackageFiles } from '../../../src/packages/install/write-files.ts'
import type { Manifest, ManifestFile } from '../../../src/packages/manifest.ts'
import { exportOllama, OLLAMA_MEDIA_TYPES, type OllamaManifest } from '../../../src/packages/ollama.ts'
import type { InstalledPackage } from '../../../src/packages/types.ts'
import { tempDir } from '../../harness/temp.ts'

const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')

async function rejectsCode (promise: Promise<unknown>, code: string): Promise<void> {
  try { await promise } catch (err) {
    assert.ok(isAgoraError(err), String(err))
    assert.equal(err.code, code, err.message)
    return
  }
  assert.fail(`expected ${code}`)
}

describe('install: files in the package store', () => {
  const dir = tempDir('agora-install-files-')
  const blocks = new FsBlockstore(join(dir, 'blocks'))
  const contents: Record<string, Uint8Array> = {
    'model.gguf': randomBytes(3 * 1024 * 1024 + 17),
    'template.txt': new TextEncoder().encode('{{ .Prompt }}'),
    'params.json': new TextEncoder().encode('{"temperature":0.2}'),
    LICENSE: new TextEncoder().encode('MIT'),
    'docs/readme.md': new TextEncoder().encode('# model'),
    // a file of the package's own with the name the store once gave its manifest
    'manifest.json': new TextEncoder().encode('{"mine":true}')
  }
  const files: ManifestFile[] = []
  const manifestWith = (over: Partial<Manifest> = {}): Manifest => ({
    v: 1, name: 'acme/tiny-llama', version: '1.0.0', kind: 'model', description: '', license: 'MIT', tags: [], created: 1,
    publisher: '12D3KooWPublisher', files, dependencies: {}, compat: { quantisation: 'Q4_K_M' }, ...over
  })
  const installedAt = (path: string): InstalledPackage => ({ cid: 'bafy-test', name: 'acme/tiny-llama', version: '1.0.0', dir: path, size: 0, pinned: false, state: 'installed', installedAt: 1, usedAt: 1 })

  before(async () => {
    await blocks.open()
    for (const [path, bytes] of Object.entries(contents)) {
      const entry = await importFile({ path, content: bytes }, blocks, IMPORT_PROFILE)
      files.push({ path, cid: entry.cid.toString(), size: bytes.byteLength, sha256: sha(bytes), mediaType: path.endsWith('.gguf') ? OLLAMA_MEDIA_TYPES.model : 'application/octet-stream' })
    }
  })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  test('every file lands whole (its own manifest.json too), the manifest beside the folder, no temporary file left', async () => {
    const target = join(dir, 'pkg-ok')
    await writePackageFiles(blocks, manifestWith(), target)
    for (const [path, bytes] of Object.entries(contents)) assert.equal(sha(readFileSync(join(target, path))), sha(bytes), path)
    assert.equal(JSON.parse(readFileSync(manifestPathOf(target), 'utf8')).name, 'acme/tiny-llama')
    assert.deepEqual(readdirSync(target).filter(name => name.endsWith('.part')), [])
    assert.deepEqual(await verifyInstalled(installedAt(target), manifestWith()), { cid: 'bafy-test', name: 'acme/tiny-llama', version: '1.0.0', ok: true, bad: [] })
  })

  test('a file whose bytes do not hash to the manifest sha256 is refused (E1449) and not left in place', async () => {
    const target = join(dir, 'pkg-bad')
    const lying = files.map(f => f.path === 'LICENSE' ? { ...f, sha256: 'b'.repeat(64) } : f)
    await rejectsCode(writePackageFiles(blocks, manifestWith({ files: lying }), target), 'E1449')
    assert.equal(existsSync(join(target, 'LICENSE')), false)
    assert.equal(existsSync(manifestPathOf(target)), false)
    assert.deepEqual(readdirSync(target).filter(name => name.endsWith('.part')), [])
  })

  test('an atomic write that fails leaves the old file as it was', async () => {
    const target = join(dir, 'atomic', 'x.bin')
    mkdirSync(join(dir, 'atomic'), { recursive: true })
    writeFileSync(target, 'old')
    await assert.rejects(writeAtomic(target, async handle => { await handle.write(new TextEncoder().encode('half')); throw new Error('disk full') }), /disk full/)
    assert.equal(readFileSync(target, 'utf8'), 'old')
    assert.deepEqual(readdirSync(join(dir, 'atomic')), ['x.bin'])
  })

  test('a path that would leave the package folder is refused', () => {
    assert.throws(() => fileTarget('/pkgs/a', '../b/evil'), (err: unknown) => isAgoraError(err) && err.code === 'E1449')
    assert.equal(fileTarget('/pkgs/a', 'docs/readme.md'), '/pkgs/a/docs/readme.md')
  })

  test('verify names a changed file and a missing one', async () => {
    const target = join(dir, 'pkg-verify')
    await writePackageFiles(blocks, manifestWith(), target)
    writeFileSync(join(target, 'params.json'), '{"temperature":0.9}')
    rmSync(join(target, 'docs', 'readme.md'))
    const report = await verifyInstalled(installedAt(target), manifestWith())
    assert.equal(report.ok, false)
    assert.deepEqual(report.bad.sort(), ['docs/readme.md', 'params.json'])
  })

  test('Ollama export: blobs named by sha256, a config blob and a v2 manifest with Ollama\'s layer media types', async () => {
    const target = join(dir, 'pkg-ollama')
    await writePackageFiles(blocks, manifestWith(), target)
    const modelsDir = join(dir, 'ollama-models')
    const result = await exportOllama(installedAt(target), manifestWith(), { modelsDir })
    assert.equal(result.model, 'tiny-llama:latest')
    const manifestPath = join(modelsDir, 'manifests', 'registry.ollama.ai', 'library', 'tiny-llama', 'latest')
    const written = JSON.parse(readFileSync(manifestPath, 'utf8')) as OllamaManifest
    assert.equal(written.schemaVersion, 2)
    assert.equal(written.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
    assert.equal(written.config.mediaType, 'application/vnd.docker.container.image.v1+json')
    assert.deepEqual(written.layers.map(l => l.mediaType), [
      'application/vnd.ollama.image.model', 'application/vnd.ollama.image.template', 'application/vnd.ollama.image.params', 'application/vnd.ollama.image.license'
    ])
    assert.equal(written.layers[0]?.digest, `sha256:${sha(contents['model.gguf'] as Uint8Array)}`)
    for (const layer of [written.config, ...written.layers]) {
      const blob = join(modelsDir, 'blobs', layer.digest.replace(':', '-'))
      const bytes = readFileSync(blob)
      assert.equal(`sha256:${sha(bytes)}`, layer.digest, 'every blob hashes to its name')
      assert.equal(bytes.byteLength, layer.size)
    }
    const config = JSON.parse(readFileSync(join(modelsDir, 'blobs', written.config.digest.replace(':', '-')), 'utf8'))
    assert.equal(config.model_format, 'gguf')
    assert.equal(config.file_type, 'Q4_K_M')
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: written.layers.map(l => l.digest) })
    // same filesystem: the model blob is a hard link, not a second copy
    assert.equal(statSync(join(target, 'model.gguf')).ino, statSync(join(modelsDir, 'blobs', `sha256-${sha(contents['model.gguf'] as Uint8Array)}`)).ino)
    // exporting again under another name reuses the blobs
    assert.equal((await exportOllama(installedAt(target), manifestWith(), { modelsDir, model: 'tl:q4' })).model, 'tl:q4')
    assert.ok(existsSync(join(modelsDir, 'manifests', 'registry.ollama.ai', 'library', 'tl', 'q4')))
  })

  test('Ollama export refuses a non-model package (E1450), a bad model name (E1452) and a changed GGUF file (E1449)', async () => {
    const target = join(dir, 'pkg-ollama-bad')
    await writePackageFiles(blocks, manifestWith(), target)
    const modelsDir = join(dir, 'ollama-bad')
    await rejectsCode(exportOllama(installedAt(target), manifestWith({ kind: 'prompt' }), { modelsDir }), 'E1450')
    await rejectsCode(exportOllama(installedAt(target), manifestWith({ files: files.filter(f => !f.path.endsWith('.gguf')) }), { modelsDir }), 'E1450')
    await rejectsCode(exportOllama(installedAt(target), manifestWith(), { modelsDir, model: 'Bad Name' }), 'E1452')
    const gguf = readFileSync(join(target, 'model.gguf'))
    gguf[100] = (gguf[100] as number) ^ 0xff
    writeFileSync(join(target, 'model.gguf'), gguf)
    await rejectsCode(exportOllama(installedAt(target), manifestWith(), { modelsDir }), 'E1449')
    assert.equal(existsSync(join(modelsDir, 'manifests')), false, 'nothing was written')
  })
})
