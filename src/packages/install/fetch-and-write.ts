/**
 * One package's blocks fetched and its files written at the same time: the
 * writer takes each block as the fetcher stores it (arrivals.ts), so the
 * files are done soon after the last block instead of a whole read-back
 * later. Either side failing stops the other; the error that started it
 * is the one thrown (a cancel is always E1447).
 */
import { AgoraError } from '../../errors.ts'
import type { Manifest } from '../manifest.ts'
import { BlockArrivals, type StoredBlocks } from './arrivals.ts'
import type { BlockFetcher, FetchInit, FetchResult } from './block-fetcher.ts'
import { writePackageFiles } from './write-files.ts'

export interface FetchAndWriteComponents {
  fetcher: Pick<BlockFetcher, 'fetch'>
  blockstore: StoredBlocks
}

export interface FetchAndWriteInit {
  manifest: Manifest
  /** The package's folder in the package store. */
  dir: string
  fetch: Omit<FetchInit, 'signal' | 'onBlock' | 'onStored'>
  /** Fetched blocks held in memory for the writer. */
  writeAheadBytes: number
  signal?: AbortSignal
  /** Bytes fetched so far, after each block; `provider` sent the last one. */
  onFetched?: (bytes: number, provider: string) => void
  /** Bytes written so far, once the fetch is over (before, fetch progress is the one shown). */
  onWritten?: (bytes: number) => void
}

export async function fetchAndWrite (c: FetchAndWriteComponents, init: FetchAndWriteInit): Promise<FetchResult> {
  const arrivals = new BlockArrivals(c.blockstore, { maxBytes: init.writeAheadBytes })
  const stopFetch = new AbortController()
  const fetchSignal = init.signal === undefined ? stopFetch.signal : AbortSignal.any([init.signal, stopFetch.signal])
  let fetched = 0
  let written = 0
  let fetching = true
  /** Who failed first: the writer's failure stops the fetch, the fetch's failure stops the writer. */
  let first: 'fetch' | 'write' | undefined
  const fetch = c.fetcher.fetch({
    ...init.fetch,
    signal: fetchSignal,
    onBlock: (bytes, provider) => { fetched += bytes; init.onFetched?.(fetched, provider) },
    onStored: (cid, block) => { arrivals.arrived(cid, block) }
  }).then(result => {
    fetching = false
    if (written > 0) init.onWritten?.(written)
    arrivals.finish()
    return result
  }, (err: unknown) => {
    first ??= 'fetch'
    arrivals.fail(err)
    throw err
  })
  const write = writePackageFiles(arrivals, init.manifest, init.dir, {
    ...(init.signal === undefined ? {} : { signal: init.signal }),
    onBytes: bytes => { written += bytes; if (!fetching) init.onWritten?.(written) }
  }).catch((err: unknown) => {
    first ??= 'write'
    stopFetch.abort(err)
    throw err
  })
  const [fetchDone, writeDone] = await Promise.allSettled([fetch, write])
  arrivals.clear()
  if (init.signal?.aborted === true && (fetchDone.status === 'rejected' || writeDone.status === 'rejected')) {
    const cause = fetchDone.status === 'rejected' ? fetchDone.reason : (writeDone as PromiseRejectedResult).reason
    if (cause instanceof AgoraError && cause.code === 'E1447') throw cause
    throw new AgoraError('E1447', 'the install was interrupted', { why: 'it was cancelled; the blocks fetched so far are kept', cause })
  }
  if (first === 'write' && writeDone.status === 'rejected') throw writeDone.reason
  if (fetchDone.status === 'rejected') throw fetchDone.reason
  if (writeDone.status === 'rejected') throw writeDone.reason
  return fetchDone.value
}
