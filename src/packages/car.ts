/**
 * A package as one CARv1 file, to carry it where there is no network
 * (`agora pkg export --car`, `agora pkg import`).
 *
 * Layout: header roots = [manifest CID]; then the manifest block (DAG-CBOR);
 * then the PACKAGE envelope as a raw block (codec raw 0x55, CIDv1, sha2-256
 * of the envelope's JSON in UTF-8) — the manifest cannot name it (the
 * envelope signs the manifest), so an import finds it as the raw block that
 * parses as a PACKAGE envelope for the root, wherever it sits; then every
 * block of every file, depth first, each block once. Stock tools
 * (@ipld/car, ipfs-unixfs-exporter, `ipfs dag import`) read it as it is.
 *
 * Import reads the file twice and never trusts it: pass one checks every
 * block against its CID, the sizes, that every file's DAG is whole, and the
 * envelope (signature, ownership: the catalogue's own checks); only then
 * does pass two put the blocks in the store (checking again: the file may
 * change between passes — a change rolls back what it added). The package
 * is then installed from the blocks now held, as if fetched from peers.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CarWriter } from '@ipld/car/writer'
import * as dagPb from '@ipld/dag-pb'
import type { Blockstore } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { encodeEnvelope, type Envelope } from '../identity/index.ts'
import { holds, isIdentity, walkDag, type Block } from './dag-walk.ts'
import { DAG_CBOR_CODE, decodeManifest, type Manifest } from './manifest.ts'
import type { StoredPackage } from './repository.ts'
import type { InstalledPackage, InstallInit } from './types.ts'

/** Largest block a CAR may carry (bitswap's limit: UnixFS leaves are 1 MiB). */
export const MAX_CAR_BLOCK_BYTES = 4 * 1024 * 1024

export interface CarComponents {
  /** The node's on-disk blockstore (export reads it, import writes it) — not Helia's networked one. */
  blockstore: Blockstore
  /** The catalogue: spec → stored package (part 1's PackageRepository). */
  packages: { resolve(spec: string): StoredPackage | undefined }
  /** Signature and ownership checks, then the catalogue (part 1's PackageCatalog). */
  catalog: { accept(envelope: unknown, from: 'local'): Promise<StoredPackage> }
  /** Registers the package as installed from the blocks now held (part 4's PackageInstaller). */
  installer: { install(init: InstallInit): Promise<InstalledPackage> }
}

export interface CarLimits {
  /** packages.maxPackageBytes: the sum of a CAR's blocks may not pass it (plus the manifest and envelope). */
  maxPackageBytes: number
  /** packages.maxManifestBytes: bounds the manifest and envelope blocks. */
  maxManifestBytes: number
}

export interface ExportedCar { cid: string, bytes: number, blocks: number }
export interface ImportedCar { cid: string, name: string, version: string, blocks: number }

