/**
 * Walking a DAG held in a local blockstore, depth first, for the gateway's
 * CARs: resolve a path (UnixFS directories and DAG-CBOR fields), then yield
 * the blocks a `dag-scope` asks for — the terminal block, the entity (a whole
 * UnixFS file, or only the blocks a byte range needs; a directory's own
 * blocks) or everything under it. Only local blocks: a missing one is an
 * error, never a network fetch.
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import type { Blockstore } from 'interface-blockstore'
import { UnixFS } from 'ipfs-unixfs'
import toBuffer from 'it-to-buffer'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import * as raw from 'multiformats/codecs/raw'
import { AgoraError } from '../errors.ts'
import type { DagScope, EntityBytes } from './gateway-request.ts'

export interface Block { cid: CID, bytes: Uint8Array }

export interface WalkInit {
  scope: DagScope
  entityBytes?: EntityBytes | undefined
  /** Yield a block each time it is met (true) or once (false). */
  dups: boolean
  signal?: AbortSignal
}

/** Identity CIDs carry their bytes in the CID: never stored, never sent in a CAR. */
export function isIdentity (cid: CID): boolean {
  return cid.multihash.code === identity.code
}

/** Does this node hold the block (identity CIDs always)? */
export async function holds (blockstore: Blockstore, cid: CID): Promise<boolean> {
  return isIdentity(cid) || await blockstore.has(cid)
}

/** A block's bytes from the local store; E1463 when it is not held. */
export async function loadBlock (blockstore: Blockstore, cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
  if (isIdentity(cid)) return cid.multihash.digest
  try {
    return await toBuffer(blockstore.get(cid, { signal }))
  } catch (err) {
    if ((err as Error).name === 'NotFoundError') throw new AgoraError('E1463', `block ${cid.toString()} is not held here`)
    throw err
  }
}

/**
 * Follow `path` from `root`: each UnixFS directory entry or DAG-CBOR field
 * in turn. Returns the blocks passed through (to prove the path, root first)
 * and the CID at the end.
 */
export async function resolvePath (blockstore: Blockstore, root: CID, path: string[], signal?: AbortSignal): Promise<{ cid: CID, via: Block[] }> {
  const via: Block[] = []
  let cid = root
  let rest = [...path]
  while (rest.length > 0) {
    const bytes = await loadBlock(blockstore, cid, signal)
    via.push({ cid, bytes })
    if (cid.code === dagPb.code) {
      const node = dagPb.decode(bytes)
      const unixfs = node.Data === undefined ? undefined : UnixFS.unmarshal(node.Data)
      if (unixfs?.type !== 'directory') throw notFound(root, path, unixfs?.type === 'hamt-sharded-directory' ? 'sharded directories are not traversed' : `${cid.toString()} is not a directory`)
      const [name, ...after] = rest
      const link = node.Links.find(l => l.Name === name)
      if (link === undefined) throw notFound(root, path, `no entry ${name ?? ''}`)
      cid = link.Hash
      rest = after
    } else if (cid.code === dagCbor.code) {
      // fields inside one block, until a link leads to the next block
      let value: unknown = dagCbor.decode(bytes)
      while (rest.length > 0 && CID.asCID(value) === null) {
        const [field = '', ...after] = rest
        if (value === null || typeof value !== 'object' || !Object.hasOwn(value, field)) throw notFound(root, path, `no field ${field}`)
        value = (value as Record<string, unknown>)[field]
        rest = after
      }
      const next = CID.asCID(value)
      if (next === null) throw notFound(root, path, 'the path ends inside a block, not at a link')
      cid = next
    } else {
      throw notFound(root, path, `${cid.toString()} has no path inside it`)
    }
  }
  return { cid, via }
}

