/**
 * Stream reuse (`reuseStreams`) over in-memory stream pairs: a stub libp2p
 * that counts the streams it opens and keeps the serving ends, so a test
 * can see which stream carried a request, close one under the caller, or
 * count the streams still open.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { Registry } from 'prom-client'
import { z } from 'zod'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'
import { defineProtocol, defineStreamingProtocol, STATUS, type ReqResp, type StreamReuse } from '../../../src/protocols/index.ts'
import { memoryEngines } from '../../harness/memory-engines.ts'
import { waitFor } from '../../harness/wait.ts'
import type { PeerId, Stream } from '@libp2p/interface'

interface Harness {
  client: ReqResp
  server: ReqResp
  registry: Registry
  peerId: PeerId
  /** Streams the client opened. */
  dials: () => number
  /** Serving ends of the streams, in the order they were opened. */
  inbound: Stream[]
  /** Serving ends still open. */
  open: () => number
  /** Hand a raw stream end to the server's handler for `protocol`, as libp2p would. */
  serve: (protocol: string, stream: Stream) => void
  stop: () => Promise<void>
}

async function harness (): Promise<Harness> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const caller = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const registry = new Registry()
  const engines = await memoryEngines(caller, { clientMetrics: registry })
  return {
    ...engines,
    registry,
    peerId,
    open: () => engines.inbound.filter(s => s.status === 'open').length
  }
}

async function streams (registry: Registry, source: string): Promise<number> {
  const values = (await registry.getSingleMetric('agora_reqresp_outbound_streams_total')?.get())?.values ?? []
  return values.filter(v => v.labels.source === source).reduce((sum, v) => sum + v.value, 0)
}

const REUSE: Partial<StreamReuse> = { maxIdlePerPeer: 4, maxIdle: 8, idleMs: 5000 }

const add = defineProtocol({
  id: '/agora/test-reuse-add/1',
  request: z.object({ a: z.number(), b: z.number() }),
  response: z.object({ sum: z.number() }),
  maxRequestBytes: 100,
  maxResponseBytes: 100,
  reuseStreams: REUSE
})

const count = defineStreamingProtocol({
  id: '/agora/test-reuse-count/1',
  request: z.object({ to: z.number(), stallAfter: z.number().optional() }),
  response: z.object({ i: z.number() }),
  maxRequestBytes: 100,
  maxResponseBytes: 100,
  timeouts: { firstByteMs: 200, responseMs: 200 },
  reuseStreams: REUSE
})

async function serveAdd (h: Harness): Promise<void> {
  await h.server.handle(add, async request => {
    if (request.a < 0) throw new AgoraError('E117', 'negative')
    return { sum: request.a + request.b }
  })
}

async function collect (h: Harness, to: number): Promise<number[]> {
  const out: number[] = []
  for await (const frame of h.client.requestStream(h.peerId, count, { to })) out.push(frame.i)
  return out
}

