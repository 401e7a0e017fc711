/**
 * Interop with independent IPFS implementations from npm (no kubo binary
 * here): our file CIDs equal ipfs-unixfs-importer's and @ipld/unixfs's for
 * the same profile; @helia/verified-fetch fetches a published file from a
 * real node's gateway and refuses one bit flipped on the way; a CAR from
 * exportCar reads back with @ipld/car + ipfs-unixfs-exporter, imports into
 * another node (signature and ownership through the catalogue) and installs;
 * a CAR with one altered block is refused and nothing of it is kept.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { withHTTP } from '@helia/http'
import { createVerifiedFetchWithHelia, type VerifiedFetch } from '@helia/verified-fetch'
import { CarReader } from '@ipld/car'
import * as dagPb from '@ipld/dag-pb'
import * as UnixFS from '@ipld/unixfs'
import { withMaxChunkSize } from '@ipld/unixfs/file/chunker/fixed'
import { withWidth } from '@ipld/unixfs/file/layout/balanced'
import type { FastifyInstance } from 'fastify'
import { createHeliaLight } from 'helia'
import { exporter } from 'ipfs-unixfs-exporter'
import { importBytes } from 'ipfs-unixfs-importer'
import toBuffer from 'it-to-buffer'
import type { Router } from '@helia/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { buildApiServer, type ControlPlane } from '../../src/api/index.ts'
import { AgoraEvents } from '../../src/events.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { createRegistry } from '../../src/observability/metrics.ts'
import { exportCar, importCar } from '../../src/packages/car.ts'
import { IMPORT_PROFILE } from '../../src/packages/constants.ts'
import { importPath } from '../../src/packages/importer.ts'
import { carComponents, localBlocks } from '../harness/car-nodes.ts'
import { isCode } from '../harness/checks.ts'
import { createInstallNodes, publishTo, writeFolder, type InstallNode, type PublishedPackage } from '../harness/install-nodes.ts'
import { tempDir } from '../harness/temp.ts'

const MiB = 1024 * 1024
/** Multicodec of an HTTP trustless gateway "peer" (transport-ipfs-gateway-http), as @helia/fallback-router names one. */
const TRANSPORT_IPFS_GATEWAY_HTTP = 0x0920
const LIMITS = { maxPackageBytes: 1024 ** 3, maxManifestBytes: 256 * 1024 }