/** Write the package named by `spec` as a CARv1 at `out` (atomically: a temp name, then rename). */
export async function exportCar (c: Pick<CarComponents, 'blockstore' | 'packages'>, spec: string, out: string, options: { signal?: AbortSignal } = {}): Promise<ExportedCar> {
  const pkg = c.packages.resolve(spec)
  if (pkg === undefined) throw new AgoraError('E1440', `no package ${spec} in the catalogue`)
  for (const file of pkg.manifest.files) {
    if (!await holds(c.blockstore, CID.parse(file.cid))) {
      throw new AgoraError('E1468', `${pkg.manifest.name}@${pkg.manifest.version} is not held whole here`, { why: `no blocks of ${file.path}` })
    }
  }
  const root = CID.parse(pkg.cid)
  const envelope = await envelopeBlock(pkg.envelope)
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`
  const { writer, out: chunks } = CarWriter.create([root])
  let blocks = 0
  let bytes = 0
  const feed = (async () => {
    const seen = new Set<string>()
    const put = async (block: Block): Promise<void> => {
      const key = block.cid.toString()
      if (seen.has(key)) return
      seen.add(key)
      blocks++
      bytes += block.bytes.byteLength
      await writer.put(block)
    }
    try {
      await put({ cid: root, bytes: pkg.bytes })
      await put(envelope)
      for (const file of pkg.manifest.files) {
        for await (const block of walkDag(c.blockstore, CID.parse(file.cid), { scope: 'all', dups: false, signal: options.signal })) await put(block)
      }
    } finally {
      await writer.close()
    }
  })()
  try {
    await Promise.all([feed, pipeline(Readable.from(chunks), createWriteStream(tmp, { flags: 'wx' }), { signal: options.signal })])
    await rename(tmp, out)
  } catch (err) {
    await rm(tmp, { force: true })
    if (isAgoraError(err, 'E1463')) throw new AgoraError('E1468', `${pkg.manifest.name}@${pkg.manifest.version} is not held whole here`, { why: err.what })
    throw err
  }
  return { cid: pkg.cid, bytes, blocks }
}

/**
 * A CAR's package into this node: every block checked against its CID
 * (E1466 on any mismatch: nothing from the file is kept), the envelope
 * through the catalogue, the blocks into the store, then installed.
 */
export async function importCar (c: CarComponents, limits: CarLimits, path: string, options: { trustPublisher?: boolean, signal?: AbortSignal } = {}): Promise<ImportedCar> {
  const scan = await scanCar(path, limits, options.signal)
  const pkg = await c.catalog.accept(scan.envelope, 'local')
  const added: CID[] = []
  try {
    await forEachBlock(path, limits, options.signal, async block => {
      // only the package's own blocks: anything else in the file would sit in the store, tied to no package, for ever
      if (!scan.needed.has(block.cid.toString()) || await c.blockstore.has(block.cid)) return
      await c.blockstore.put(block.cid, block.bytes)
      added.push(block.cid)
    })
    await c.installer.install({ spec: pkg.cid, trustPublisher: options.trustPublisher === true, ...(options.signal === undefined ? {} : { signal: options.signal }) })
  } catch (err) {
    // a refused or failed install (a publisher under the reputation bar…) keeps nothing of the file either
    for (const cid of added) await c.blockstore.delete(cid)
    throw err
  }
  return { cid: pkg.cid, name: pkg.manifest.name, version: pkg.manifest.version, blocks: scan.blocks }
}

interface Scan {
  root: CID
  envelope: unknown
  /** Blocks in the file. */
  blocks: number
  /** The blocks the package needs (its manifest and every file's DAG): all an import keeps. */
  needed: ReadonlySet<string>
}

/** Pass one: hashes, sizes, the envelope for the root, and every file DAG whole. Nothing is stored. */
async function scanCar (path: string, limits: CarLimits, signal?: AbortSignal): Promise<Scan> {
  const present = new Set<string>()
  const children = new Map<string, CID[]>()
  let envelope: unknown
  let root: CID | undefined
  let manifestBytes: Uint8Array | undefined
  const blocks = await forEachBlock(path, limits, signal, async (block, carRoot) => {
    root = carRoot
    const key = block.cid.toString()
    present.add(key)
    if (block.cid.equals(carRoot)) manifestBytes = block.bytes
    if (block.cid.code === dagPb.code) children.set(key, dagPb.decode(block.bytes).Links.map(link => link.Hash))
    if (envelope === undefined && block.cid.code === raw.code) envelope = envelopeFor(block.bytes, carRoot, limits)
  })
  if (root === undefined || manifestBytes === undefined) throw new AgoraError('E1467', 'the CAR does not carry its root block', { why: 'a package CAR starts with its manifest' })
  if (envelope === undefined) throw new AgoraError('E1467', 'the CAR carries no PACKAGE envelope for its root', { why: `no raw block holds a PACKAGE envelope naming ${root.toString()}` })
  let manifest: Manifest
  try {
    manifest = await decodeManifest(manifestBytes, root)
  } catch (err) {
    throw new AgoraError('E1467', 'the CAR\'s root block is not a package manifest', { why: messageOf(err), cause: err })
  }
  // every block of every file: a CAR that installs must not need the network
  const fileRoots = manifest.files.map(file => CID.parse(file.cid))
  const stack = [...fileRoots]
  const visited = new Set<string>()
  while (stack.length > 0) {
    const cid = stack.pop() as CID
    const key = cid.toString()
    if (visited.has(key) || isIdentity(cid)) continue
    visited.add(key)
    if (!present.has(key)) throw new AgoraError('E1467', 'the CAR is missing blocks of the package', { why: `no block ${key}` })
    stack.push(...(children.get(key) ?? []))
  }
  return { root, envelope, blocks, needed: visited.add(root.toString()) }
}

/**
 * Every block of the CAR at `path`, each checked against its CID (E1466)
 * and its size (E1469), in file order; the root must be a DAG-CBOR manifest.
 */
async function forEachBlock (path: string, limits: CarLimits, signal: AbortSignal | undefined, each: (block: Block, root: CID) => Promise<void>): Promise<number> {
  let iterator: CarBlockIterator
  const stream = createReadStream(path, { signal })
  try {
    iterator = await CarBlockIterator.fromIterable(stream)
  } catch (err) {
    stream.destroy()
    throw new AgoraError('E1467', `${path} is not a CARv1 file`, { why: messageOf(err), cause: err })
  }
  const roots = await iterator.getRoots()
  const root = roots[0]
  if (iterator.version !== 1 || roots.length !== 1 || root === undefined || root.code !== DAG_CBOR_CODE) {
    stream.destroy()
    throw new AgoraError('E1467', `${path} is not a package CAR`, { why: `a CARv1 with one DAG-CBOR root, got version ${iterator.version} and roots [${roots.join(', ')}]` })
  }
  let count = 0
  let total = 0
  const budget = limits.maxPackageBytes + 2 * limits.maxManifestBytes
  try {
    for await (const block of iterator) {
      if (block.bytes.byteLength > MAX_CAR_BLOCK_BYTES) throw new AgoraError('E1469', `block ${block.cid.toString()} is ${block.bytes.byteLength} bytes`, { why: `the limit is ${MAX_CAR_BLOCK_BYTES}` })
      total += block.bytes.byteLength
      if (total > budget) throw new AgoraError('E1469', 'the CAR is too large', { why: `over ${budget} bytes of blocks (packages.maxPackageBytes is ${limits.maxPackageBytes})` })
      await checkHash(block)
      await each(block, root)
      count++
    }
  } catch (err) {
    stream.destroy()
    if (err instanceof AgoraError) throw err
    throw new AgoraError('E1467', `${path} could not be read as a CAR`, { why: messageOf(err), cause: err })
  }
  return count
}

async function checkHash (block: Block): Promise<void> {
  const { multihash } = block.cid
  let ok: boolean
  if (isIdentity(block.cid)) ok = Buffer.from(multihash.digest).equals(block.bytes)
  else if (multihash.code === sha256.code) ok = Buffer.from((await sha256.digest(block.bytes)).digest).equals(multihash.digest)
  else throw new AgoraError('E1466', `block ${block.cid.toString()} uses a hash this node does not check`, { why: `multihash code 0x${multihash.code.toString(16)}` })
  if (!ok) throw new AgoraError('E1466', `block ${block.cid.toString()} does not hash to its CID`)
}

/** The raw block an export carries for the envelope. */
async function envelopeBlock (envelope: Envelope): Promise<Block> {
  const bytes = encodeEnvelope(envelope)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

/** A raw block that is a PACKAGE envelope naming `root`, or undefined (a file's bytes, most of the time). */
function envelopeFor (bytes: Uint8Array, root: CID, limits: CarLimits): unknown {
  if (bytes.byteLength > 2 * limits.maxManifestBytes + 4096 || bytes[0] !== 0x7b) return undefined
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as { kind?: unknown, payload?: { cid?: unknown } }
    return value.kind === 'PACKAGE' && value.payload?.cid === root.toString() ? value : undefined
  } catch {
    return undefined
  }
}
