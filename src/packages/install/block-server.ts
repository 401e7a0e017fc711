/**
 * Serving `/agora/blocks/1`: blocks we hold, from the local blockstore only
 * (never a network fetch on a peer's behalf). Limits: a peer may have at
 * most `wantsPerPeer` blocks asked of us at once (over it: E1453); asking
 * for blocks we do not hold is answered at once with "don't have", and a
 * peer that keeps doing it is counted against its reputation — it costs
 * the asker, not us.
 */
import { CID } from 'multiformats/cid'
import { AgoraError } from '../../errors.ts'
import type { Outcome } from '../../peers/reputation.ts'
import type { HandlerContext, ReqResp } from '../../protocols/reqresp/index.ts'
import { BLOCKS_PROTOCOL, HAVE_TAG, type BlockFrame, type BlocksRequest } from './block-protocol.ts'
import { readBlockAfter } from './read-block.ts'

/** Peers whose misses (asks for blocks we do not hold) are tallied at once. */
const MAX_MISS_TALLIES = 10_000

/** Blocks read from disk ahead of the one being sent, per request. */
const READ_AHEAD = 2

/** What serving needs of a blockstore: Helia's, asked offline. */
export interface LocalBlocks {
  has(cid: CID): Promise<boolean> | boolean
  get(cid: CID, options?: { offline?: boolean, signal?: AbortSignal }): AsyncIterable<Uint8Array> | Iterable<Uint8Array>
}

export interface BlockServerComponents {
  reqresp: Pick<ReqResp, 'handleStream' | 'unhandle'>
  blockstore: LocalBlocks
  peerFeedback?: { record(peerId: string, outcome: Outcome): unknown, isBanned(peerId: string): boolean }
}

export interface BlockServerInit {
  /** Blocks one peer may have asked of us at once (config packages.wantsPerPeer). */
  wantsPerPeer: number
  /** "Don't have" answers to one peer before each one counts against it. */
  missesPerStrike?: number
}

export class BlockServer {
  private readonly c: BlockServerComponents
  private readonly wantsPerPeer: number
  private readonly missesPerStrike: number
  private readonly inFlight = new Map<string, number>()
  private readonly misses = new Map<string, number>()
  /** Blocks served and "don't have" answers, for tests and metrics. */
  readonly stats = { served: 0, missing: 0, refused: 0 }

  constructor (components: BlockServerComponents, init: BlockServerInit) {
    this.c = components
    this.wantsPerPeer = init.wantsPerPeer
    this.missesPerStrike = init.missesPerStrike ?? 64
  }

  async start (): Promise<void> {
    await this.c.reqresp.handleStream(BLOCKS_PROTOCOL, (request, context) => this.serve(request, context), {
      admit: peerId => this.c.peerFeedback?.isBanned(peerId) === true ? new AgoraError('E1453', 'blocks refused', { why: 'the peer is banned' }) : undefined
    })
  }

  async stop (): Promise<void> {
    await this.c.reqresp.unhandle(BLOCKS_PROTOCOL.id)
    this.inFlight.clear()
    this.misses.clear()
  }

  private async * serve (request: BlocksRequest, context: HandlerContext): AsyncGenerator<BlockFrame> {
    const peer = context.peerId
    const held = this.inFlight.get(peer) ?? 0
    if (held + request.cids.length > this.wantsPerPeer) {
      this.stats.refused++
      throw new AgoraError('E1453', 'too many blocks asked at once', { why: `${held + request.cids.length} wanted, at most ${this.wantsPerPeer} per peer` })
    }
    this.inFlight.set(peer, held + request.cids.length)
    try {
      // the next blocks are read from disk while this one is sent (bounded: READ_AHEAD blocks held)
      const reads: Array<Promise<Uint8Array<ArrayBuffer> | undefined>> = []
      const read = (i: number): void => {
        const text = request.cids[i]
        if (text === undefined || reads[i] !== undefined) return
        const reading = this.load(CID.parse(text), context.signal)
        reading.catch(() => {}) // awaited below; a request abandoned early must not leave it unhandled
        reads[i] = reading
      }
      for (let i = 0; i < request.cids.length; i++) {
        for (let ahead = i; ahead <= i + READ_AHEAD; ahead++) read(ahead)
        const block = await reads[i]
        delete reads[i]
        if (block === undefined) {
          this.stats.missing++
          this.miss(peer)
          yield { have: false }
          continue
        }
        this.stats.served++
        yield { have: true, block }
      }
    } finally {
      const now = (this.inFlight.get(peer) ?? 0) - request.cids.length
      if (now <= 0) this.inFlight.delete(peer)
      else this.inFlight.set(peer, now)
    }
  }

  /** A block we hold, or undefined. */
  private async load (cid: CID, signal: AbortSignal): Promise<Uint8Array<ArrayBuffer> | undefined> {
    if (!await this.c.blockstore.has(cid)) return undefined
    // read with the frame's tag byte in front: the codec then sends it without copying the block again
    return await readBlockAfter(this.c.blockstore, cid, HAVE_TAG, { offline: true, signal })
  }

  private miss (peer: string): void {
    const count = (this.misses.get(peer) ?? 0) + 1
    // bounded however many peers ask: the oldest tally goes first
    if (count === 1 && this.misses.size >= MAX_MISS_TALLIES) this.misses.delete(this.misses.keys().next().value as string)
    if (count < this.missesPerStrike) {
      this.misses.set(peer, count)
      return
    }
    this.misses.delete(peer)
    this.c.peerFeedback?.record(peer, 'failure')
  }
}
