/**
 * The block server reads the next blocks of a request from disk while it
 * sends one: the answer keeps the order asked, and a request its asker
 * abandons leaves no read behind that fails unheard (an unhandled
 * rejection would end the process). A block read with its frame tag in
 * front is encoded as a view; any other block as a copy — the same bytes.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { blocksCodec, type BlockFrame, type BlocksRequest } from '../../../src/packages/install/block-protocol.ts'
import { readBlockAfter } from '../../../src/packages/install/read-block.ts'
import { BlockServer } from '../../../src/packages/install/block-server.ts'
import type { StreamingHandler } from '../../../src/protocols/reqresp/index.ts'

async function serverWith (blocks: Uint8Array[], failAt: number): Promise<{ serve: (req: BlocksRequest) => AsyncIterable<BlockFrame>, cids: string[], reads: number[] }> {
  const cids = await Promise.all(blocks.map(async b => CID.createV1(raw.code, await sha256.digest(b)).toString()))
  const reads: number[] = []
  let handler: StreamingHandler<BlocksRequest, BlockFrame> | undefined
  const server = new BlockServer({
    reqresp: { handleStream: async (_def: unknown, h: unknown) => { handler = h as StreamingHandler<BlocksRequest, BlockFrame> }, unhandle: async () => {} } as never,
    blockstore: {
      has: () => true,
      get: async function * (cid) {
        const i = cids.indexOf(cid.toString())
        reads.push(i)
        await new Promise(resolve => setTimeout(resolve, 5))
        if (i === failAt) throw new Error('disk error')
        yield blocks[i] as Uint8Array
      }
    }
  }, { wantsPerPeer: 64 })
  await server.start()
  const signal = new AbortController().signal
  return { serve: req => (handler as StreamingHandler<BlocksRequest, BlockFrame>)(req, { peerId: 'p', remoteAddr: '/ip4/127.0.0.1', signal }), cids, reads }
}

describe('install: the block server reads ahead', () => {
  test('blocks come back in the order asked while the next ones are read meanwhile', async () => {
    const blocks = Array.from({ length: 6 }, () => randomBytes(64))
    const s = await serverWith(blocks, -1)
    const got: Uint8Array[] = []
    for await (const frame of s.serve({ cids: s.cids })) if (frame.have) got.push(Buffer.from(frame.block))
    assert.deepEqual(got, blocks)
    assert.deepEqual([...s.reads].sort(), [0, 1, 2, 3, 4, 5])
  })

  test('a request abandoned after its first block leaves no failing read unhandled', async () => {
    const blocks = Array.from({ length: 4 }, () => randomBytes(64))
    const s = await serverWith(blocks, 1)
    let unhandled: unknown
    const onUnhandled = (err: unknown): void => { unhandled = err }
    process.on('unhandledRejection', onUnhandled)
    try {
      for await (const frame of s.serve({ cids: s.cids })) { assert.equal(frame.have, true); break }
      await new Promise(resolve => setTimeout(resolve, 50)) // the read of block 1 fails meanwhile
      assert.ok(s.reads.includes(1), 'block 1 was read ahead')
      assert.equal(unhandled, undefined)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  test('a frame is the tag byte and the block, whether the tag sat before it already or not', async () => {
    const block = randomBytes(3000)
    const cid = CID.createV1(raw.code, await sha256.digest(block))
    const chunked = { get: function * () { yield block.subarray(0, 1000); yield block.subarray(1000) } }
    const framed = await readBlockAfter(chunked, cid, 0x01)
    assert.deepEqual(framed, new Uint8Array(block))
    const expected = Uint8Array.from([0x01, ...block])
    const viaView = blocksCodec.encode({ have: true, block: framed })
    assert.equal(viaView.buffer, framed.buffer, 'no copy: a view of the read buffer')
    assert.deepEqual(viaView, expected)
    const other = new Uint8Array(3001)
    other[0] = 0x07
    other.set(block, 1)
    const viaCopy = blocksCodec.encode({ have: true, block: other.subarray(1) })
    assert.notEqual(viaCopy.buffer, other.buffer)
    assert.deepEqual(viaCopy, expected)
    assert.deepEqual(blocksCodec.decode(viaView), { have: true, block: new Uint8Array(block) })
  })
})
