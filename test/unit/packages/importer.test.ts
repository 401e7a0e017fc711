/** The importer: folder walk, refusals by stat, plain sha256 and media types, CIDs equal to the reference importer's. */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { importBytes } from 'ipfs-unixfs-importer'
import { FsBlockstore } from 'blockstore-fs'
import { CID } from 'multiformats/cid'
import { AgoraError } from '../../../src/errors.ts'
import { GGUF_MEDIA_TYPE, importPath, mediaTypeOf, planImport } from '../../../src/packages/importer.ts'
import { IMPORT_PROFILE } from '../../../src/packages/constants.ts'
import { tempDir } from '../../harness/temp.ts'

/** Blocks in a Map: what the importer needs of a blockstore (put), and has() to check. */
class MemoryBlockstore {
  readonly blocks = new Map<string, Uint8Array>()
  async put (cid: CID, bytes: Uint8Array): Promise<CID> { this.blocks.set(cid.toString(), bytes); return cid }
  async has (cid: CID): Promise<boolean> { return this.blocks.has(cid.toString()) }
}

const LIMITS = { maxFiles: 100, maxPackageBytes: 64 * 1024 * 1024 }
const dirs: string[] = []
after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }) })

function dir (): string {
  const d = tempDir('agora-importer-')
  dirs.push(d)
  return d
}

function hasCode (code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof AgoraError, String(err))
    assert.equal(err.code, code, err.message)
    return true
  }
}

test('a folder: every file, sorted by path, with its own UnixFS root, sha256 and media type', async () => {
  const root = dir()
  mkdirSync(join(root, 'b', 'deep'), { recursive: true })
  const big = randomBytes(3 * 1024 * 1024 + 17)
  writeFileSync(join(root, 'z.md'), '# hello\n')
  writeFileSync(join(root, 'a.json'), '{"x":1}')
  writeFileSync(join(root, 'b', 'deep', 'model.gguf'), big)
  writeFileSync(join(root, 'b', 'empty'), '')
  // a link that stays inside the folder counts as the file it points to
  symlinkSync(join(root, 'z.md'), join(root, 'b', 'link.md'))
  const blockstore = new MemoryBlockstore()
  const seen: number[] = []
  const result = await importPath(blockstore, root, { ...LIMITS, onProgress: bytes => { seen.push(bytes) } })
  assert.deepEqual(result.files.map(f => f.path), ['a.json', 'b/deep/model.gguf', 'b/empty', 'b/link.md', 'z.md'])
  assert.equal(result.totalBytes, 8 + 7 + big.length + 8)
  const gguf = result.files[1]
  assert.ok(gguf !== undefined)
  assert.equal(gguf.size, big.length)
  assert.equal(gguf.sha256, createHash('sha256').update(big).digest('hex'))
  assert.equal(gguf.mediaType, GGUF_MEDIA_TYPE)
  assert.equal(result.files[0]?.mediaType, 'application/json')
  assert.equal(result.files[2]?.mediaType, 'application/octet-stream')
  assert.equal(result.files[4]?.mediaType, 'text/markdown')
  // the same bytes give the CID the reference importer gives with the same profile
  const reference = await importBytes(big, new MemoryBlockstore(), IMPORT_PROFILE)
  assert.equal(gguf.cid, reference.cid.toString())
  assert.equal(CID.parse(gguf.cid).version, 1)
  // and its blocks are in the blockstore
  assert.ok(await blockstore.has(CID.parse(gguf.cid)))
  assert.equal(result.files[3]?.cid, result.files[4]?.cid)
  assert.equal(seen.at(-1), result.totalBytes)
  assert.ok(seen.every((bytes, i) => i === 0 || bytes >= (seen[i - 1] ?? 0)), 'progress only grows')
})

test('CIDs are stable: the same bytes give the same CIDs in another blockstore, on disk', async () => {
  const root = dir()
  writeFileSync(join(root, 'one.txt'), 'one')
  writeFileSync(join(root, 'exact.bin'), randomBytes(1024 * 1024))
  const a = await importPath(new MemoryBlockstore(), root, LIMITS)
  const store = new FsBlockstore(join(dir(), 'blocks'))
  await store.open()
  const b = await importPath(store, root, LIMITS)
  assert.deepEqual(b, a)
  const reference = await importBytes(new TextEncoder().encode('one'), new MemoryBlockstore(), IMPORT_PROFILE)
  assert.equal(a.files.find(f => f.path === 'one.txt')?.cid, reference.cid.toString())
})

test('a single file is published under its own name', async () => {
  const root = dir()
  const file = join(root, 'prompt.txt')
  writeFileSync(file, 'Summarise: {{text}}')
  const result = await importPath(new MemoryBlockstore(), file, LIMITS)
  assert.equal(result.files.length, 1)
  assert.equal(result.files[0]?.path, 'prompt.txt')
  assert.equal(result.files[0]?.mediaType, 'text/plain')
})

test('refusals, each with its code, before any byte is imported', async () => {
  const root = dir()
  await assert.rejects(planImport(join(root, 'missing'), LIMITS), hasCode('E1430'))
  const empty = join(root, 'empty')
  mkdirSync(join(empty, 'sub'), { recursive: true })
  await assert.rejects(planImport(empty, LIMITS), hasCode('E1431'))

  const leaky = join(root, 'leaky')
  mkdirSync(leaky)
  writeFileSync(join(leaky, 'ok.txt'), 'ok')
  writeFileSync(join(root, 'secret.txt'), 'secret')
  symlinkSync(join(root, 'secret.txt'), join(leaky, 'secret.txt'))
  await assert.rejects(planImport(leaky, LIMITS), hasCode('E1432'))
  const dangling = join(root, 'dangling')
  mkdirSync(dangling)
  symlinkSync(join(root, 'nowhere'), join(dangling, 'x'))
  await assert.rejects(planImport(dangling, LIMITS), hasCode('E1432'))

  const many = join(root, 'many')
  mkdirSync(many)
  for (let i = 0; i < 4; i++) writeFileSync(join(many, `f${i}`), String(i))
  await assert.rejects(planImport(many, { ...LIMITS, maxFiles: 3 }), hasCode('E1433'))
  assert.equal((await planImport(many, { ...LIMITS, maxFiles: 4 })).files.length, 4)

  const big = join(root, 'big')
  mkdirSync(big)
  writeFileSync(join(big, 'a'), Buffer.alloc(600))
  writeFileSync(join(big, 'b'), Buffer.alloc(500))
  const err = await planImport(big, { ...LIMITS, maxPackageBytes: 1000 }).catch((e: unknown) => e)
  assert.ok(err instanceof AgoraError && err.code === 'E1434', String(err))
  assert.equal(err.details?.totalBytes, 1100)
})

test('a block store that cannot write is E1438', async () => {
  const root = dir()
  writeFileSync(join(root, 'a.txt'), 'a')
  // a blockstore rooted at a regular file: every put fails in mkdir (ENOTDIR), even as root
  writeFileSync(join(root, 'not-a-folder'), '')
  const broken = new FsBlockstore(join(root, 'not-a-folder'))
  await assert.rejects(importPath(broken, join(root, 'a.txt'), LIMITS), hasCode('E1438'))
})

test('media types: by extension, .gguf as Ollama names it, octet-stream otherwise', () => {
  assert.equal(mediaTypeOf('x/MODEL.GGUF'), GGUF_MEDIA_TYPE)
  assert.equal(mediaTypeOf('a.yaml'), 'text/yaml')
  assert.equal(mediaTypeOf('weights.safetensors'), 'application/octet-stream')
  assert.equal(mediaTypeOf('README'), 'application/octet-stream')
})
