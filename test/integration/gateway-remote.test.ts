/**
 * /agora/infer/1 between real libp2p nodes on loopback: a serving node with
 * access control and a scripted local inference, a trusted caller and an
 * untrusted one. Cancels are checked on the serving side (the provider's
 * signal), backpressure by the provider's produced count.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { AccessControl } from '../../src/gateway/access/index.ts'
import { INFER_PROTOCOL_ID, InferenceServer, RemoteInference, type RemoteTimeouts } from '../../src/gateway/remote/index.ts'
import { ReqResp } from '../../src/protocols/index.ts'
import { collectChat } from '../../src/providers/inference.ts'
import { FakeLocalInference, vectorFor } from '../harness/fake-local-inference.ts'
import { connectNodes, createTestNodes, waitFor, type TestNode, type TestNodes } from '../harness/libp2p-nodes.ts'
import type { Registry } from 'prom-client'
import { isCode, drain } from '../harness/checks.ts'

const TIMEOUTS: RemoteTimeouts = { dialMs: 2000, firstTokenMs: 3000, idleMs: 3000, totalMs: 30_000 }

async function metric (registry: Registry | undefined, name: string, labels: Record<string, string>): Promise<number> {
  const values = (await registry?.getSingleMetric(name)?.get())?.values ?? []
  return values.find(v => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value ?? 0
}

const chat = (model: string, content = 'x'): { model: string, messages: Array<{ role: 'user', content: string }> } => ({ model, messages: [{ role: 'user', content }] })

describe('gateway: /agora/infer/1 between real nodes', () => {
  let nodes: TestNodes
  let server: TestNode
  let caller: TestNode
  let stranger: TestNode
  const engines: ReqResp[] = []
  let access: AccessControl
  let inference: InferenceServer
  let local: FakeLocalInference
  let remote: RemoteInference
  let strangerRemote: RemoteInference

  before(async () => {
    nodes = await createTestNodes(3, { metrics: true })
    ;[server, caller, stranger] = nodes.nodes as [TestNode, TestNode, TestNode]
    const rpc = (node: TestNode): ReqResp => {
      const engine = new ReqResp({ libp2p: node.libp2p, logger: node.logger, metrics: node.registry })
      engines.push(engine)
      return engine
    }
    const serverRpc = rpc(server)
    const trusted = new Set([caller.peerId])
    local = new FakeLocalInference()
    access = new AccessControl({ peerBook: { isTrusted: peer => trusted.has(peer), isBanned: () => false }, logger: server.logger, metrics: server.registry }, { selfPeerId: server.peerId })
    inference = new InferenceServer({ reqresp: serverRpc, access, local, logger: server.logger, metrics: server.registry })
    await inference.start()
    for (const engine of [serverRpc, rpc(caller), rpc(stranger)]) await engine.start()
    remote = new RemoteInference({ reqresp: engines[1] as ReqResp, libp2p: caller.libp2p, logger: caller.logger, metrics: caller.registry }, TIMEOUTS)
    strangerRemote = new RemoteInference({ reqresp: engines[2] as ReqResp, libp2p: stranger.libp2p, logger: stranger.logger }, TIMEOUTS)
    await connectNodes(caller, server)
    await connectNodes(stranger, server)
  })

  after(async () => {
    await inference?.stop()
    for (const engine of engines) await engine.stop()
    await nodes?.stop()
  })

  test('chat round trip: streamed deltas, then done with usage', async () => {
    const events = await drain(remote.chatStream(server.peerId, chat('echo', 'the quick brown fox')))
    assert.deepEqual(events.filter(e => e.type === 'delta').map(e => e.type === 'delta' ? e.text : ''), ['the', ' quick', ' brown', ' fox'])
    assert.deepEqual(events.at(-1), { type: 'done', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 4 } })
    // the provider learns who asks (the metering row names the peer)
    assert.deepEqual(local.requester, { kind: 'peer', peerId: caller.peerId })
    assert.equal(await metric(server.registry, 'agora_infer_served_total', { op: 'chat', outcome: 'ok' }), 1)
    assert.equal(await metric(caller.registry, 'agora_infer_remote_requests_total', { op: 'chat', outcome: 'ok' }), 1)
    // the actual usage was charged to the caller
    assert.equal(await metric(server.registry, 'agora_access_tokens_charged_total', {}), 11)
  })

  test('embeddings round trip: 256 inputs of 1024 dimensions arrive in several frames, exact and in order', async () => {
    local.dims = 1024
    try {
      const input = Array.from({ length: 256 }, (_, i) => `input ${i}`)
      const result = await remote.embeddings(server.peerId, { model: 'embed', input })
      assert.equal(result.vectors.length, 256)
      assert.deepEqual(result.vectors, input.map((text, i) => vectorFor(text, i, 1024)))
      assert.deepEqual(result.usage, { promptTokens: 512 })
    } finally {
      local.dims = 8
    }
  })

  test('a peer that never sends a first token → E911 at the caller, the provider call cancelled on the server', async () => {
    const aborted = local.aborted
    const quick = new RemoteInference({ reqresp: engines[1] as ReqResp, libp2p: caller.libp2p, logger: caller.logger }, { ...TIMEOUTS, firstTokenMs: 300 })
    const started = Date.now()
    await assert.rejects(drain(quick.chatStream(server.peerId, chat('never'))), isCode('E911'))
    assert.ok(Date.now() - started < 3000, 'the first-token timer (300 ms) fired: a hang guard at 10×')
    await waitFor(() => local.aborted === aborted + 1, { what: 'the server-side provider call to be aborted' })
    await waitFor(async () => await metric(server.registry, 'agora_infer_served_total', { op: 'chat', outcome: 'cancelled' }) >= 1, { what: 'the cancel to be counted' })
  })

  test('a client disconnecting mid-stream cancels the remote generation', async () => {
    const aborted = local.aborted
    const completed = local.completed
    let deltas = 0
    for await (const event of remote.chatStream(server.peerId, chat('drip'))) {
      if (event.type === 'delta' && ++deltas === 3) break
    }
    await waitFor(() => local.aborted === aborted + 1, { what: 'the server-side provider call to be aborted' })
    assert.equal(local.completed, completed)
  })

  test('a slow consumer slows the server: production stays bounded while the consumer holds', async () => {
    const aborted = local.aborted
    const events = remote.chatStream(server.peerId, chat('flood'))
    const first = await events.next()
    assert.equal(first.done, false)
    let last = -1
    await waitFor(() => {
      const stable = local.produced === last
      last = local.produced
      return stable
    }, { intervalMs: 150, what: 'the producer to stop while the consumer holds' })
    // 20 000 deltas of 4 KiB = 80 MiB; the transport window holds a few MiB at most
    assert.ok(local.produced < 1000, `the server produced ${local.produced} of 20000 deltas while the client read 1`)
    await events.return()
    await waitFor(() => local.aborted === aborted + 1, { what: 'the flood to be cancelled' })
  })

  test('a non-trusted peer in friends mode is refused with E901; private mode refuses with E900', async () => {
    await assert.rejects(drain(strangerRemote.chatStream(server.peerId, chat('echo'))), isCode('E901'))
    access.setTrustMode('private')
    try {
      await assert.rejects(remote.embeddings(server.peerId, { model: 'embed', input: ['x'] }), isCode('E900'))
    } finally {
      access.setTrustMode('friends')
    }
    assert.equal(await metric(server.registry, 'agora_access_refused_total', { code: 'E901' }), 1)
  })

  test('a peer over its rate limit → E904 with retryAfterMs (the API answers 429 + Retry-After)', async () => {
    access.setLimits({ requestsPerMinute: 2 })
    try {
      await collectChat(remote.chatStream(server.peerId, chat('echo')))
      await collectChat(remote.chatStream(server.peerId, chat('echo')))
      await assert.rejects(collectChat(remote.chatStream(server.peerId, chat('echo'))), (err: unknown) => {
        isCode('E904')(err)
        assert.equal((err as { status: number }).status, 429)
        assert.equal((err as { details: Record<string, unknown> }).details.retryAfterMs, 30_000)
        return true
      })
    } finally {
      access.setLimits({ requestsPerMinute: 1000 })
    }
  })

  test('a malformed request frame gets a reset; the server keeps serving', async () => {
    const before = await metric(server.registry, 'agora_reqresp_bad_frames_total', { protocol: INFER_PROTOCOL_ID, reason: 'schema' })
    const stream = await caller.libp2p.dialProtocol(server.libp2p.peerId, INFER_PROTOCOL_ID, { signal: AbortSignal.timeout(5000) })
    const lp = lpStream(stream)
    await lp.write(new TextEncoder().encode(JSON.stringify({ op: 'chat', request: { model: 'echo', messages: [] } })))
    await stream.close()
    await assert.rejects(lp.read({ signal: AbortSignal.timeout(5000) }))
    await waitFor(async () => await metric(server.registry, 'agora_reqresp_bad_frames_total', { protocol: INFER_PROTOCOL_ID, reason: 'schema' }) === before + 1, { what: 'the bad frame to be counted' })
    const answer = await collectChat(remote.chatStream(server.peerId, chat('echo', 'still here')))
    assert.equal(answer.content, 'still here')
  })

  test('warm streams: calls in a row share one stream; after the connection drops the next call opens a new one', async () => {
    const streams = async (source: string): Promise<number> => await metric(caller.registry, 'agora_reqresp_outbound_streams_total', { protocol: INFER_PROTOCOL_ID, source })
    await collectChat(remote.chatStream(server.peerId, chat('echo', 'warm up')))
    const opened = await streams('new')
    const reused = await streams('reused')
    for (let i = 0; i < 5; i++) assert.equal((await collectChat(remote.chatStream(server.peerId, chat('echo', `call ${i}`)))).content, `call ${i}`)
    await remote.embeddings(server.peerId, { model: 'embed', input: ['x'] })
    assert.equal(await streams('new'), opened)
    assert.equal(await streams('reused'), reused + 6)
    assert.equal((engines[1] as ReqResp).idleStreams(INFER_PROTOCOL_ID, server.peerId), 1)
    // the server hangs up: the idle stream goes with the connection, and the next call dials again
    await server.libp2p.hangUp(caller.libp2p.peerId)
    await waitFor(() => (engines[1] as ReqResp).idleStreams(INFER_PROTOCOL_ID, server.peerId) === 0, { what: 'the idle stream to leave the pool' })
    assert.equal((await collectChat(remote.chatStream(server.peerId, chat('echo', 'again')))).content, 'again')
    assert.equal(await streams('new'), opened + 1)
  })

  test('a peer that accepts TCP but never completes the handshake → E910 (dial)', async () => {
    const sockets = new Set<Socket>()
    const silent: Server = createServer(socket => { sockets.add(socket) })
    await new Promise<void>(resolve => { silent.listen(0, '127.0.0.1', resolve) })
    try {
      const port = (silent.address() as { port: number }).port
      const ghost = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      await caller.libp2p.peerStore.merge(ghost, { multiaddrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`)] })
      const quick = new RemoteInference({ reqresp: engines[1] as ReqResp, libp2p: caller.libp2p, logger: caller.logger }, { ...TIMEOUTS, dialMs: 300 })
      const started = Date.now()
      await assert.rejects(drain(quick.chatStream(ghost.toString(), chat('echo'))), (err: unknown) => isCode('E910')(err) && /dial/.test((err as Error & { why: string }).why))
      assert.ok(Date.now() - started < 3000, 'the dial timer (300 ms) fired: a hang guard at 10×')
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => { silent.close(() => { resolve() }) })
    }
  })
})
