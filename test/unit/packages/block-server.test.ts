/**
 * Serving /agora/blocks/1: blocks we hold, "don't have" at once for the
 * rest (and a peer that keeps asking for what we lack is counted against
 * it), at most wantsPerPeer blocks asked by one peer at a time (E1453),
 * nothing fetched from the network on a peer's behalf; the codec keeps a
 * block's bytes as they are.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { isAgoraError } from '../../../src/errors.ts'
import { blocksCodec, type BlockFrame, type BlocksRequest } from '../../../src/packages/install/block-protocol.ts'
import { verifyBlock } from '../../../src/packages/install/block-fetcher.ts'
import { BlockServer } from '../../../src/packages/install/block-server.ts'
import type { HandlerContext, StreamingHandler } from '../../../src/protocols/reqresp/index.ts'

async function rawCid (bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(bytes))
}

function harness (wantsPerPeer: number): { server: BlockServer, serve: (req: BlocksRequest, peer?: string) => AsyncIterable<BlockFrame>, held: Map<string, Uint8Array>, outcomes: string[], offline: boolean[] } {
  const held = new Map<string, Uint8Array>()
  const outcomes: string[] = []
  const offline: boolean[] = []
  let handler: StreamingHandler<BlocksRequest, BlockFrame> | undefined
  const server = new BlockServer({
    reqresp: {
      handleStream: async (_def: unknown, h: unknown) => { handler = h as StreamingHandler<BlocksRequest, BlockFrame> },
      unhandle: async () => {}
    } as never,
    blockstore: {
      has: cid => held.has(cid.toString()),
      get: (cid, options) => { offline.push(options?.offline === true); return [held.get(cid.toString()) as Uint8Array] }
    },
    peerFeedback: { record: (peer, outcome) => { outcomes.push(`${peer}:${outcome}`) }, isBanned: () => false }
  }, { wantsPerPeer, missesPerStrike: 4 })
  const context = (peerId: string): HandlerContext => ({ peerId, remoteAddr: '/ip4/127.0.0.1', signal: new AbortController().signal })
  return {
    server,
    serve: (req, peer = 'peer-1') => {
      if (handler === undefined) throw new Error('not started')
      return handler(req, context(peer))
    },
    held,
    outcomes,
    offline
  }
}

async function collect (frames: AsyncIterable<BlockFrame>): Promise<BlockFrame[]> {
  const out: BlockFrame[] = []
  for await (const frame of frames) out.push(frame)
  return out
}

describe('install: the block server', () => {
  test('held blocks come back in order, from the local store only; missing ones as "don\'t have"', async () => {
    const h = harness(64)
    await h.server.start()
    const one = new TextEncoder().encode('one')
    const cid1 = await rawCid(one)
    h.held.set(cid1.toString(), one)
    const missing = await rawCid(new TextEncoder().encode('nobody has me'))
    const frames = await collect(h.serve({ cids: [cid1.toString(), missing.toString()] }))
    assert.deepEqual(frames, [{ have: true, block: one }, { have: false }])
    assert.deepEqual(h.offline, [true])
    assert.equal(h.server.stats.served, 1)
    assert.equal(h.server.stats.missing, 1)
  })

  test('asking for blocks we lack costs the asker: every 4th miss is a failure on its record', async () => {
    const h = harness(64)
    await h.server.start()
    const cids = await Promise.all(Array.from({ length: 9 }, async (_, i) => (await rawCid(Uint8Array.of(i))).toString()))
    await collect(h.serve({ cids }, 'greedy'))
    assert.deepEqual(h.outcomes, ['greedy:failure', 'greedy:failure'])
  })

  test('more than wantsPerPeer blocks asked at once is refused with E1453; the count frees up when an answer ends', async () => {
    const h = harness(3)
    await h.server.start()
    const cids = await Promise.all(Array.from({ length: 4 }, async (_, i) => (await rawCid(Uint8Array.of(100 + i))).toString()))
    await assert.rejects(collect(h.serve({ cids })), (err: unknown) => isAgoraError(err) && err.code === 'E1453')
    const first = h.serve({ cids: cids.slice(0, 2) })[Symbol.asyncIterator]()
    await first.next() // two blocks now asked of us by peer-1
    await assert.rejects(collect(h.serve({ cids: cids.slice(0, 2) })), (err: unknown) => isAgoraError(err) && err.code === 'E1453')
    assert.equal((await collect(h.serve({ cids: cids.slice(0, 2) }, 'peer-2'))).length, 2, 'another peer has its own allowance')
    await first.return?.()
    assert.equal((await collect(h.serve({ cids: cids.slice(0, 3) }))).length, 3)
  })

  test('the codec carries raw block bytes and JSON requests; a block is checked against its CID', async () => {
    const block = new Uint8Array([0x7b, 1, 2, 3])
    assert.deepEqual(blocksCodec.decode(blocksCodec.encode({ have: true, block })), { have: true, block })
    assert.deepEqual(blocksCodec.decode(blocksCodec.encode({ have: false })), { have: false })
    assert.deepEqual(blocksCodec.decode(blocksCodec.encode({ cids: ['x'] })), { cids: ['x'] })
    assert.throws(() => blocksCodec.decode(Uint8Array.of(0x09)))
    const cid = await rawCid(block)
    assert.equal(verifyBlock(cid, block), true)
    assert.equal(verifyBlock(cid, Uint8Array.of(0x7b, 1, 2, 4)), false)
  })
})
