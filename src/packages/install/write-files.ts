/**
 * Writing an installed package's files out of the blockstore (or, during
 * the fetch, out of BlockArrivals: arrivals.ts) into the
 * package store, atomically: each file goes to a temporary name in its own
 * folder, is hashed on the way, fsynced and renamed into place only when
 * its sha256 matches the manifest — a crash leaves a whole file or none.
 * the manifest is written last, the same way, beside the folder (`<version>.manifest.json`).
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { exporter } from 'ipfs-unixfs-exporter'
import { CID } from 'multiformats/cid'
import { AgoraError } from '../../errors.ts'
import type { Manifest, ManifestFile } from '../manifest.ts'
import { INSTALL_DEFAULTS } from './constants.ts'
import { readBlock } from './read-block.ts'

/** Reading blocks that are held here (never from the network). */
export interface HeldBlocks {
  get(cid: CID, options?: { offline?: boolean, signal?: AbortSignal }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

/** `<root>/<path>`, refusing anything that would land outside `root`. */
export function fileTarget (root: string, path: string): string {
  const target = resolve(root, path)
  const rel = relative(resolve(root), target)
  if (rel === '' || rel.startsWith('..') || rel.split(sep).includes('..')) {
    throw new AgoraError('E1449', `file path ${path} leaves the package folder`)
  }
  return target
}

/**
 * Where an installed package's manifest is kept: beside its folder, not in
 * it — a package may hold a file of any name, `manifest.json` included.
 */
export function manifestPathOf (dir: string): string {
  return `${dir}.manifest.json`
}

/** Write every file of the manifest under `dir`, then the manifest beside it (manifestPathOf). */
export async function writePackageFiles (blocks: HeldBlocks, manifest: Manifest, dir: string, options: { signal?: AbortSignal, onBytes?: (bytes: number) => void } = {}): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (const file of manifest.files) {
    options.signal?.throwIfAborted()
    await writeFile(blocks, file, fileTarget(dir, file.path), options)
  }
  const json = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n')
  await writeAtomic(manifestPathOf(dir), async handle => { await handle.write(json) })
}

async function writeFile (blocks: HeldBlocks, file: ManifestFile, target: string, options: { signal?: AbortSignal, onBytes?: (bytes: number) => void }): Promise<void> {
  // whole blocks, offline: the exporter would concatenate FsBlockstore's 64 KiB reads one by one
  const store = { get: async function * (cid: CID, opts?: { signal?: AbortSignal }) { yield await readBlock(blocks, cid, { ...opts, offline: true }) } }
  const entry = await exporter(CID.parse(file.cid), store as Parameters<typeof exporter>[1], { signal: options.signal })
  if (entry.type !== 'file' && entry.type !== 'raw') {
    throw new AgoraError('E1449', `${file.path} is not a file`, { why: `its CID ${file.cid} is a UnixFS ${entry.type}` })
  }
  const hash = createHash('sha256')
  let size = 0
  await writeAtomic(target, async handle => {
    for await (const chunk of entry.content({ signal: options.signal, blockReadConcurrency: INSTALL_DEFAULTS.writeReadAheadBlocks })) {
      const bytes = chunk as Uint8Array
      hash.update(bytes)
      size += bytes.byteLength
      await handle.write(bytes)
      options.onBytes?.(bytes.byteLength)
    }
    const sha256 = hash.digest('hex')
    if (sha256 !== file.sha256 || size !== file.size) {
      throw new AgoraError('E1449', `${file.path} does not match its manifest`, { why: `sha256 ${sha256} and ${size} bytes, the manifest says ${file.sha256} and ${file.size} bytes` })
    }
  })
}

/** Write through `fill` into a temporary file beside `target`, fsync, rename; the temporary file is removed on failure. */
export async function writeAtomic (target: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  const temp = join(dirname(target), `.${randomBytes(6).toString('hex')}.part`)
  const handle = await open(temp, 'w', 0o644)
  try {
    await fill(handle)
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(temp, { force: true })
    throw err
  }
  await handle.close()
  await rename(temp, target)
}
