/**
 * The trustless gateway through the real API server (inject, and a real
 * socket where only a socket shows it) over a real on-disk blockstore:
 * raw blocks and CARs with the spec's headers, dag-scope, entity-bytes,
 * dups, paths, and each bad input refused with its own code.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { rmSync } from 'node:fs'
import { CarReader } from '@ipld/car'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { FsBlockstore } from 'blockstore-fs'
import type { FastifyInstance } from 'fastify'
import { importBytes } from 'ipfs-unixfs-importer'
import toBuffer from 'it-to-buffer'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { buildApiServer, type ControlPlane } from '../../../src/api/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { IMPORT_PROFILE } from '../../../src/packages/constants.ts'
import { tempDir } from '../../harness/temp.ts'

const MiB = 1024 * 1024
const host = { host: '127.0.0.1' }

/** Bytes whose every 1 MiB chunk differs (so no block repeats). */
function distinct (size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251
  return bytes
}

async function carBlocks (body: Uint8Array): Promise<{ roots: string[], cids: string[] }> {
  const reader = await CarReader.fromBytes(body)
  const cids: string[] = []
  for await (const block of reader.blocks()) {
    // every block hashes to its CID
    assert.deepEqual((await sha256.digest(block.bytes)).digest, block.cid.multihash.digest)
    cids.push(block.cid.toString())
  }
  return { roots: (await reader.getRoots()).map(cid => cid.toString()), cids }
}

