import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import { AgoraError, isAgoraError } from '../../src/errors.ts'
import { VERSION } from '../../src/version.ts'
import { defineProtocol, defineStreamingProtocol, InfoService, ReqResp, STATUS } from '../../src/protocols/index.ts'
import { connectNodes, createTestNodes, waitFor, type TestNode, type TestNodes } from '../harness/libp2p-nodes.ts'
import type { Registry } from 'prom-client'
import type { Stream } from '@libp2p/interface'
import { varint } from '../../src/protocols/reqresp/frame-writer.ts'

const echo = defineProtocol({
  id: '/agora/test-echo/1',
  request: z.object({ text: z.string() }).strict(),
  response: z.object({ text: z.string() }).strict(),
  maxRequestBytes: 256,
  maxResponseBytes: 256
})

const fail = defineProtocol({
  id: '/agora/test-fail/1',
  request: z.object({}),
  response: z.object({}),
  maxRequestBytes: 64,
  maxResponseBytes: 64
})

const stall = defineProtocol({
  id: '/agora/test-stall/1',
  request: z.object({}),
  response: z.object({}),
  maxRequestBytes: 64,
  maxResponseBytes: 64,
  timeouts: { firstByteMs: 150, responseMs: 400 }
})

const limited = defineProtocol({
  id: '/agora/test-limited/1',
  request: z.object({}),
  response: z.object({ n: z.number() }),
  maxRequestBytes: 64,
  maxResponseBytes: 64,
  rateLimit: { perSecond: 0.001, burst: 2 }
})

const count = defineStreamingProtocol({
  id: '/agora/test-count/1',
  request: z.object({ to: z.number().int().max(1000), stallAfter: z.number().int().optional() }),
  response: z.object({ i: z.number() }),
  maxRequestBytes: 64,
  maxResponseBytes: 64,
  timeouts: { firstByteMs: 1000, responseMs: 600 }
})

const bulk = defineStreamingProtocol({
  id: '/agora/test-bulk/1',
  request: z.object({ frames: z.number().int().max(2000), size: z.number().int().max(20_000) }),
  response: z.object({ i: z.number(), pad: z.string() }),
  maxRequestBytes: 64,
  maxResponseBytes: 32 * 1024,
  timeouts: { firstByteMs: 2000, responseMs: 5000 }
})

const warm = defineProtocol({
  id: '/agora/test-warm/1',
  request: z.object({ n: z.number() }),
  response: z.object({ n: z.number() }),
  maxRequestBytes: 64,
  maxResponseBytes: 64,
  reuseStreams: { maxIdlePerPeer: 2, idleMs: 5000 }
})

const warmCount = defineStreamingProtocol({ ...count, id: '/agora/test-warm-count/1', reuseStreams: true })

/** Reused streams whose handler answers slowly (until cancelled), with a short request clock. */
const slowReused = defineStreamingProtocol({
  id: '/agora/test-slow-reused/1',
  request: z.object({ pad: z.string() }),
  response: z.object({ i: z.number() }),
  maxRequestBytes: 64 * 1024,
  maxResponseBytes: 64,
  timeouts: { requestMs: 300, firstByteMs: 5000, responseMs: 5000 },
  reuseStreams: true
})

const tight = defineProtocol({
  id: '/agora/test-tight/1',
  request: z.object({ pad: z.string() }),
  response: z.object({ bytes: z.number() }),
  maxRequestBytes: 40_000,
  maxResponseBytes: 64
})

const gatedOnce = defineProtocol({
  id: '/agora/test-gated-once/1',
  request: z.object({ pad: z.string() }),
  response: z.object({ bytes: z.number() }),
  maxRequestBytes: 8 * 1024 * 1024,
  maxResponseBytes: 64
})

const gated = defineProtocol({
  id: '/agora/test-gated/1',
  request: z.object({ pad: z.string() }),
  response: z.object({ bytes: z.number() }),
  maxRequestBytes: 1024 * 1024,
  maxResponseBytes: 64,
  reuseStreams: true
})

async function streamsBy (registry: Registry | undefined, protocol: string, source: string): Promise<number> {
  const values = (await registry?.getSingleMetric('agora_reqresp_outbound_streams_total')?.get())?.values ?? []
  return values.find(v => v.labels.protocol === protocol && v.labels.source === source)?.value ?? 0
}

