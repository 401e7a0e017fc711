/**
 * The package cache: removing an installed package (its files, and its
 * blocks unless another installed package or a Helia pin — a pinned or
 * published package — still needs them), and collection of unpinned
 * packages, least recently used first, until they fit packages.cacheBytes.
 */
import { rm } from 'node:fs/promises'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import type { Manifest } from '../manifest.ts'
import type { GcResult, InstalledPackage } from '../types.ts'
import type { InstallsRepository } from './installs-repository.ts'
import { readBlock } from './read-block.ts'
import { manifestPathOf } from './write-files.ts'

export interface CacheBlocks {
  has(cid: CID): Promise<boolean> | boolean
  get(cid: CID, options?: { offline?: boolean }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  delete(cid: CID): Promise<void> | void
}

export interface CachePins {
  isPinned(cid: CID): Promise<boolean>
}

export interface CacheComponents {
  installs: InstallsRepository
  blockstore: CacheBlocks
  pins: CachePins
  manifestOf: (cid: string) => Manifest | undefined
}

/** Every block of the given file DAGs that is held here. */
export async function heldBlocks (blocks: CacheBlocks, roots: CID[]): Promise<Set<string>> {
  const found = new Set<string>()
  const stack = [...roots]
  for (let cid = stack.pop(); cid !== undefined; cid = stack.pop()) {
    const key = cid.toString()
    if (found.has(key) || !await blocks.has(cid)) continue
    found.add(key)
    if (cid.code === dagPb.code) {
      const block = await readBlock(blocks, cid, { offline: true })
      for (const link of dagPb.decode(block).Links) stack.push(link.Hash)
    }
  }
  return found
}

export function fileRoots (manifest: Manifest): CID[] {
  return manifest.files.map(file => CID.parse(file.cid))
}

/** Remove the files, the row and the blocks nothing else needs. */
export async function removeInstalled (c: CacheComponents, installed: InstalledPackage): Promise<void> {
  const manifest = c.manifestOf(installed.cid)
  c.installs.delete(installed.cid)
  await rm(installed.dir, { recursive: true, force: true })
  await rm(manifestPathOf(installed.dir), { force: true })
  if (manifest === undefined) return
  const mine = await heldBlocks(c.blockstore, fileRoots(manifest))
  if (mine.size === 0) return
  for (const other of c.installs.list()) {
    const otherManifest = c.manifestOf(other.cid)
    if (otherManifest === undefined) continue
    for (const key of await heldBlocks(c.blockstore, fileRoots(otherManifest))) mine.delete(key)
  }
  for (const key of mine) {
    const cid = CID.parse(key)
    if (await c.pins.isPinned(cid)) continue // a pinned or published package holds it
    await c.blockstore.delete(cid)
  }
}

/** What collection may not take, and from when an interrupted install counts as given up. */
export interface CollectInit {
  /** Manifest CIDs never collected (the install that just finished, installs in progress). */
  keep?: ReadonlySet<string>
  /** Installs left 'fetching' (failed or cancelled) whose last attempt is older than this (ms since the epoch) are removed. */
  interruptedBefore?: number
}

/**
 * Collect installs that failed or were cancelled (their partial blocks and
 * files, whether pinned or not: they were never installed) once their last
 * attempt is older than `interruptedBefore`; then unpinned packages, least
 * recently used first, until they fit `cacheBytes`.
 */
export async function collect (c: CacheComponents, cacheBytes: number, init: CollectInit = {}): Promise<GcResult> {
  const keep = init.keep ?? new Set<string>()
  const result: GcResult = { removed: [], freedBytes: 0 }
  if (init.interruptedBefore !== undefined) {
    for (const stale of c.installs.interrupted(init.interruptedBefore)) {
      if (keep.has(stale.cid)) continue
      await removeInstalled(c, stale)
      result.removed.push({ name: stale.name, version: stale.version, size: 0 })
    }
  }
  let total = c.installs.unpinnedBytes()
  for (const candidate of c.installs.collectable()) {
    if (total <= cacheBytes) break
    if (keep.has(candidate.cid)) continue
    await removeInstalled(c, candidate)
    total -= candidate.size
    result.removed.push({ name: candidate.name, version: candidate.version, size: candidate.size })
    result.freedBytes += candidate.size
  }
  return result
}
