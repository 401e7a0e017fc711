/**
 * Installing packages between real nodes on loopback: fetched from every
 * provider at once over /agora/blocks/1, verified, written atomically; an
 * interrupted install resumes without fetching held blocks again; the
 * publisher's reputation gates it; verify sees a changed byte; gc collects
 * the least recently used unpinned package and keeps the pinned.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { isAgoraError } from '../../src/errors.ts'
import { fileRoots, heldBlocks } from '../../src/packages/install/cache.ts'
import { manifestPathOf } from '../../src/packages/install/write-files.ts'
import type { TransferProgress } from '../../src/packages/types.ts'
import { connectInstallNodes, createInstallNode, createInstallNodes, publishTo, writeFolder, type InstallNode } from '../harness/install-nodes.ts'

const MiB = 1024 * 1024

async function rejectsCode (promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise
  } catch (err) {
    assert.ok(isAgoraError(err), `not an AgoraError: ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected ${code}`)
}

function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

describe('packages: install from several providers', () => {
  let a: InstallNode, b: InstallNode, c: InstallNode
  let stop: () => Promise<void>
  const folders: string[] = []

  before(async () => {
    const made = await createInstallNodes(3, { bitswapBlockTimeoutMs: 2000 })
    stop = made.stop;
    [a, b, c] = made.nodes as [InstallNode, InstallNode, InstallNode]
    await connectInstallNodes(c, a)
    await connectInstallNodes(c, b)
  })
  after(async () => {
    await stop()
    for (const dir of folders) rmSync(dir, { recursive: true, force: true })
  })

  function folder (files: Record<string, Uint8Array | string>): string {
    const dir = writeFolder(files)
    folders.push(dir)
    return dir
  }

  test('A and B hold a package; C installs it from both, and the files hash as the manifest says', async () => {
    const big = randomBytes(12 * MiB + 123)
    const small = 'summarise this: {{text}}\n'
    const pkg = await publishTo(a, [a, b], [a, b, c], folder({ 'model.bin': big, 'prompt.txt': small }), { name: 'acme/two-files', version: '1.0.0' })
    const progress: TransferProgress[] = []
    const installed = await c.installer.install({ spec: 'acme/two-files@^1', onProgress: p => progress.push(p) })
    assert.equal(installed.state, 'installed')
    assert.equal(installed.cid, pkg.cid)
    assert.equal(installed.dir, join(c.dataDir, 'packages', 'acme', 'two-files', '1.0.0'))
    assert.equal(sha256Hex(readFileSync(join(installed.dir, 'model.bin'))), sha256Hex(big))
    assert.equal(readFileSync(join(installed.dir, 'prompt.txt'), 'utf8'), small)
    assert.deepEqual(JSON.parse(readFileSync(manifestPathOf(installed.dir), 'utf8')).files, pkg.manifest.files)
    assert.ok(a.blocks.stats.served > 0 && b.blocks.stats.served > 0, `both providers served blocks (A ${a.blocks.stats.served}, B ${b.blocks.stats.served})`)
    const fetch = progress.filter(p => p.phase === 'fetch')
    assert.equal(fetch.at(-1)?.providers, 2)
    assert.ok((fetch.at(-1)?.bytes ?? 0) >= 12 * MiB + 123 + small.length, 'every byte came as a fetched block')
    assert.equal(progress.at(-1)?.phase, 'done')
    assert.deepEqual((await c.installer.verify('acme/two-files')).map(r => r.ok), [true])
  })

  test('an install interrupted mid-fetch resumes with the blocks it holds, fetching only the rest', async () => {
    const data = randomBytes(24 * MiB)
    const pkg = await publishTo(a, [a, b], [a, b, c], folder({ 'weights.bin': data }), { name: 'acme/resume', version: '2.0.0' })
    const roots = fileRoots(pkg.manifest)
    const total = (await heldBlocks(a.helia.blockstore, roots)).size
    const abort = new AbortController()
    await rejectsCode(c.installer.install({
      spec: 'acme/resume@2.0.0',
      signal: abort.signal,
      onProgress: p => { if (p.phase === 'fetch' && p.bytes >= 6 * MiB) abort.abort() }
    }), 'E1447')
    assert.equal(c.installer.list().find(p => p.cid === pkg.cid)?.state, 'fetching')
    const held = (await heldBlocks(c.helia.blockstore, roots)).size
    assert.ok(held > 1 && held < total, `some blocks held after the abort: ${held} of ${total}`)
    const servedBefore = a.blocks.stats.served + b.blocks.stats.served
    const installed = await c.installer.install({ spec: pkg.cid })
    const servedNow = a.blocks.stats.served + b.blocks.stats.served - servedBefore
    assert.equal(servedNow, total - held, 'only the missing blocks were fetched')
    assert.equal(installed.state, 'installed')
    assert.equal(sha256Hex(readFileSync(join(installed.dir, 'weights.bin'))), sha256Hex(data))
  })

  test('remove while the package is being installed is refused (E1454); the install completes', async () => {
    const data = randomBytes(16 * MiB)
    const pkg = await publishTo(a, [a, b], [a, b, c], folder({ 'busy.bin': data }), { name: 'acme/busy', version: '1.0.0' })
    let refusal: Promise<unknown> | undefined
    const installed = await c.installer.install({
      spec: 'acme/busy@1.0.0',
      onProgress: p => { if (refusal === undefined && p.phase === 'fetch' && p.bytes > 0) refusal = rejectsCode(c.installer.remove('acme/busy'), 'E1454') }
    })
    assert.ok(refusal !== undefined, 'remove was tried mid-install')
    await refusal
    assert.equal(installed.cid, pkg.cid)
    assert.equal(installed.state, 'installed')
    assert.equal(sha256Hex(readFileSync(join(installed.dir, 'busy.bin'))), sha256Hex(data))
    assert.equal((await c.installer.remove('acme/busy')).cid, pkg.cid, 'removed once the install is over')
  })

  test('a provider that goes away mid-install does not stall it: the rest come from the other', async () => {
    const d = await createInstallNode()
    try {
      await connectInstallNodes(c, d)
      const data = randomBytes(24 * MiB)
      await publishTo(d, [d, b], [b, c, d], folder({ 'big.bin': data }), { name: 'acme/failover', version: '1.0.0' })
      c.reputations.set(d.peerId, 0.9)
      let stopping: Promise<void> | undefined
      const installed = await c.installer.install({
        spec: 'acme/failover',
        onProgress: p => { if (p.phase === 'fetch' && p.bytes >= 4 * MiB && stopping === undefined) stopping = d.node.stop() }
      })
      await stopping
      assert.ok(stopping !== undefined, 'the provider was stopped mid-install')
      assert.equal(sha256Hex(readFileSync(join(installed.dir, 'big.bin'))), sha256Hex(data))
    } finally {
      c.reputations.delete(d.peerId)
      await d.stop()
    }
  })

  test('a publisher under the reputation bar is refused (E1442), and accepted with trustPublisher', async () => {
    const pkg = await publishTo(b, [b], [a, b, c], folder({ 'agent.json': '{"tools":[]}' }), { name: 'shady/agent', version: '0.1.0', kind: 'agent' })
    c.reputations.set(b.peerId, 0.2)
    try {
      const err = await rejectsCode(c.installer.install({ spec: 'shady/agent' }), 'E1442')
      assert.match(err.message + String((err as { why?: string }).why), /0\.20.*0\.5.*--trust-publisher/s)
      assert.equal(c.installer.list().find(p => p.cid === pkg.cid), undefined, 'nothing was fetched or recorded')
      const installed = await c.installer.install({ spec: 'shady/agent', trustPublisher: true })
      assert.equal(readFileSync(join(installed.dir, 'agent.json'), 'utf8'), '{"tools":[]}')
    } finally {
      c.reputations.delete(b.peerId)
    }
  })

  test('verify finds a flipped byte in an installed file', async () => {
    await publishTo(a, [a], [a, b, c], folder({ 'data.csv': 'a,b\n1,2\n', 'readme.md': '# data\n' }), { name: 'acme/dataset', version: '1.0.0', kind: 'dataset' })
    const installed = await c.installer.install({ spec: 'acme/dataset' })
    const path = join(installed.dir, 'data.csv')
    const bytes = readFileSync(path)
    bytes[2] = (bytes[2] as number) ^ 0x01
    writeFileSync(path, bytes)
    const [report] = await c.installer.verify('acme/dataset@1.0.0')
    assert.equal(report?.ok, false)
    assert.deepEqual(report?.bad, ['data.csv'])
  })

  test('a package no provider holds fails with E1446 and keeps its row for a later resume', async () => {
    const lonely = await createInstallNode()
    try {
      const pkg = await publishTo(lonely, [lonely], [lonely, c], folder({ 'x.bin': randomBytes(3000) }), { name: 'acme/unreachable', version: '1.0.0' })
      c.reputations.set(lonely.peerId, 0.9)
      const started = Date.now()
      await rejectsCode(c.installer.install({ spec: 'acme/unreachable' }), 'E1446')
      assert.ok(Date.now() - started < 30_000, 'it gave up after the bitswap timeout')
      assert.equal(c.installer.list().find(p => p.cid === pkg.cid)?.state, 'fetching')
    } finally {
      c.reputations.delete(lonely.peerId)
      await lonely.stop()
    }
  })
})

describe('packages: the cache', () => {
  let a: InstallNode, c: InstallNode
  let stop: () => Promise<void>
  const folders: string[] = []
  before(async () => {
    const made = await Promise.all([createInstallNode(), createInstallNode({ cacheBytes: 3 * MiB })])
    a = made[0]; c = made[1]
    stop = async () => { await c.stop(); await a.stop() }
    await connectInstallNodes(c, a)
  })
  after(async () => {
    await stop()
    for (const dir of folders) rmSync(dir, { recursive: true, force: true })
  })

  test('gc collects the least recently used unpinned package and keeps the pinned one', async () => {
    const publish = async (name: string): Promise<string> => {
      const dir = writeFolder({ 'blob.bin': randomBytes(2 * MiB) })
      folders.push(dir)
      return (await publishTo(a, [a], [a, c], dir, { name, version: '1.0.0' })).cid
    }
    const oldest = await publish('acme/oldest')
    const pinned = await publish('acme/pinned')
    const newest = await publish('acme/newest')
    const first = await c.installer.install({ spec: 'acme/oldest' })
    await c.installer.install({ spec: 'acme/pinned', pin: true })
    // 2 MiB unpinned so far: under 3 MiB; the next unpinned 2 MiB puts it over, and the oldest goes
    await c.installer.install({ spec: 'acme/newest' })
    const left = c.installer.list().map(p => p.cid).sort()
    assert.deepEqual(left, [pinned, newest].sort())
    assert.equal(existsSync(first.dir), false, 'its files are gone')
    const manifest = c.packages.get(oldest)?.manifest
    assert.ok(manifest !== undefined)
    assert.equal((await heldBlocks(c.helia.blockstore, fileRoots(manifest))).size, 0, 'its blocks are gone')
    const pinnedManifest = c.packages.get(pinned)?.manifest
    assert.ok(pinnedManifest !== undefined)
    assert.ok(await c.helia.pins.isPinned(CID.parse(pinnedManifest.files[0]?.cid ?? '')))
    assert.deepEqual((await c.installer.verify()).map(r => r.ok), [true, true])
    // unpinned, it is collectable again, and its Helia pin is gone
    assert.equal((await c.installer.pin('acme/pinned', false)).pinned, false)
    assert.equal(await c.helia.pins.isPinned(CID.parse(pinnedManifest.files[0]?.cid ?? '')), false)
    assert.deepEqual((await c.installer.gc()).removed.map(r => r.name), ['acme/pinned'])
  })

  test('remove deletes an installed package; remove of what is not installed is E1448', async () => {
    const dir = writeFolder({ 'p.txt': 'hello' })
    folders.push(dir)
    await publishTo(a, [a], [a, c], dir, { name: 'acme/removable', version: '3.1.4' })
    const installed = await c.installer.install({ spec: 'acme/removable@3' })
    const removed = await c.installer.remove('acme/removable@3.1.4')
    assert.equal(removed.cid, installed.cid)
    assert.equal(existsSync(installed.dir), false)
    await rejectsCode(c.installer.remove('acme/removable'), 'E1448')
  })
})
