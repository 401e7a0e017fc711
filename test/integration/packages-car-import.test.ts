/**
 * What a CAR import keeps: only the package's own blocks (a block the file
 * carries besides them is not stored, tied to no package), and nothing at
 * all when the install it leads to is refused (a publisher under the
 * reputation bar). Real nodes, real FsBlockstore, a CAR from exportCar.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createReadStream, createWriteStream, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CarWriter } from '@ipld/car/writer'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { exportCar, importCar } from '../../src/packages/car.ts'
import { fileRoots } from '../../src/packages/install/cache.ts'
import { carComponents, localBlocks } from '../harness/car-nodes.ts'
import { isCode } from '../harness/checks.ts'
import { createInstallNodes, publishTo, writeFolder, type InstallNode, type PublishedPackage } from '../harness/install-nodes.ts'
import { tempDir } from '../harness/temp.ts'

const LIMITS = { maxPackageBytes: 1024 ** 3, maxManifestBytes: 256 * 1024 }

/** The CAR at `from` again at `to`, with `extra` blocks after its own. */
async function withExtraBlocks (from: string, to: string, extra: Array<{ cid: CID, bytes: Uint8Array }>): Promise<void> {
  const iterator = await CarBlockIterator.fromIterable(createReadStream(from))
  const { writer, out } = CarWriter.create(await iterator.getRoots())
  const feed = (async () => {
    for await (const block of iterator) await writer.put(block)
    for (const block of extra) await writer.put(block)
    await writer.close()
  })()
  await Promise.all([feed, pipeline(Readable.from(out), createWriteStream(to))])
}

describe('CAR import keeps only what the package needs', () => {
  let a: InstallNode, b: InstallNode
  let stop: () => Promise<void>
  let pkg: PublishedPackage
  let folder: string
  const scratch = tempDir('agora-car-import-')
  // each file is one raw block here: its root is all of it
  const rootsHeld = async (node: InstallNode): Promise<boolean[]> => await Promise.all(fileRoots(pkg.manifest).map(async cid => await localBlocks(node).has(cid)))

  before(async () => {
    const made = await createInstallNodes(2)
    stop = made.stop;
    [a, b] = made.nodes as [InstallNode, InstallNode]
    folder = writeFolder({ 'data.txt': 'the package bytes\n', 'more.txt': 'and some more\n' })
    pkg = await publishTo(a, [a], [a], folder, { name: 'acme/carried', version: '1.0.0' })
  })
  after(async () => {
    await stop()
    rmSync(folder, { recursive: true, force: true })
    rmSync(scratch, { recursive: true, force: true })
  })

  test('a refused install (publisher under the reputation bar) keeps none of the CAR\'s blocks', async () => {
    const out = join(scratch, 'refused.car')
    await exportCar({ blockstore: localBlocks(a), packages: a.packages }, pkg.cid, out)
    b.reputations.set(a.peerId, 0.1)
    try {
      await assert.rejects(importCar(carComponents(b, LIMITS.maxManifestBytes), LIMITS, out), isCode('E1442'))
    } finally {
      b.reputations.delete(a.peerId)
    }
    assert.deepEqual(await rootsHeld(b), [false, false])
  })

  test('a block the CAR carries besides the package is not stored; the package installs', async () => {
    const plain = join(scratch, 'plain.car')
    await exportCar({ blockstore: localBlocks(a), packages: a.packages }, pkg.cid, plain)
    const junkBytes = new TextEncoder().encode('not part of any package')
    const junk = { cid: CID.createV1(raw.code, await sha256.digest(junkBytes)), bytes: junkBytes }
    const padded = join(scratch, 'padded.car')
    await withExtraBlocks(plain, padded, [junk])

    const imported = await importCar(carComponents(b, LIMITS.maxManifestBytes), LIMITS, padded)
    assert.equal(imported.cid, pkg.cid)
    assert.equal(b.installer.list().find(p => p.cid === pkg.cid)?.state, 'installed')
    assert.equal(await localBlocks(b).has(junk.cid), false, 'the extra block was not kept')
    assert.deepEqual(await rootsHeld(b), [true, true])
  })
})
