/**
 * The packages room in full nodes (assemble → PackageService): a folder
 * published on A reaches B's catalogue, `info` on B shows it with A as a
 * provider; progress and `package:*` events; a node with packages.enabled
 * false starts without Helia and answers E1436; a restart keeps what was
 * published (Helia's blocks and pins on disk).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AgoraNode } from '../../src/node.ts'
import type { AgoraEventMap } from '../../src/events.ts'
import { CID } from 'multiformats/cid'
import toBuffer from 'it-to-buffer'
import { links } from '../../src/packages/dag-walk.ts'
import { isCode } from '../harness/checks.ts'
import { TestSwarm, tempDir, waitForPeers } from '../harness/nodes.ts'
import { waitFor } from '../harness/wait.ts'

describe('packages in a two-node swarm', () => {
  const swarm = new TestSwarm()
  let a: AgoraNode
  let b: AgoraNode
  const folder = tempDir('agora-pkg-src-')
  swarm.track(folder)

  before(async () => {
    ;[a, b] = await swarm.addMany(2) as [AgoraNode, AgoraNode]
    await waitForPeers(b, 1)
    mkdirSync(join(folder, 'prompts'))
    writeFileSync(join(folder, 'prompts', 'summarize.txt'), 'Summarise in three lines: {{text}}')
    writeFileSync(join(folder, 'README.md'), '# summarize prompts\n')
    // three raw leaves under a dag-pb root: the pin must cover leaves it never reads
    writeFileSync(join(folder, 'weights.bin'), randomBytes(2 * 1024 * 1024 + 1))
  })
  after(async () => { await swarm.stop() })

  test('publish on A: events, then B learns it and info on B shows it', async () => {
    const events: Array<[string, unknown]> = []
    const published = new Promise<AgoraEventMap['package:published']>(resolve => { a.components.events.once('package:published', resolve) })
    a.components.events.on('package:progress', p => { events.push(['progress', p]) })
    const result = await a.components.packages.publish({
      path: folder, name: 'acme/summarize-prompts', version: '1.2.0', kind: 'prompt', license: 'MIT', tags: ['summarize', 'en'], description: 'Prompts that summarise'
    })
    assert.deepEqual(result.manifest.files.map(f => f.path), ['README.md', 'prompts/summarize.txt', 'weights.bin'])
    assert.equal(result.manifest.publisher, a.peerId)
    assert.equal((await published).cid, result.cid)
    assert.equal(events.at(-1)?.[0], 'progress')
    assert.equal((events.at(-1)?.[1] as { phase: string }).phase, 'done')
    // the blocks are A's and pinned there, every one: manifest, file roots, the big file's leaves
    const helia = a.components.packages.helia
    const weights = CID.parse(result.manifest.files[2]?.cid ?? '')
    const leaves = links(weights, await toBuffer(a.components.packages.localBlockstore.get(weights)))
    assert.equal(leaves.length, 3)
    for (const cid of [CID.parse(result.cid), ...result.manifest.files.map(f => CID.parse(f.cid)), ...leaves]) {
      assert.ok(await helia.pins.isPinned(cid), `${cid.toString()} pinned`)
    }

    const info = await waitFor('B to learn the package', async () => await b.components.packages.info('acme/summarize-prompts').catch(() => undefined), { timeoutMs: 30_000 })
    assert.equal(info.summary.cid, result.cid)
    assert.equal(info.summary.publisher, a.peerId)
    assert.equal(info.summary.size, result.size)
    assert.ok(info.summary.providers >= 1, 'A is known as a provider')
    assert.deepEqual(info.versions, ['1.2.0'])
    assert.equal(info.installed, undefined)
    assert.deepEqual(info.manifest, result.manifest)
    // by range and by CID too
    assert.equal((await b.components.packages.info('acme/summarize-prompts@^1')).summary.cid, result.cid)
    assert.equal((await b.components.packages.info(result.cid)).summary.version, '1.2.0')
    await assert.rejects(b.components.packages.info('acme/nothing-like-it'), isCode('E1437'))
  })

  test('A provides the package roots on the DHT: B finds A as a provider of the manifest and of a file', async () => {
    const info = await a.components.packages.info('acme/summarize-prompts@1.2.0')
    for (const root of [info.summary.cid, info.manifest.files[0]?.cid ?? '']) {
      await waitFor(`A as a DHT provider of ${root}`, async () => {
        for await (const provider of b.components.libp2p.contentRouting.findProviders(CID.parse(root), { signal: AbortSignal.timeout(5_000) })) {
          if (provider.id.toString() === a.peerId) return true
        }
        return false
      }, { timeoutMs: 30_000, intervalMs: 200 })
    }
  })

  test('install on B through the service: files from A, package:installed, info shows it installed', async () => {
    const installed = new Promise<AgoraEventMap['package:installed']>(resolve => { b.components.events.once('package:installed', resolve) })
    const result = await b.components.packages.install({ spec: 'acme/summarize-prompts@^1.2' })
    assert.equal(result.state, 'installed')
    assert.equal((await installed).cid, result.cid)
    assert.equal(readFileSync(join(result.dir, 'prompts', 'summarize.txt'), 'utf8'), 'Summarise in three lines: {{text}}')
    const info = await b.components.packages.info(result.cid)
    assert.equal(info.installed?.cid, result.cid)
    assert.deepEqual(b.components.packages.list().map(p => p.cid), [result.cid])
  })

  test('republishing the same content on A is a no-op; other content under the same version is refused', async () => {
    const again = await a.components.packages.publish({
      path: folder, name: 'acme/summarize-prompts', version: '1.2.0', kind: 'prompt', license: 'MIT', tags: ['summarize', 'en'], description: 'Prompts that summarise'
    })
    assert.equal(again.cid, (await a.components.packages.info('acme/summarize-prompts@1.2.0')).summary.cid)
    await assert.rejects(a.components.packages.publish({ path: folder, name: 'acme/summarize-prompts', version: '1.2.0', kind: 'prompt' }), isCode('E1411'))
  })
})

describe('packages off', () => {
  const swarm = new TestSwarm()
  after(async () => { await swarm.stop() })

  test('with packages.enabled false the node starts without Helia and the room answers E1436', async () => {
    const node = await swarm.add({ config: { packages: { enabled: false } } })
    assert.equal(node.components.packages.enabled, false)
    assert.equal(existsSync(join(node.components.dataDir, 'ipfs')), false)
    await assert.rejects(node.components.packages.search({ text: 'x' }), isCode('E1436'))
    assert.throws(() => node.components.packages.list(), isCode('E1436'))
  })
})

describe('packages across a restart', () => {
  const swarm = new TestSwarm()
  after(async () => { await swarm.stop() })

  test('what a node published is still catalogued and pinned after it restarts', async () => {
    const dataDir = tempDir()
    swarm.track(dataDir)
    // beside the data dir: publish never reads inside it (its key and API token)
    const source = tempDir()
    swarm.track(source)
    const file = join(source, 'note.txt')
    writeFileSync(file, 'kept across restarts')
    const first = await swarm.add({ dataDir })
    const result = await first.components.packages.publish({ path: file, name: 'acme/note', version: '0.1.0', kind: 'other' })
    await swarm.stopNode(first)
    const second = await swarm.add({ dataDir })
    assert.equal((await second.components.packages.info('acme/note')).summary.cid, result.cid)
    assert.ok(await second.components.packages.helia.pins.isPinned(CID.parse(result.cid)))
    assert.ok(await second.components.packages.localBlockstore.has(CID.parse(result.manifest.files[0]?.cid ?? '')))
  })
})