/** The blocks of `root` that `init.scope` asks for, depth first, root first. */
export async function * walkDag (blockstore: Blockstore, root: CID, init: WalkInit): AsyncGenerator<Block> {
  const seen = new Set<string>()
  const load = async (cid: CID): Promise<Uint8Array> => await loadBlock(blockstore, cid, init.signal)
  /** True when the block should go out now (identity never; a repeat only with dups). */
  const emit = (cid: CID): boolean => {
    if (isIdentity(cid)) return false
    const key = blockKey(cid)
    if (seen.has(key) && !init.dups) return false
    seen.add(key)
    return true
  }

  async function * all (cid: CID): AsyncGenerator<Block> {
    init.signal?.throwIfAborted()
    const first = !seen.has(blockKey(cid))
    const bytes = await load(cid)
    if (emit(cid)) yield { cid, bytes }
    // without dups a repeated subtree went out whole the first time
    if (!first && !init.dups) return
    for (const link of links(cid, bytes)) yield * all(link)
  }

  /** A UnixFS file's blocks that hold bytes [from, to] (inclusive, offsets in the file). */
  async function * fileRange (cid: CID, bytes: Uint8Array, offset: number, from: number, to: number): AsyncGenerator<Block> {
    init.signal?.throwIfAborted()
    if (emit(cid)) yield { cid, bytes }
    if (cid.code !== dagPb.code) return
    const node = dagPb.decode(bytes)
    const unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array())
    let start = offset + (unixfs.data?.length ?? 0)
    for (const [i, link] of node.Links.entries()) {
      const size = Number(unixfs.blockSizes[i] ?? 0n)
      const end = start + size - 1
      if (size > 0 && end >= from && start <= to) yield * fileRange(link.Hash, await load(link.Hash), start, from, to)
      start += size
      if (start > to) break
    }
  }

  async function * entity (cid: CID): AsyncGenerator<Block> {
    const bytes = await load(cid)
    const unixfs = unixfsOf(cid, bytes)
    if (unixfs === undefined || unixfs.type === 'directory' || unixfs.type === 'symlink') {
      if (emit(cid)) yield { cid, bytes }
      return
    }
    if (unixfs.type === 'hamt-sharded-directory') {
      // the directory is every shard block, not the entries' contents
      if (emit(cid)) yield { cid, bytes }
      for (const link of dagPb.decode(bytes).Links) {
        if (link.Name?.length === 2) yield * entity(link.Hash)
      }
      return
    }
    const size = cid.code === raw.code ? bytes.length : Number(unixfs.fileSize())
    const range = resolveRange(init.entityBytes, size)
    if (range === undefined) {
      if (emit(cid)) yield { cid, bytes }
      return
    }
    yield * fileRange(cid, bytes, 0, range.from, range.to)
  }

  if (init.scope === 'block') {
    const bytes = await load(root)
    if (emit(root)) yield { cid: root, bytes }
  } else if (init.scope === 'entity') {
    yield * entity(root)
  } else {
    yield * all(root)
  }
}

/**
 * Check `entity-bytes` before answering (E1464 for a range past the end),
 * so a bad range is a 400 and not a broken stream. Not a file: ignored.
 */
export async function checkEntityBytes (blockstore: Blockstore, cid: CID, entityBytes: EntityBytes, signal?: AbortSignal): Promise<void> {
  const bytes = await loadBlock(blockstore, cid, signal)
  const unixfs = unixfsOf(cid, bytes)
  if (unixfs === undefined || (unixfs.type !== 'file' && unixfs.type !== 'raw')) return
  resolveRange(entityBytes, cid.code === raw.code ? bytes.length : Number(unixfs.fileSize()))
}

/**
 * `entity-bytes` against a file of `size` bytes → inclusive offsets, or
 * undefined when the range is empty (then only the root goes out, so a
 * client can read the size from it). Starting past the end is E1464.
 */
export function resolveRange (entityBytes: EntityBytes | undefined, size: number): { from: number, to: number } | undefined {
  if (entityBytes === undefined) return size === 0 ? undefined : { from: 0, to: size - 1 }
  const from = entityBytes.from < 0 ? Math.max(0, size + entityBytes.from) : entityBytes.from
  const to = Math.min(size - 1, entityBytes.to === null ? size - 1 : entityBytes.to < 0 ? size + entityBytes.to : entityBytes.to)
  if (size > 0 && from >= size) throw new AgoraError('E1464', `entity-bytes starts at ${from}, past the end of a ${size}-byte file`)
  if (size === 0 || to < from) return undefined
  return { from, to }
}

/** The UnixFS data of a dag-pb block (a raw block is a file of its bytes); undefined when not UnixFS. */
function unixfsOf (cid: CID, bytes: Uint8Array): UnixFS | undefined {
  if (cid.code === raw.code) return new UnixFS({ type: 'raw' })
  if (cid.code !== dagPb.code) return undefined
  const data = dagPb.decode(bytes).Data
  if (data === undefined) return undefined
  try {
    return UnixFS.unmarshal(data)
  } catch {
    return undefined
  }
}

/** A block is its multihash: the same bytes under another codec or CID version are the same block. */
function blockKey (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64')
}

/** Links of a block in encoded order: dag-pb Links, every CID inside a DAG-CBOR value; raw has none. */
export function links (cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === dagPb.code) return dagPb.decode(bytes).Links.map(link => link.Hash)
  if (cid.code === dagCbor.code) {
    const found: CID[] = []
    collectLinks(dagCbor.decode(bytes), found)
    return found
  }
  return []
}

function collectLinks (value: unknown, found: CID[]): void {
  const cid = CID.asCID(value)
  if (cid !== null) {
    found.push(cid)
  } else if (Array.isArray(value)) {
    for (const item of value) collectLinks(item, found)
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const item of Object.values(value)) collectLinks(item, found)
  }
}

function notFound (root: CID, path: string[], why: string): AgoraError {
  return new AgoraError('E1465', `/ipfs/${root.toString()}/${path.join('/')} not found`, { why })
}