describe('trustless gateway /ipfs/<cid>', () => {
  let dir: string
  let blockstore: FsBlockstore
  let app: FastifyInstance
  let file: CID
  let leaves: CID[]
  let zeros: CID
  let doc: CID
  const content = distinct(3 * MiB + 10)

  before(async () => {
    dir = tempDir('agora-ipfs-gw-')
    blockstore = new FsBlockstore(dir)
    await blockstore.open()
    file = (await importBytes(content, blockstore, IMPORT_PROFILE)).cid
    leaves = dagPb.decode(await toBuffer(blockstore.get(file))).Links.map(link => link.Hash)
    zeros = (await importBytes(new Uint8Array(3 * MiB), blockstore, IMPORT_PROFILE)).cid
    // a DAG-CBOR document linking to the file, as a manifest does
    const bytes = dagCbor.encode({ name: 'doc', files: [{ path: 'a.bin', cid: file }] })
    doc = CID.createV1(dagCbor.code, await sha256.digest(bytes))
    await blockstore.put(doc, bytes)
    app = await buildApiServer({ control: {} as unknown as ControlPlane, events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), ipfs: { blockstore } }, { token: 'test-token-0123456789abcdef0123456789abcdef' })
  })
  after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('a raw block, by ?format=raw or by Accept, with the spec\'s headers and no token', async () => {
    const leaf = leaves[1] as CID
    const res = await app.inject({ method: 'GET', url: `/ipfs/${leaf.toString()}?format=raw`, headers: host })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.headers['content-type'], 'application/vnd.ipld.raw')
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.equal(res.headers['cache-control'], 'public, max-age=29030400, immutable')
    assert.equal(res.headers['content-disposition'], `attachment; filename="${leaf.toString()}.bin"`)
    assert.equal(res.headers.etag, `"${leaf.toString()}.raw"`)
    assert.equal(res.headers.vary, 'Accept')
    assert.deepEqual(new Uint8Array(res.rawPayload), content.subarray(MiB, 2 * MiB))
    const byAccept = await app.inject({ method: 'GET', url: `/ipfs/${leaf.toString()}`, headers: { ...host, accept: 'text/html;q=0.9, application/vnd.ipld.raw' } })
    assert.equal(byAccept.statusCode, 200)
    assert.equal(byAccept.rawPayload.length, MiB)
    const head = await app.inject({ method: 'HEAD', url: `/ipfs/${leaf.toString()}?format=raw`, headers: host })
    assert.equal(head.statusCode, 200)
    assert.equal(head.headers['content-length'], String(MiB))
    assert.equal(head.rawPayload.length, 0)
    const cached = await app.inject({ method: 'GET', url: `/ipfs/${leaf.toString()}?format=raw`, headers: { ...host, 'if-none-match': `"${leaf.toString()}.raw"` } })
    assert.equal(cached.statusCode, 304)
    const probe = await app.inject({ method: 'GET', url: '/ipfs/bafkqaaa?format=raw', headers: host })
    assert.equal(probe.statusCode, 200)
    assert.equal(probe.rawPayload.length, 0)
  })

  test('a CAR of the whole file, depth first, root first; dag-scope=block is the root alone', async () => {
    const res = await app.inject({ method: 'GET', url: `/ipfs/${file.toString()}?format=car`, headers: host })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.headers['content-type'], 'application/vnd.ipld.car; version=1; order=dfs; dups=n')
    assert.equal(res.headers['content-disposition'], `attachment; filename="${file.toString()}.car"`)
    assert.match(String(res.headers.etag), /^W\/"baf[a-z0-9]+\.car\.[0-9a-f]{16}"$/)
    assert.equal(res.headers['x-ipfs-roots'], file.toString())
    const car = await carBlocks(new Uint8Array(res.rawPayload))
    assert.deepEqual(car.roots, [file.toString()])
    assert.deepEqual(car.cids, [file, ...leaves].map(String))
    assert.equal(leaves.length, 4)
    const block = await app.inject({ method: 'GET', url: `/ipfs/${file.toString()}?format=car&dag-scope=block`, headers: host })
    assert.deepEqual((await carBlocks(new Uint8Array(block.rawPayload))).cids, [file.toString()])
    assert.notEqual(block.headers.etag, res.headers.etag)
    const head = await app.inject({ method: 'HEAD', url: `/ipfs/${file.toString()}`, headers: { ...host, accept: 'application/vnd.ipld.car; version=1; order=dfs; dups=y' } })
    assert.equal(head.statusCode, 200)
    assert.equal(head.headers['content-type'], 'application/vnd.ipld.car; version=1; order=dfs; dups=y')
    assert.equal(head.rawPayload.length, 0)
  })

  test('entity-bytes: only the blocks that hold the range (the root always)', async () => {
    const cases: Array<[string, CID[]]> = [
      [`${MiB}:${MiB + 1}`, [leaves[1] as CID]],
      [`${MiB - 1}:${MiB}`, [leaves[0] as CID, leaves[1] as CID]],
      ['-5:*', [leaves[3] as CID]],
      ['0:*', leaves],
      [`${2 * MiB}:${10 * MiB}`, [leaves[2] as CID, leaves[3] as CID]],
      ['0:-' + String(2 * MiB + 11), [leaves[0] as CID]]
    ]
    for (const [range, expected] of cases) {
      const res = await app.inject({ method: 'GET', url: `/ipfs/${file.toString()}?format=car&entity-bytes=${range}`, headers: host })
      assert.equal(res.statusCode, 200, `${range}: ${res.body}`)
      assert.deepEqual((await carBlocks(new Uint8Array(res.rawPayload))).cids, [file, ...expected].map(String), range)
    }
  })

  test('dups: a repeated block goes out once by default, every time with dups=y', async () => {
    const once = await app.inject({ method: 'GET', url: `/ipfs/${zeros.toString()}?format=car`, headers: host })
    const onceCids = (await carBlocks(new Uint8Array(once.rawPayload))).cids
    assert.equal(onceCids.length, 2)
    const every = await app.inject({ method: 'GET', url: `/ipfs/${zeros.toString()}?format=car&car-dups=y`, headers: host })
    assert.equal(every.headers['content-type'], 'application/vnd.ipld.car; version=1; order=dfs; dups=y')
    const everyCids = (await carBlocks(new Uint8Array(every.rawPayload))).cids
    assert.equal(everyCids.length, 4)
    assert.equal(new Set(everyCids).size, 2)
  })

  test('a path through DAG-CBOR fields: the path blocks first, then the entity; X-Ipfs-Roots names each', async () => {
    const res = await app.inject({ method: 'GET', url: `/ipfs/${doc.toString()}/files/0/cid?format=car&dag-scope=block`, headers: host })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.headers['x-ipfs-roots'], `${doc.toString()},${file.toString()}`)
    const car = await carBlocks(new Uint8Array(res.rawPayload))
    assert.deepEqual(car.roots, [doc.toString()])
    assert.deepEqual(car.cids, [doc.toString(), file.toString()])
    const all = await app.inject({ method: 'GET', url: `/ipfs/${doc.toString()}?format=car`, headers: host })
    assert.deepEqual((await carBlocks(new Uint8Array(all.rawPayload))).cids, [doc, file, ...leaves].map(String))
  })

  test('each bad input has its own code', async () => {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['/ipfs/not-a-cid?format=raw', {}, 400, 'E1460'],
      [`/ipfs/${file.toString()}?format=dag-json`, {}, 400, 'E1461'],
      [`/ipfs/${file.toString()}`, {}, 400, 'E1461'],
      [`/ipfs/${file.toString()}/a?format=raw`, {}, 400, 'E1461'],
      [`/ipfs/${file.toString()}?format=car&dag-scope=most`, {}, 400, 'E1461'],
      [`/ipfs/${file.toString()}?format=car&car-version=2`, {}, 400, 'E1461'],
      [`/ipfs/${file.toString()}`, { accept: 'text/html,*/*;q=0.8' }, 406, 'E1462'],
      [`/ipfs/${file.toString()}`, { accept: 'application/vnd.ipld.car;version=2' }, 406, 'E1462'],
      ['/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw', {}, 404, 'E1463'],
      [`/ipfs/${file.toString()}?format=car&entity-bytes=abc`, {}, 400, 'E1464'],
      [`/ipfs/${file.toString()}?format=car&entity-bytes=9:3`, {}, 400, 'E1464'],
      [`/ipfs/${file.toString()}?format=car&entity-bytes=${10 * MiB}:*`, {}, 400, 'E1464'],
      [`/ipfs/${doc.toString()}/nothing?format=car`, {}, 404, 'E1465'],
      [`/ipfs/${file.toString()}/x?format=car`, {}, 404, 'E1465']
    ]
    for (const [url, headers, status, code] of cases) {
      const res = await app.inject({ method: 'GET', url, headers: { ...host, ...headers } })
      assert.equal(res.statusCode, status, `${url} ${JSON.stringify(headers)}: ${res.body}`)
      assert.equal(res.json().error.code, code, url)
    }
    // the API's Host guard still holds
    const foreign = await app.inject({ method: 'GET', url: `/ipfs/${file.toString()}?format=raw`, headers: { host: 'evil.example' } })
    assert.equal(foreign.statusCode, 403)
  })

  test('a child block missing mid-CAR: the stream breaks instead of ending like a whole CAR', async () => {
    const partial = (await importBytes(distinct(2 * MiB + 1).map(b => b ^ 0x5a), blockstore, IMPORT_PROFILE)).cid
    const [first, second] = dagPb.decode(await toBuffer(blockstore.get(partial))).Links.map(link => link.Hash)
    assert.ok(first !== undefined && second !== undefined)
    await blockstore.delete(second)
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    assert.ok(address !== null && typeof address === 'object')
    const res = await fetch(`http://127.0.0.1:${address.port}/ipfs/${partial.toString()}?format=car`)
    assert.equal(res.status, 200)
    await assert.rejects(async () => await res.arrayBuffer())
    // the node still serves
    const ok = await fetch(`http://127.0.0.1:${address.port}/ipfs/${first.toString()}?format=raw`)
    assert.equal(createHash('sha256').update(new Uint8Array(await ok.arrayBuffer())).digest('hex').length, 64)
  })
})
