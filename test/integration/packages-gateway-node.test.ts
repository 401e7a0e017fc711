/**
 * The gateway and CARs on real nodes: what node A publishes, its HTTP port
 * serves at /ipfs/ without a token; A's CAR of the package imports on node
 * B (never connected to A: the CAR is all it has), installs, and then B's
 * gateway serves the same bytes.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CarReader } from '@ipld/car'
import type { AgoraNode } from '../../src/node.ts'
import { TestSwarm } from '../harness/nodes.ts'
import { tempDir } from '../harness/temp.ts'
import { writeFolder } from '../harness/install-nodes.ts'

const MiB = 1024 * 1024

function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

describe('packages: gateway and CAR on real nodes', () => {
  const swarm = new TestSwarm()
  let a: AgoraNode, b: AgoraNode
  const scratch = tempDir('agora-car-nodes-')
  const big = new Uint8Array(randomBytes(2 * MiB + 77))
  let folder: string

  before(async () => {
    a = await swarm.add()
    b = await swarm.add()
    folder = writeFolder({ 'weights.bin': big, 'notes.txt': 'hello\n' })
  })
  after(async () => {
    await swarm.stop()
    rmSync(scratch, { recursive: true, force: true })
    rmSync(folder, { recursive: true, force: true })
  })

  test('publish on A, fetch from its /ipfs/ without a token; export a CAR, import it on B, and B serves it too', async () => {
    const published = await a.components.packages.publish({ path: folder, name: 'acme/weights', version: '0.1.0', kind: 'model' })
    const weights = published.manifest.files.find(file => file.path === 'weights.bin')
    assert.ok(weights !== undefined)

    const raw = await fetch(`${a.apiUrl}/ipfs/${published.cid}?format=raw`)
    assert.equal(raw.status, 200)
    assert.equal(raw.headers.get('content-type'), 'application/vnd.ipld.raw')
    const car = await fetch(`${a.apiUrl}/ipfs/${weights.cid}`, { headers: { accept: 'application/vnd.ipld.car' } })
    assert.equal(car.status, 200)
    const reader = await CarReader.fromBytes(new Uint8Array(await car.arrayBuffer()))
    let carBytes = 0
    for await (const block of reader.blocks()) carBytes += block.bytes.length
    assert.ok(carBytes > big.length, 'the CAR carries the whole file')

    const out = join(scratch, 'weights.car')
    const exported = await a.components.packages.exportCar('acme/weights@0.1.0', out)
    assert.equal(exported.cid, published.cid)
    assert.equal((await fetch(`${b.apiUrl}/ipfs/${weights.cid}?format=raw`)).status, 404)

    const imported = await b.components.packages.importCar(out)
    assert.deepEqual(imported, { cid: published.cid, name: 'acme/weights', version: '0.1.0', blocks: exported.blocks })
    const installed = b.components.packages.list().find(pkg => pkg.cid === published.cid)
    assert.equal(installed?.state, 'installed')
    assert.equal(sha256Hex(readFileSync(join(installed.dir, 'weights.bin'))), weights.sha256)
    const fromB = await fetch(`${b.apiUrl}/ipfs/${weights.cid}?format=car&entity-bytes=0:*`)
    assert.equal(fromB.status, 200)
    assert.equal(fromB.headers.get('content-type'), 'application/vnd.ipld.car; version=1; order=dfs; dups=n')
  })
})