describe('protocols: reqresp stream reuse', () => {
  test('one stream carries N sequential requests, unary and streamed; a remote error keeps it', async () => {
    const h = await harness()
    await serveAdd(h)
    await h.server.handleStream(count, async function * (request) {
      for (let i = 0; i < request.to; i++) yield { i }
    })
    try {
      for (let n = 0; n < 20; n++) assert.deepEqual(await h.client.request(h.peerId, add, { a: n, b: 1 }), { sum: n + 1 })
      assert.equal(h.dials(), 1)
      await assert.rejects(h.client.request(h.peerId, add, { a: -1, b: 0 }), (err: unknown) => isAgoraError(err, 'E117'))
      assert.deepEqual(await h.client.request(h.peerId, add, { a: 2, b: 2 }), { sum: 4 })
      assert.equal(h.dials(), 1, 'an ERROR frame ends the answer cleanly: the stream stays in use')
      for (let n = 0; n < 10; n++) assert.deepEqual(await collect(h, 5), [0, 1, 2, 3, 4])
      assert.equal(h.dials(), 2, 'one stream per protocol')
      assert.equal(h.client.idleStreams(add.id, h.peerId.toString()), 1)
      assert.equal(h.client.idleStreams(count.id), 1)
      assert.equal(await streams(h.registry, 'reused'), 30)
      assert.equal(await streams(h.registry, 'new'), 2)
      assert.equal(h.open(), 2)
    } finally {
      await h.stop()
    }
  })

  test('a request abandoned mid-answer or timed out: its stream is closed, not reused', async () => {
    const h = await harness()
    const cancelled: number[] = []
    await h.server.handleStream(count, async function * (request, { signal }) {
      for (let i = 0; i < request.to; i++) {
        if (request.stallAfter === i) await new Promise(resolve => { signal.addEventListener('abort', resolve, { once: true }) })
        if (signal.aborted) {
          cancelled.push(i)
          return
        }
        yield { i }
      }
    })
    try {
      assert.deepEqual(await collect(h, 3), [0, 1, 2])
      const first = h.inbound[0] as Stream
      // the consumer leaves after two frames: the server's handler sees the cancel
      for await (const frame of h.client.requestStream(h.peerId, count, { to: 100, stallAfter: 5 })) if (frame.i === 1) break
      await waitFor('the handler to see the cancel', () => cancelled.length === 1)
      assert.notEqual(first.status, 'open')
      assert.equal(h.client.idleStreams(count.id), 0)
      assert.deepEqual(await collect(h, 2), [0, 1])
      assert.equal(h.dials(), 2)
      // no frame in time (E204, response): that stream goes too
      await assert.rejects(collectStalled(h), (err: unknown) => isAgoraError(err, 'E204') && /\(response\)/.test(err.why ?? ''))
      assert.equal(h.client.idleStreams(count.id), 0)
      await waitFor('the stalled stream to close on the server', () => h.open() === 0)
      assert.deepEqual(await collect(h, 1), [0])
      assert.equal(h.dials(), 3)
    } finally {
      await h.stop()
    }
  })

  test('a pooled stream closed under the caller: the request goes out again on a new stream, transparently', async () => {
    const h = await harness()
    await serveAdd(h)
    try {
      assert.deepEqual(await h.client.request(h.peerId, add, { a: 1, b: 1 }), { sum: 2 })
      // the server drops the idle stream; the caller has not heard of it yet when it sends the next request
      ;(h.inbound[0] as Stream).abort(new Error('server went away'))
      assert.deepEqual(await h.client.request(h.peerId, add, { a: 2, b: 1 }), { sum: 3 })
      assert.equal(h.dials(), 2)
      assert.equal(await streams(h.registry, 'stale'), 1)
      // the same after a server restart, which closes every idle stream it serves
      await h.server.stop()
      await h.server.start()
      assert.deepEqual(await h.client.request(h.peerId, add, { a: 3, b: 1 }), { sum: 4 })
      assert.equal(h.dials(), 3)
      assert.deepEqual(await h.client.request(h.peerId, add, { a: 4, b: 1 }), { sum: 5 })
      assert.equal(h.dials(), 3)
    } finally {
      await h.stop()
    }
  })

  test('the pool is bounded per peer and in all; idle streams close after idleMs', async () => {
    const h = await harness()
    const bounded = defineProtocol({ ...add, id: '/agora/test-reuse-bounded/1', reuseStreams: { maxIdlePerPeer: 2, maxIdle: 3, idleMs: 150 } })
    await h.server.handle(bounded, async request => ({ sum: request.a + request.b }))
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    try {
      // five at once need five streams; two stay for the next requests
      const sums = await Promise.all([1, 2, 3, 4, 5].map(async a => await h.client.request(h.peerId, bounded, { a, b: 0 })))
      assert.deepEqual(sums.map(s => s.sum), [1, 2, 3, 4, 5])
      assert.equal(h.dials(), 5)
      assert.equal(h.client.idleStreams(bounded.id, h.peerId.toString()), 2)
      await waitFor('the extra streams to close', () => h.open() === 2)
      // a second peer (the stub routes it to the same server): at most three idle in all
      await Promise.all([1, 2].map(async a => await h.client.request(other, bounded, { a, b: 0 })))
      assert.equal(h.client.idleStreams(bounded.id, other.toString()), 2)
      assert.equal(h.client.idleStreams(bounded.id), 3)
      assert.equal(h.client.idleStreams(bounded.id, h.peerId.toString()), 1, 'the least recently used went first')
      await waitFor('idle streams to time out', () => h.client.idleStreams(bounded.id) === 0 && h.open() === 0)
    } finally {
      await h.stop()
    }
  })

  test('the server ends a reused stream when the caller closes its side, or after twice idleMs', async () => {
    const h = await harness()
    const short = defineProtocol({ ...add, id: '/agora/test-reuse-short/1', reuseStreams: { idleMs: 50 } })
    await h.server.handle(short, async request => ({ sum: request.a + request.b }))
    try {
      // a caller that sends one request and half-closes (one request per stream) gets its answer, then the end
      const [outbound, serving] = await streamPair()
      h.serve(short.id, serving)
      const lp = lpStream(outbound)
      await lp.write(new TextEncoder().encode(JSON.stringify({ a: 1, b: 2 })))
      await outbound.close()
      const answer = (await lp.read({ signal: AbortSignal.timeout(2000) })).subarray()
      assert.equal(answer[0], STATUS.OK)
      assert.deepEqual(JSON.parse(new TextDecoder().decode(answer.subarray(1))), { sum: 3 })
      await waitFor('the server to close its side', () => outbound.status === 'closed')
      // a stream left idle by a caller that never closes it is closed by the server
      const [idle, idleServing] = await streamPair()
      h.serve(short.id, idleServing)
      const idleLp = lpStream(idle)
      await idleLp.write(new TextEncoder().encode(JSON.stringify({ a: 2, b: 2 })))
      assert.equal((await idleLp.read({ signal: AbortSignal.timeout(2000) })).subarray()[0], STATUS.OK)
      await waitFor('the server to end the idle stream', () => idle.remoteWriteStatus === 'closed', { timeoutMs: 2000 })
    } finally {
      await h.stop()
    }
  })

  test('reuse settings are checked with the definition', () => {
    assert.throws(() => defineProtocol({ ...add, reuseStreams: { idleMs: 0 } }), (err: unknown) => isAgoraError(err, 'E599') && /idleMs/.test(err.why ?? ''))
    assert.throws(() => defineProtocol({ ...add, reuseStreams: { maxIdlePerPeer: -1 } }), (err: unknown) => isAgoraError(err, 'E599') && /maxIdlePerPeer/.test(err.why ?? ''))
    assert.throws(() => defineStreamingProtocol({ ...count, reuseStreams: { maxIdle: 1.5 } }), (err: unknown) => isAgoraError(err, 'E599') && /maxIdle/.test(err.why ?? ''))
  })

  test('a caller that reuses streams works with a server that serves one request per stream', async () => {
    const h = await harness()
    // the server's definition does not reuse: it closes after each answer
    await h.server.handle(defineProtocol({ ...add, reuseStreams: false }), async request => ({ sum: request.a + request.b }))
    try {
      for (let n = 0; n < 5; n++) assert.deepEqual(await h.client.request(h.peerId, add, { a: n, b: n }), { sum: 2 * n })
      assert.ok(h.dials() >= 1 && h.dials() <= 5)
      await waitFor('every stream to close', () => h.open() === 0)
    } finally {
      await h.stop()
    }
  })
})

/** A streamed request whose server stops after one frame (E204, response). */
async function collectStalled (h: Harness): Promise<number[]> {
  const out: number[] = []
  for await (const frame of h.client.requestStream(h.peerId, count, { to: 3, stallAfter: 1 })) out.push(frame.i)
  return out
}