async function badFrames (registry: Registry | undefined, protocol: string, reason: string): Promise<number> {
  const metric = registry?.getSingleMetric('agora_reqresp_bad_frames_total')
  if (metric === undefined) return 0
  const values = (await metric.get()).values
  return values.find(v => v.labels.protocol === protocol && v.labels.reason === reason)?.value ?? 0
}

/** Send raw bytes as a request frame and report how the server answered: a frame, a reset or close, or nothing within 5 s. */
async function rawRequest (client: TestNode, server: TestNode, protocol: string, frame: Uint8Array): Promise<'reset' | 'answered' | 'hung'> {
  const stream = await client.libp2p.dialProtocol(server.libp2p.peerId, protocol, { signal: AbortSignal.timeout(5000) })
  const lp = lpStream(stream)
  await lp.write(frame)
  await stream.close()
  const patience = AbortSignal.timeout(5000)
  try {
    await lp.read({ signal: patience })
    return 'answered'
  } catch {
    // a server that never answers nor resets must not pass for one that reset
    if (patience.aborted) {
      stream.abort(new Error('no answer'))
      return 'hung'
    }
    return 'reset'
  }
}

describe('protocols: request/response engine between two real nodes', () => {
  let nodes: TestNodes
  let client: TestNode
  let server: TestNode
  let clientRpc: ReqResp
  let serverRpc: ReqResp
  /** A second engine on the server with a small budget of unread request bytes. */
  let tightRpc: ReqResp
  let info: InfoService
  const cancelled: string[] = []
  let produced = 0
  let admitted = false
  let gatedServed = 0

  before(async () => {
    nodes = await createTestNodes(2, { metrics: true })
    ;[client, server] = nodes.nodes as [TestNode, TestNode]
    clientRpc = new ReqResp({ libp2p: client.libp2p, logger: client.logger, metrics: client.registry }, { maxStreamsPerProtocol: 8 })
    serverRpc = new ReqResp({ libp2p: server.libp2p, logger: server.logger, metrics: server.registry }, { maxStreamsPerProtocol: 8 })
    info = new InfoService({ reqresp: serverRpc, libp2p: server.libp2p })
    await info.start()
    await serverRpc.handle(echo, async request => ({ text: request.text }))
    await serverRpc.handle(fail, async () => { throw new AgoraError('E113', 'signed for another domain', { why: 'test' }) })
    await serverRpc.handle(stall, async (_request, { signal }) => await new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => { reject(signal.reason as Error) }, { once: true })
    }))
    let n = 0
    await serverRpc.handle(limited, async () => ({ n: n++ }))
    await serverRpc.handleStream(count, async function * (request, { signal }) {
      try {
        for (let i = 0; i < request.to; i++) {
          if (request.stallAfter === i) await new Promise(resolve => { signal.addEventListener('abort', resolve, { once: true }) })
          signal.throwIfAborted()
          yield { i }
        }
      } finally {
        if (signal.aborted) cancelled.push('count')
      }
    })
    await serverRpc.handle(warm, async request => ({ n: request.n }))
    await serverRpc.handle(gated, async request => {
      gatedServed++
      return { bytes: request.pad.length }
    }, { admit: () => admitted ? undefined : new AgoraError('E901', 'not trusted here', { why: 'test' }) })
    await serverRpc.handle(gatedOnce, async request => ({ bytes: request.pad.length }), { admit: () => admitted ? undefined : new AgoraError('E901', 'not trusted here', { why: 'test' }) })
    await serverRpc.handleStream(slowReused, async function * (_request, { signal }) {
      yield { i: 0 }
      await new Promise(resolve => { signal.addEventListener('abort', resolve, { once: true }) })
      cancelled.push('slow-reused')
    })
    await serverRpc.handleStream(warmCount, async function * (request) {
      for (let i = 0; i < request.to; i++) yield { i }
    })
    await serverRpc.handleStream(bulk, async function * (request) {
      for (let i = 0; i < request.frames; i++) {
        produced = i + 1
        yield { i, pad: 'x'.repeat(request.size) }
      }
    })
    tightRpc = new ReqResp({ libp2p: server.libp2p, logger: server.logger, metrics: server.registry }, { inboundBudget: { totalBytes: 64_000, perPeerBytes: 48_000 } })
    await tightRpc.handle(tight, async request => ({ bytes: request.pad.length }))
    await tightRpc.start()
    await serverRpc.start()
    await clientRpc.start()
    await connectNodes(client, server)
  })

  after(async () => {
    await clientRpc?.stop()
    await serverRpc?.stop()
    await tightRpc?.stop()
    await nodes?.stop()
  })

  test('info request round trip (by peer id and by multiaddr)', async () => {
    const clientInfo = new InfoService({ reqresp: clientRpc, libp2p: client.libp2p })
    const answer = await clientInfo.request(server.peerId)
    assert.equal(answer.peerId, server.peerId)
    assert.equal(answer.version, VERSION)
    assert.equal(answer.agent, `agora/${VERSION}`)
    assert.ok(answer.listenAddrs.some(address => address.startsWith('/ip4/127.0.0.1/tcp/')))
    assert.ok(Math.abs(answer.time - Date.now()) < 5000)
    const byAddress = await clientInfo.request(server.address.toString())
    assert.equal(byAddress.peerId, server.peerId)
  })

  test("the handler's AgoraError reaches the caller with its code", async () => {
    await assert.rejects(clientRpc.request(server.peerId, fail, {}), (err: unknown) => {
      assert.ok(isAgoraError(err, 'E113'), String(err))
      assert.equal(err.what, 'signed for another domain')
      assert.equal(err.why, 'test')
      assert.equal(err.details?.remote, true)
      return true
    })
  })

  test('a peer that does not answer → E204 (first byte)', async () => {
    const started = Date.now()
    await assert.rejects(clientRpc.request(server.peerId, stall, {}), (err: unknown) => {
      assert.ok(isAgoraError(err, 'E204'), String(err))
      assert.match(err.why ?? '', /first byte/)
      return true
    })
    assert.ok(Date.now() - started < 2000)
  })

  test('a stream that stops mid-way → E204 (response)', async () => {
    const received: number[] = []
    await assert.rejects((async () => {
      for await (const frame of clientRpc.requestStream(server.peerId, count, { to: 10, stallAfter: 3 })) received.push(frame.i)
    })(), (err: unknown) => {
      assert.ok(isAgoraError(err, 'E204'), String(err))
      assert.match(err.why ?? '', /\(response\)/)
      return true
    })
    assert.deepEqual(received, [0, 1, 2])
  })

  test('an oversized frame is dropped and counted; the server keeps serving', async () => {
    const before = await badFrames(server.registry, echo.id, 'oversized')
    const outcome = await rawRequest(client, server, echo.id, new TextEncoder().encode(JSON.stringify({ text: 'x'.repeat(1000) })))
    assert.equal(outcome, 'reset')
    await waitFor(async () => await badFrames(server.registry, echo.id, 'oversized') === before + 1, { what: 'the bad-frame counter' })
    assert.deepEqual(await clientRpc.request(server.peerId, echo, { text: 'still here' }), { text: 'still here' })
  })

  test('garbage and schema-failing frames are dropped and counted; the server keeps serving', async () => {
    const decodeBefore = await badFrames(server.registry, echo.id, 'decode')
    const schemaBefore = await badFrames(server.registry, echo.id, 'schema')
    assert.equal(await rawRequest(client, server, echo.id, new Uint8Array([0xff, 0x00, 0x7b, 0x22])), 'reset')
    assert.equal(await rawRequest(client, server, echo.id, new TextEncoder().encode('{"text":42}')), 'reset')
    await waitFor(async () => await badFrames(server.registry, echo.id, 'decode') === decodeBefore + 1 &&
      await badFrames(server.registry, echo.id, 'schema') === schemaBefore + 1, { what: 'the bad-frame counters' })
    assert.deepEqual(await clientRpc.request(server.peerId, echo, { text: 'ok' }), { text: 'ok' })
  })

  test('over the per-peer rate limit → E206', async () => {
    assert.deepEqual(await clientRpc.request(server.peerId, limited, {}), { n: 0 })
    assert.deepEqual(await clientRpc.request(server.peerId, limited, {}), { n: 1 })
    await assert.rejects(clientRpc.request(server.peerId, limited, {}), (err: unknown) => isAgoraError(err, 'E206'))
  })

  test('a streamed response of 100 frames arrives complete and in order', async () => {
    const received: number[] = []
    for await (const frame of clientRpc.requestStream(server.peerId, count, { to: 100 })) received.push(frame.i)
    assert.deepEqual(received, Array.from({ length: 100 }, (_, i) => i))
  })

  test('breaking out of a streamed response cancels the handler on the server', async () => {
    cancelled.length = 0
    for await (const frame of clientRpc.requestStream(server.peerId, count, { to: 1000, stallAfter: 10 })) {
      if (frame.i === 5) break
    }
    await waitFor(() => cancelled.includes('count'), { what: 'the server handler to see the cancellation' })
  })

  test('a slow consumer holds the producer back (backpressure)', async () => {
    produced = 0
    const frames = clientRpc.requestStream(server.peerId, bulk, { frames: 1000, size: 16 * 1024 })
    const first = await frames.next()
    assert.equal(first.done, false)
    // while we hold the first frame the server may only fill the transport window (~2 MiB = ~130 frames)
    let last = -1
    await waitFor(() => {
      const stable = produced === last
      last = produced
      return stable
    }, { intervalMs: 100, what: 'the producer to stop' })
    assert.ok(produced < 400, `the server produced ${produced} of 1000 frames while the client read 1`)
    let received = 1
    for await (const frame of frames) {
      assert.equal(frame.i, received)
      received++
    }
    assert.equal(received, 1000)
  })

  test('a protocol the peer does not serve → E207; an unreachable peer → E202', async () => {
    const unknown = defineProtocol({ ...echo, id: '/agora/test-unknown/1' })
    await assert.rejects(clientRpc.request(server.peerId, unknown, { text: 'x' }), (err: unknown) => isAgoraError(err, 'E207'))
    await assert.rejects(clientRpc.request('/ip4/127.0.0.1/tcp/1', echo, { text: 'x' }), (err: unknown) => isAgoraError(err, 'E202'))
  })

  test('reused streams: one stream carries requests in a row; a restarted server is asked again on a new stream', async () => {
    for (let n = 0; n < 20; n++) assert.deepEqual(await clientRpc.request(server.peerId, warm, { n }), { n })
    for (let n = 0; n < 5; n++) {
      const received: number[] = []
      for await (const frame of clientRpc.requestStream(server.peerId, warmCount, { to: 50 })) received.push(frame.i)
      assert.equal(received.length, 50)
    }
    assert.equal(await streamsBy(client.registry, warm.id, 'new'), 1)
    assert.equal(await streamsBy(client.registry, warm.id, 'reused'), 19)
    assert.equal(await streamsBy(client.registry, warmCount.id, 'new'), 1)
    assert.equal(await streamsBy(client.registry, warmCount.id, 'reused'), 4)
    // the serving engine restarts: its idle streams are reset, the caller notices or finds out on use
    await serverRpc.stop()
    await serverRpc.start()
    assert.deepEqual(await clientRpc.request(server.peerId, warm, { n: 99 }), { n: 99 })
    assert.equal(await streamsBy(client.registry, warm.id, 'new'), 2)
    assert.deepEqual(await clientRpc.request(server.peerId, warm, { n: 100 }), { n: 100 })
    assert.equal(await streamsBy(client.registry, warm.id, 'new'), 2)
  })

  test('a peer refused by admit hears why before its request is read, and is served once admitted', async () => {
    admitted = false
    // a frame announcing 900,000 bytes with only a few bytes sent: reading it would wait for the rest; the refusal comes at once
    const stream = await client.libp2p.dialProtocol(server.libp2p.peerId, gated.id, { signal: AbortSignal.timeout(5000) })
    const lp = lpStream(stream)
    const announced = new Uint8Array([0xa0, 0xf7, 0x36]) // varint 900_000
    stream.send(announced)
    stream.send(new TextEncoder().encode('{"pad":"'))
    const answer = (await lp.read({ signal: AbortSignal.timeout(2000) })).subarray()
    assert.equal(answer[0], STATUS.ERROR)
    assert.match(new TextDecoder().decode(answer.subarray(1)), /"code":"E901"/)
    stream.abort(new Error('done'))
    await assert.rejects(clientRpc.request(server.peerId, gated, { pad: 'x'.repeat(500_000) }), (err: unknown) => isAgoraError(err, 'E901'))
    assert.equal(gatedServed, 0, 'the handler never ran')
    // one request per stream, and more than libp2p buffers on a stream: the refusal still arrives (the rest is dropped unread)
    await assert.rejects(clientRpc.request(server.peerId, gatedOnce, { pad: 'x'.repeat(7_000_000) }), (err: unknown) => isAgoraError(err, 'E901'))
    admitted = true
    assert.deepEqual(await clientRpc.request(server.peerId, gated, { pad: 'x'.repeat(500_000) }), { bytes: 500_000 })
    assert.deepEqual(await clientRpc.request(server.peerId, gated, { pad: 'y' }), { bytes: 1 })
    assert.equal(gatedServed, 2)
  })

  test('unread request bytes past the peer\'s budget reset that stream only; the bytes come back as requests complete', async () => {
    const body = new TextEncoder().encode(JSON.stringify({ pad: 'p'.repeat(29_980) }))
    const prefix = [...varint(body.byteLength)]
    const open = async (): Promise<{ stream: Stream, lp: ReturnType<typeof lpStream> }> => {
      const stream = await client.libp2p.dialProtocol(server.libp2p.peerId, tight.id, { signal: AbortSignal.timeout(5000) })
      return { stream, lp: lpStream(stream) }
    }
    // two streams each send 20,000 of their 30,000 bytes: 40,000 held, under the peer's 48,000
    const first = await open()
    const second = await open()
    first.stream.send(Uint8Array.from([...prefix, ...body.subarray(0, 20_000)]))
    second.stream.send(Uint8Array.from([...prefix, ...body.subarray(0, 20_000)]))
    await waitFor(() => tightRpc.inboundHeld(tight.id, client.libp2p.peerId.toString()) >= 40_000, { timeoutMs: 5000 }) // both partial requests held
    // the second stream's next 10,000 bytes do not fit: that stream is reset
    second.stream.send(body.subarray(20_000))
    await assert.rejects(second.lp.read({ signal: AbortSignal.timeout(5000) }))
    assert.equal(await badFrames(server.registry, tight.id, 'budget'), 1)
    // the first completes and is answered; everything held is given back
    first.stream.send(body.subarray(20_000))
    const answer = (await first.lp.read({ signal: AbortSignal.timeout(5000) })).subarray()
    assert.equal(answer[0], STATUS.OK)
    assert.match(new TextDecoder().decode(answer.subarray(1)), /"bytes":29980/)
    await waitFor(() => tightRpc.inboundHeld(tight.id) === 0, { timeoutMs: 5000 }) // everything given back
    assert.deepEqual(await clientRpc.request(server.peerId, tight, { pad: 'q'.repeat(30_000) }), { bytes: 30_000 })
  })

  test('bytes of a next request sent while a long answer runs are held for requestMs at most: then the stream goes', async () => {
    const stream = await client.libp2p.dialProtocol(server.libp2p.peerId, slowReused.id, { signal: AbortSignal.timeout(5000) })
    const lp = lpStream(stream)
    const request = new TextEncoder().encode(JSON.stringify({ pad: 'x' }))
    await lp.write(request)
    assert.equal((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray()[0], STATUS.OK, 'the answer has begun')
    // the start of a 60 KB next request, never finished
    const next = new TextEncoder().encode(JSON.stringify({ pad: 'p'.repeat(60_000) }))
    stream.send(Uint8Array.from([...varint(next.byteLength), ...next.subarray(0, 30_000)]))
    await waitFor(() => serverRpc.inboundHeld(slowReused.id) >= 30_000, { what: 'the bytes sent ahead to be held', timeoutMs: 5000 })
    await waitFor(() => stream.status !== 'open', { what: 'the stream to be reset', timeoutMs: 5000 })
    assert.equal(await badFrames(server.registry, slowReused.id, 'ahead'), 1)
    await waitFor(() => cancelled.includes('slow-reused'), { what: 'the long answer to be cancelled', timeoutMs: 5000 })
    await waitFor(() => serverRpc.inboundHeld(slowReused.id) === 0, { what: 'the held bytes to be given back', timeoutMs: 5000 })
  })
})
