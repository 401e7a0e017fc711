/**
 * Fetching every block of a set of UnixFS DAGs from several providers at
 * once over `/agora/blocks/1`: each provider runs a few batch requests in
 * parallel, taking the next CIDs from one shared queue, so a fast provider
 * takes more. Every block is hashed and compared with its CID before it is
 * stored; children of a dag-pb node are queued as it arrives. A provider
 * that stalls, breaks or lies is dropped and its blocks go back to the
 * queue for the others. Blocks already held are not fetched again (that is
 * how an interrupted install resumes). What no provider had is asked of
 * bitswap last (stock IPFS peers, the DHT's providers).
 */
import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'
import { AgoraError } from '../../errors.ts'
import type { Outcome } from '../../peers/reputation.ts'
import type { ReqResp } from '../../protocols/reqresp/index.ts'
import { BLOCKS_PROTOCOL, MAX_BATCH_BLOCKS } from './block-protocol.ts'
import { INSTALL_DEFAULTS } from './constants.ts'
import { readBlock } from './read-block.ts'

const SHA2_256 = 0x12

/** What fetching needs of Helia's blockstore: `get` may go to bitswap unless offline. */
export interface FetchBlocks {
  has(cid: CID): Promise<boolean> | boolean
  put(cid: CID, block: Uint8Array): Promise<unknown> | unknown
  get(cid: CID, options?: { offline?: boolean, signal?: AbortSignal }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

export interface BlockFetcherComponents {
  reqresp: Pick<ReqResp, 'requestStream'>
  blockstore: FetchBlocks
  peerFeedback?: { record(peerId: string, outcome: Outcome): unknown }
}

export interface FetchInit {
  roots: CID[]
  /** Peer ids that may hold the blocks (known providers, DHT, connected peers). */
  providers: string[]
  /**
   * More providers found while fetching (the DHT): each joins as it comes;
   * the lookup is aborted once every block is here.
   */
  findProviders?: (signal: AbortSignal) => AsyncIterable<string>
  signal?: AbortSignal
  /** Called for each block stored; `provider` is a peer id or 'bitswap'. */
  onBlock?: (bytes: number, provider: string) => void
  /** Called with each block once it is verified and stored (the file writer takes it from here). */
  onStored?: (cid: CID, block: Uint8Array) => void
}

export interface FetchResult {
  /** Blocks fetched and stored now. */
  fetched: number
  fetchedBytes: number
  /** Blocks that were held already. */
  held: number
  /** Peers that sent at least one block (plus 'bitswap' when it had to help). */
  providersUsed: string[]
}

export interface BlockFetcherInit {
  batchBlocks?: number
  requestsPerProvider?: number
  bitswapBlockTimeoutMs?: number
  bitswapConcurrency?: number
}

export class BlockFetcher {
  private readonly c: BlockFetcherComponents
  private readonly init: Required<BlockFetcherInit>

  constructor (components: BlockFetcherComponents, init: BlockFetcherInit = {}) {
    this.c = components
    this.init = {
      batchBlocks: Math.min(init.batchBlocks ?? INSTALL_DEFAULTS.batchBlocks, MAX_BATCH_BLOCKS),
      requestsPerProvider: init.requestsPerProvider ?? INSTALL_DEFAULTS.requestsPerProvider,
      bitswapBlockTimeoutMs: init.bitswapBlockTimeoutMs ?? INSTALL_DEFAULTS.bitswapBlockTimeoutMs,
      bitswapConcurrency: init.bitswapConcurrency ?? INSTALL_DEFAULTS.bitswapConcurrency
    }
  }

  async fetch (init: FetchInit): Promise<FetchResult> {
    const run = new FetchRun(this.c, this.init, init)
    return await run.go()
  }
}

/** One fetch: the shared queue, the providers' workers, the bitswap tail. */
class FetchRun {
  private readonly pending: CID[] = []
  private readonly seen = new Set<string>()
  /** Providers each CID was refused by (don't have). */
  private readonly refusedBy = new Map<string, Set<string>>()
  private readonly dead = new Set<string>()
  private inFlight = 0
  /** A block that could not be stored here (disk full…): the install fails with it. */
  private failure: unknown
  /** Workers still running (for the size of a fair share). */
  private workers = 1
  private wake: Array<() => void> = []
  private readonly result: FetchResult = { fetched: 0, fetchedBytes: 0, held: 0, providersUsed: [] }
  private readonly used = new Set<string>()
  private readonly signal: AbortSignal
  private readonly c: BlockFetcherComponents
  private readonly options: Required<BlockFetcherInit>
  private readonly init: FetchInit

  constructor (components: BlockFetcherComponents, options: Required<BlockFetcherInit>, init: FetchInit) {
    this.c = components
    this.options = options
    this.init = init
    this.signal = init.signal ?? new AbortController().signal
  }

  async go (): Promise<FetchResult> {
    for (const root of this.init.roots) await this.enqueue(root)
    const running: Array<Promise<void>> = []
    const started = new Set<string>()
    let joined: () => void = () => {}
    const start = (peer: string): void => {
      if (started.has(peer)) return
      started.add(peer)
      this.workers = Math.max(1, started.size * this.options.requestsPerProvider)
      for (let i = 0; i < this.options.requestsPerProvider; i++) running.push(this.worker(peer))
      joined()
    }
    for (const peer of this.init.providers) start(peer)
    const lookup = new AbortController()
    let lookupDone = this.init.findProviders === undefined
    const finding = (async () => {
      if (this.init.findProviders === undefined) return
      try {
        for await (const peer of this.init.findProviders(AbortSignal.any([lookup.signal, this.signal]))) start(peer)
      } catch {
        // no DHT, or it gave up: the providers we have will do
      } finally {
        lookupDone = true
        joined()
      }
    })()
    try {
      for (;;) {
        const now = running.length
        await Promise.all(running)
        if (running.length > now) continue // providers joined meanwhile
        if (this.pending.length === 0 || lookupDone || this.signal.aborted || this.failure !== undefined) break
        await new Promise<void>(resolve => { joined = resolve })
      }
    } finally {
      lookup.abort()
      await finding
    }
    this.throwIfAborted()
    if (this.failure !== undefined) throw this.failure
    if (this.pending.length > 0) await this.bitswapTail()
    this.result.providersUsed = [...this.used]
    return this.result
  }

  /** Queue a CID, or walk into it when it is held already (its children may not be). */
  private async enqueue (cid: CID): Promise<void> {
    const key = cid.toString()
    if (this.seen.has(key)) return
    this.seen.add(key)
    if (await this.c.blockstore.has(cid)) {
      this.result.held++
      if (cid.code === dagPb.code) {
        const block = await readBlock(this.c.blockstore, cid, { offline: true })
        for (const child of childrenOf(block)) await this.enqueue(child)
      }
      return
    }
    this.pending.push(cid)
    this.notify()
  }

  private async worker (peer: string): Promise<void> {
    while (!this.dead.has(peer) && !this.signal.aborted && this.failure === undefined) {
      const batch = this.take(peer)
      if (batch.length === 0) {
        if (this.inFlight === 0) return // nothing left this peer can give, and nothing on its way that could add children
        await new Promise<void>(resolve => this.wake.push(resolve))
        continue
      }
      this.inFlight += batch.length
      let done = 0
      // blocks are stored while the next ones arrive: awaiting each write would stall the stream
      const storing: Array<Promise<void>> = []
      let failed = false
      try {
        const frames = this.c.reqresp.requestStream(peer, BLOCKS_PROTOCOL, { cids: batch.map(cid => cid.toString()) }, { signal: this.signal })
        for await (const frame of frames) {
          const cid = batch[done]
          if (cid === undefined) throw new Error('more blocks than asked')
          done++
          if (!frame.have) {
            this.refuse(cid, peer)
            continue
          }
          if (!verifyBlock(cid, frame.block)) {
            this.c.peerFeedback?.record(peer, 'invalid')
            this.dead.add(peer)
            this.pending.push(cid)
            break
          }
          storing.push(this.store(cid, frame.block, peer).catch(err => { this.failure ??= err }))
        }
        if (done === batch.length && batch.every(cid => this.refusedBy.get(cid.toString())?.has(peer) === true)) {
          this.dead.add(peer) // it holds none of what we asked: it does not have the package
        }
      } catch {
        // stalled, gone, broken or over its stream limit: what it still owed goes to the others, and
        // this request slot closes (a provider whose every slot failed is out)
        failed = true
      } finally {
        await Promise.all(storing)
        this.pending.push(...batch.slice(done))
        this.inFlight -= batch.length
        this.notify()
      }
      if (failed) return
    }
  }

  /**
   * Up to a batch of pending CIDs this peer has not refused — a share of
   * what is pending when that is little, so every provider gets some.
   */
  private take (peer: string): CID[] {
    const batch: CID[] = []
    const share = Math.ceil(this.pending.length / this.workers)
    const size = Math.max(1, Math.min(this.options.batchBlocks, share))
    for (let i = 0; i < this.pending.length && batch.length < size;) {
      const cid = this.pending[i] as CID
      if (this.refusedBy.get(cid.toString())?.has(peer) === true) { i++; continue }
      this.pending.splice(i, 1)
      batch.push(cid)
    }
    return batch
  }

  private refuse (cid: CID, peer: string): void {
    const key = cid.toString()
    const set = this.refusedBy.get(key) ?? new Set<string>()
    set.add(peer)
    this.refusedBy.set(key, set)
    this.pending.push(cid)
  }

  private async store (cid: CID, block: Uint8Array, provider: string): Promise<void> {
    await this.c.blockstore.put(cid, block)
    this.result.fetched++
    this.result.fetchedBytes += block.byteLength
    this.used.add(provider)
    this.init.onBlock?.(block.byteLength, provider)
    this.init.onStored?.(cid, block)
    if (cid.code === dagPb.code) for (const child of childrenOf(block)) await this.enqueue(child)
  }

  private notify (): void {
    const waiting = this.wake
    this.wake = []
    for (const resolve of waiting) resolve()
  }

  /** Blocks none of our providers had: bitswap (it verifies against the CID itself). */
  private async bitswapTail (): Promise<void> {
    const workers = Array.from({ length: this.options.bitswapConcurrency }, async () => {
      for (let cid = this.pending.shift(); cid !== undefined; cid = this.pending.shift()) {
        this.throwIfAborted()
        const signal = AbortSignal.any([this.signal, AbortSignal.timeout(this.options.bitswapBlockTimeoutMs)])
        let block: Uint8Array
        try {
          block = await readBlock(this.c.blockstore, cid, { signal })
        } catch (err) {
          this.throwIfAborted()
          throw new AgoraError('E1446', 'a block of the package could not be fetched', { why: `no provider sent ${cid.toString()}`, cause: err })
        }
        this.result.fetched++
        this.result.fetchedBytes += block.byteLength
        this.used.add('bitswap')
        this.init.onBlock?.(block.byteLength, 'bitswap')
        this.init.onStored?.(cid, block)
        if (cid.code === dagPb.code) for (const child of childrenOf(block)) await this.enqueue(child)
      }
    })
    await Promise.all(workers)
  }

  private throwIfAborted (): void {
    if (this.signal.aborted) throw new AgoraError('E1447', 'the install was interrupted', { why: 'it was cancelled; the blocks fetched so far are kept', cause: this.signal.reason })
  }
}

function childrenOf (block: Uint8Array): CID[] {
  return dagPb.decode(block).Links.map(link => link.Hash)
}

/** The block hashes to its CID (sha2-256 only: anything else is left to bitswap, which knows more hashers). */
export function verifyBlock (cid: CID, block: Uint8Array): boolean {
  if (cid.multihash.code !== SHA2_256) return false
  const digest = createHash('sha256').update(block).digest()
  const expected = cid.multihash.digest
  return digest.length === expected.length && digest.equals(expected)
}