/** Deterministic bytes with no repeated 1 MiB chunk. */
function bytesOf (size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Blocks in a Map: all an importer or exporter needs of a blockstore. */
class MapBlockstore {
  readonly blocks = new Map<string, Uint8Array>()
  async put (cid: CID, bytes: Uint8Array): Promise<CID> { this.blocks.set(cid.toString(), bytes); return cid }
  async has (cid: CID): Promise<boolean> { return this.blocks.has(cid.toString()) }
  async * get (cid: CID): AsyncGenerator<Uint8Array> {
    const bytes = this.blocks.get(cid.toString())
    if (bytes === undefined) throw Object.assign(new Error(`no block ${cid.toString()}`), { name: 'NotFoundError' })
    yield bytes
  }
}

/** The file's root CID by @ipld/unixfs (a separate implementation), set to unixfs-v1-2025. */
async function ipldUnixfsCid (bytes: Uint8Array): Promise<string> {
  const { readable, writable } = new TransformStream<UnixFS.Block, UnixFS.Block>()
  const drained = (async () => { for await (const _ of readable) { /* blocks are not kept */ } })()
  const settings = UnixFS.configure({
    chunker: withMaxChunkSize(MiB),
    // raw-codec leaves (UnixFS.UnixFSRawLeaf is a dag-pb node of UnixFS type raw: not what raw leaves mean)
    fileChunkEncoder: raw,
    smallFileEncoder: raw,
    fileLayout: withWidth(1024)
  })
  const writer = UnixFS.createWriter({ writable, settings })
  const file = UnixFS.createFileWriter(writer)
  if (bytes.length > 0) await file.write(bytes)
  const link = await file.close()
  await writer.close()
  await drained
  return link.cid.toString()
}

test('file CIDs: our importer = ipfs-unixfs-importer = @ipld/unixfs, for 0, 1, 1 MiB, 1 MiB + 1 and 10 MiB', async () => {
  const dir = tempDir('agora-cids-')
  try {
    for (const size of [0, 1, MiB, MiB + 1, 10 * MiB]) {
      const bytes = bytesOf(size, size + 7)
      const path = join(dir, `f-${size}.bin`)
      writeFileSync(path, bytes)
      const ours = (await importPath(new MapBlockstore(), path, { maxFiles: 1, maxPackageBytes: 64 * MiB })).files[0]?.cid
      const reference = (await importBytes(bytes, new MapBlockstore(), IMPORT_PROFILE)).cid.toString()
      const independent = await ipldUnixfsCid(bytes)
      assert.equal(ours, reference, `${size} bytes: ours vs ipfs-unixfs-importer`)
      assert.equal(independent, reference, `${size} bytes: @ipld/unixfs vs ipfs-unixfs-importer`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

describe('packages interop: gateway and CAR', () => {
  let a: InstallNode, b: InstallNode
  let stop: () => Promise<void>
  let pkg: PublishedPackage
  let app: FastifyInstance
  let gatewayUrl: string
  let gatewayPort: number
  let folder: string
  const files = { 'model.bin': bytesOf(3 * MiB + 5, 1), 'README.md': '# a small model\n' }
  const scratch = tempDir('agora-interop-')

  before(async () => {
    const made = await createInstallNodes(2)
    stop = made.stop;
    [a, b] = made.nodes as [InstallNode, InstallNode]
    folder = writeFolder(files)
    pkg = await publishTo(a, [a], [a], folder, { name: 'acme/tiny-model', version: '1.0.0', kind: 'model' })
    app = await buildApiServer({ control: {} as unknown as ControlPlane, events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), ipfs: { blockstore: localBlocks(a) } }, { token: 'test-token-0123456789abcdef0123456789abcdef' })
    await app.listen({ host: '127.0.0.1', port: 0 })
    gatewayPort = (app.server.address() as AddressInfo).port
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`
  })
  after(async () => {
    await app.close()
    await stop()
    rmSync(folder, { recursive: true, force: true })
    rmSync(scratch, { recursive: true, force: true })
  })

  /**
   * verified-fetch on a Helia with only the trustless-gateway block broker and
   * one router naming `port` on loopback as the provider of every CID: no
   * libp2p, no delegated routers, nothing leaves 127.0.0.1. (Not the
   * recursiveGateways option: with no other router, helia 7's routing waits
   * for routers that do not exist and never reaches its fallback ones.)
   */
  async function verifiedFetchVia (port: number): Promise<VerifiedFetch & { stopHelia: () => Promise<void> }> {
    const id = CID.createV1(TRANSPORT_IPFS_GATEWAY_HTTP, identity.digest(new TextEncoder().encode(`http://127.0.0.1:${port}`)))
    const provider = { id, multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}/http`)], protocols: ['transport-ipfs-gateway-http'], router: 'loopback-gateway' }
    const router = { name: 'loopback-gateway', async * findProviders () { yield provider } }
    const helia = withHTTP(createHeliaLight({ routers: [router as unknown as Router] }), { delegatedRouters: [], recursiveGateways: [], allowInsecure: true, allowLocal: true })
    await helia.start()
    const fetchVerified = await createVerifiedFetchWithHelia(helia)
    return Object.assign(fetchVerified, { stopHelia: async () => { await helia.stop() } })
  }

  test('@helia/verified-fetch gets the published file from our gateway, byte for byte', async () => {
    const model = pkg.manifest.files.find(file => file.path === 'model.bin')
    assert.ok(model !== undefined)
    const vfetch = await verifiedFetchVia(gatewayPort)
    try {
      const res = await vfetch(`ipfs://${model.cid}`, { signal: AbortSignal.timeout(30_000) })
      assert.equal(res.status, 200)
      const bytes = new Uint8Array(await res.arrayBuffer())
      assert.equal(bytes.length, model.size)
      assert.equal(sha256Hex(bytes), model.sha256)
    } finally {
      await vfetch.stopHelia()
    }
  })

  test('@helia/verified-fetch refuses a block with one bit flipped by a proxy', async () => {
    const model = pkg.manifest.files.find(file => file.path === 'model.bin')
    assert.ok(model !== undefined)
    const root = CID.parse(model.cid)
    const leaf = dagPb.decode(await toBuffer(localBlocks(a).get(root))).Links[1]?.Hash
    assert.ok(leaf !== undefined)
    let flipped = 0
    const proxy: Server = createServer((req, res) => {
      const upstream = httpRequest(`${gatewayUrl}${req.url ?? '/'}`, { method: req.method, headers: { ...req.headers, host: new URL(gatewayUrl).host } }, up => {
        const chunks: Buffer[] = []
        up.on('data', (chunk: Buffer) => chunks.push(chunk))
        up.on('end', () => {
          const body = Buffer.concat(chunks)
          if ((req.url ?? '').includes(leaf.toString()) && body.length > 0) {
            body[body.length >> 1] = (body[body.length >> 1] as number) ^ 0x01
            flipped++
          }
          res.writeHead(up.statusCode ?? 502, up.headers)
          res.end(body)
        })
      })
      upstream.on('error', () => { res.destroy() })
      req.pipe(upstream)
    })
    await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
    // the proxy itself works: an untouched block comes through whole
    const control = await fetch(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/ipfs/${model.cid}?format=raw`)
    assert.equal(control.status, 200)
    assert.deepEqual(new Uint8Array(await control.arrayBuffer()), await toBuffer(localBlocks(a).get(root)))
    const vfetch = await verifiedFetchVia((proxy.address() as AddressInfo).port)
    try {
      let bytes: Uint8Array | undefined
      try {
        const res = await vfetch(`ipfs://${model.cid}`, { signal: AbortSignal.timeout(10_000) })
        if (res.ok) bytes = new Uint8Array(await res.arrayBuffer())
      } catch {
        // refused: what we want
      }
      assert.equal(bytes, undefined, 'wrong bytes were returned as verified')
      assert.ok(flipped > 0, 'the proxy flipped a bit')
    } finally {
      await vfetch.stopHelia()
      await new Promise(resolve => proxy.close(resolve))
    }
  })

  test('a CAR from exportCar reads back with @ipld/car + ipfs-unixfs-exporter into the same files', async () => {
    const out = join(scratch, 'tiny.car')
    const exported = await exportCar({ blockstore: localBlocks(a), packages: a.packages }, 'acme/tiny-model@1.0.0', out)
    assert.equal(exported.cid, pkg.cid)
    const reader = await CarReader.fromBytes(readFileSync(out))
    assert.deepEqual((await reader.getRoots()).map(String), [pkg.cid])
    const store = new MapBlockstore()
    for await (const block of reader.blocks()) await store.put(block.cid, block.bytes)
    assert.equal(store.blocks.size, exported.blocks)
    for (const file of pkg.manifest.files) {
      const entry = await exporter(file.cid, store)
      assert.ok(entry.type === 'file' || entry.type === 'raw', `${file.path} is a ${entry.type}`)
      const bytes = await toBuffer(entry.content())
      assert.equal(sha256Hex(bytes), file.sha256, file.path)
    }
  })

  test('importCar: one altered block is refused and nothing kept; the intact CAR imports and installs on another node', async () => {
    const out = join(scratch, 'import.car')
    await exportCar({ blockstore: localBlocks(a), packages: a.packages }, pkg.cid, out)
    const car = readFileSync(out)
    // one byte inside the model's data (its bytes are unique in the CAR)
    const model = files['model.bin']
    const at = car.indexOf(Buffer.from(model.subarray(2 * MiB + 100, 2 * MiB + 132)))
    assert.ok(at > 0)
    const tampered = Buffer.from(car)
    tampered[at] = (tampered[at] as number) ^ 0xff
    const bad = join(scratch, 'tampered.car')
    writeFileSync(bad, tampered)
    const components = carComponents(b, LIMITS.maxManifestBytes)
    await assert.rejects(importCar(components, LIMITS, bad), isCode('E1466'))
    assert.equal(b.packages.get(pkg.cid), undefined)
    assert.equal(await localBlocks(b).has(CID.parse(pkg.manifest.files[0]?.cid as string)), false)
    await assert.rejects(importCar(components, LIMITS, join(scratch, 'none.car')), isCode('E1467'))

    const imported = await importCar(components, LIMITS, out)
    assert.deepEqual(imported, { cid: pkg.cid, name: 'acme/tiny-model', version: '1.0.0', blocks: imported.blocks })
    assert.equal(b.packages.get(pkg.cid)?.manifest.name, 'acme/tiny-model')
    const installed = b.installer.list().find(p => p.cid === pkg.cid)
    assert.equal(installed?.state, 'installed')
    assert.equal(sha256Hex(readFileSync(join(installed.dir, 'model.bin'))), sha256Hex(model))
  })
})
