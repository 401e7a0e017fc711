/**
 * Writing while fetching: the writer gets each block as the fetcher stores
 * it (from memory, at most writeAheadBytes kept), reads blocks held before
 * from the blockstore, waits for the rest, and stops with the fetch's error
 * when the fetch fails; a writer that fails (a file not matching its
 * manifest) stops the fetch and its error is the one thrown.
 */
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'
import type { Manifest } from '../../../src/packages/manifest.ts'
import { BlockArrivals } from '../../../src/packages/install/arrivals.ts'
import type { FetchInit, FetchResult } from '../../../src/packages/install/block-fetcher.ts'
import { fetchAndWrite } from '../../../src/packages/install/fetch-and-write.ts'
import { manifestPathOf } from '../../../src/packages/install/write-files.ts'
import { tempDir } from '../../harness/temp.ts'

async function rawCid (bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(bytes))
}

/** A blockstore that counts reads. */
function store (): { has: (cid: CID) => boolean, get: (cid: CID) => Uint8Array[], held: Map<string, Uint8Array>, reads: string[] } {
  const held = new Map<string, Uint8Array>()
  const reads: string[] = []
  return {
    held,
    reads,
    has: cid => held.has(cid.toString()),
    get: cid => {
      reads.push(cid.toString())
      const block = held.get(cid.toString())
      if (block === undefined) throw new Error('not held')
      return [block]
    }
  }
}

function manifestOf (cid: CID, bytes: Uint8Array, sha = createHash('sha256').update(bytes).digest('hex')): Manifest {
  return { v: 1, name: 'acme/one', version: '1.0.0', kind: 'other', description: '', license: '', tags: [], created: 0, publisher: 'p', files: [{ path: 'one.bin', cid: cid.toString(), size: bytes.byteLength, sha256: sha, mediaType: 'application/octet-stream' }], dependencies: {} }
}

describe('install: writing while fetching', () => {
  const dirs: string[] = []
  const folder = (): string => { const dir = tempDir('agora-arrivals-'); dirs.push(dir); return dir }
  after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }) })

  test('a block stored after the writer asked reaches it from memory; one held before is read from the store', async () => {
    const s = store()
    const early = randomBytes(100)
    const late = randomBytes(100)
    const earlyCid = await rawCid(early)
    const lateCid = await rawCid(late)
    s.held.set(earlyCid.toString(), early)
    const arrivals = new BlockArrivals(s, { maxBytes: 1024 })
    const waiting = arrivals.block(lateCid)
    await new Promise(resolve => setImmediate(resolve))
    s.held.set(lateCid.toString(), late)
    arrivals.arrived(lateCid, late)
    assert.deepEqual(await waiting, late)
    assert.deepEqual(await arrivals.block(earlyCid), early)
    assert.deepEqual(s.reads, [earlyCid.toString()])
  })

  test('blocks nobody waits for are kept up to maxBytes, given out once; past it they are read back', async () => {
    const s = store()
    const blocks = [randomBytes(400), randomBytes(400), randomBytes(400)]
    const cids = await Promise.all(blocks.map(rawCid))
    const arrivals = new BlockArrivals(s, { maxBytes: 1000 })
    blocks.forEach((block, i) => { s.held.set((cids[i] as CID).toString(), block); arrivals.arrived(cids[i] as CID, block) })
    for (const [i, cid] of cids.entries()) assert.deepEqual(await arrivals.block(cid), blocks[i])
    assert.deepEqual(s.reads, [(cids[2] as CID).toString()], 'only the block over the bound is read back')
    assert.deepEqual(await arrivals.block(cids[0] as CID), blocks[0])
    assert.equal(s.reads.length, 2, 'a block is given from memory once')
  })

  test('a failed fetch fails every wait with its error; a finished one sends waiters to the store', async () => {
    const s = store()
    const bytes = randomBytes(10)
    const cid = await rawCid(bytes)
    const failing = new BlockArrivals(s, { maxBytes: 1024 })
    const waiting = failing.block(cid)
    const err = new AgoraError('E1446', 'a block of the package could not be fetched')
    failing.fail(err)
    await assert.rejects(waiting, (thrown: unknown) => thrown === err)
    await assert.rejects(failing.block(cid), (thrown: unknown) => thrown === err)
    const finishing = new BlockArrivals(s, { maxBytes: 1024 })
    const pending = finishing.block(cid)
    await new Promise(resolve => setImmediate(resolve))
    s.held.set(cid.toString(), bytes)
    finishing.finish()
    assert.deepEqual(await pending, bytes)
  })

  test('fetchAndWrite writes the file from the blocks as the fetch stores them', async () => {
    const s = store()
    const bytes = randomBytes(5000)
    const cid = await rawCid(bytes)
    const dir = folder()
    const fetcher = {
      fetch: async (init: FetchInit): Promise<FetchResult> => {
        await new Promise(resolve => setTimeout(resolve, 20)) // the writer is waiting by now
        s.held.set(cid.toString(), bytes)
        init.onBlock?.(bytes.byteLength, 'peer-a')
        init.onStored?.(cid, bytes)
        return { fetched: 1, fetchedBytes: bytes.byteLength, held: 0, providersUsed: ['peer-a'] }
      }
    }
    const result = await fetchAndWrite({ fetcher, blockstore: s }, { manifest: manifestOf(cid, bytes), dir, fetch: { roots: [cid], providers: ['peer-a'] }, writeAheadBytes: 1024 * 1024 })
    assert.equal(result.fetched, 1)
    assert.deepEqual(readFileSync(join(dir, 'one.bin')), bytes)
    assert.ok(existsSync(manifestPathOf(dir)))
    assert.deepEqual(s.reads, [], 'the block came from memory, not read back')
  })

  test('a fetch that fails stops the writer, and its error (E1446) is the one thrown', async () => {
    const s = store()
    const bytes = randomBytes(100)
    const cid = await rawCid(bytes)
    const dir = folder()
    const fetcher = { fetch: async (): Promise<FetchResult> => { throw new AgoraError('E1446', 'a block of the package could not be fetched') } }
    await assert.rejects(fetchAndWrite({ fetcher, blockstore: s }, { manifest: manifestOf(cid, bytes), dir, fetch: { roots: [cid], providers: [] }, writeAheadBytes: 1024 }),
      (err: unknown) => isAgoraError(err) && err.code === 'E1446')
    assert.equal(existsSync(join(dir, 'one.bin')), false)
  })

  test('a file that does not match its manifest stops the fetch (aborted), and E1449 is thrown', async () => {
    const s = store()
    const bytes = randomBytes(100)
    const cid = await rawCid(bytes)
    const dir = folder()
    let aborted = false
    const fetcher = {
      fetch: async (init: FetchInit): Promise<FetchResult> => {
        s.held.set(cid.toString(), bytes)
        init.onStored?.(cid, bytes)
        // a fetch with more to do: it ends only when stopped
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 10_000)
          init.signal?.addEventListener('abort', () => { aborted = true; clearTimeout(timer); reject(new AgoraError('E1447', 'the install was interrupted')) })
        })
        return { fetched: 1, fetchedBytes: 100, held: 0, providersUsed: [] }
      }
    }
    await assert.rejects(fetchAndWrite({ fetcher, blockstore: s }, { manifest: manifestOf(cid, bytes, '0'.repeat(64)), dir, fetch: { roots: [cid], providers: [] }, writeAheadBytes: 1024 }),
      (err: unknown) => isAgoraError(err) && err.code === 'E1449')
    assert.equal(aborted, true)
  })
})
