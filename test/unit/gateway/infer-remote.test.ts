/**
 * /agora/infer/1 over in-memory stream pairs: the real engine, access
 * control, server and client; a stub libp2p whose dialProtocol hands the
 * other end of a pair to the registered handler. The named timeouts run
 * with tiny values and must surface with their own codes.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AccessControl } from '../../../src/gateway/access/index.ts'
import { INFER_PROTOCOL_ID, InferenceServer, RemoteInference, type LocalInferenceLike, type RemoteTimeouts } from '../../../src/gateway/remote/index.ts'
import type { LocalInference, RemoteInferenceLike } from '../../../src/gateway/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { ReqResp } from '../../../src/protocols/index.ts'
import { memoryEngines, type MemoryEngines } from '../../harness/memory-engines.ts'
import { collectChat } from '../../../src/providers/inference.ts'
import { FakeLocalInference, vectorFor } from '../../harness/fake-local-inference.ts'
import { waitFor } from '../../harness/wait.ts'
import type { Connection } from '@libp2p/interface'
import { isCode, drain } from '../../harness/checks.ts'

// the gateway's facades fit the narrow interfaces both ways (checked by tsc)
export const localFits = (local: LocalInference): LocalInferenceLike => local
export const remoteFits = (remote: RemoteInference): RemoteInferenceLike => remote

const TINY: RemoteTimeouts = { dialMs: 150, firstTokenMs: 200, idleMs: 200, totalMs: 3000 }

describe('gateway: /agora/infer/1 over in-memory streams', () => {
  const trusted = new Set<string>()
  let server: ReqResp
  let client: ReqResp
  let access: AccessControl
  let inference: InferenceServer
  let remote: RemoteInference
  let local: FakeLocalInference
  let serverPeer = ''
  let dialHangs = false
  let engines: MemoryEngines
  const dial = async (_target: unknown, options?: { signal?: AbortSignal }): Promise<Connection> => {
    if (dialHangs) {
      await new Promise((_resolve, reject) => { options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason as Error) }, { once: true }) })
    }
    return {} as unknown as Connection
  }

  const timed = (timeouts: Partial<RemoteTimeouts>): RemoteInference =>
    new RemoteInference({ reqresp: client, libp2p: { dial }, logger: silentLogger() }, { ...TINY, ...timeouts })

  before(async () => {
    const clientPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    serverPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    trusted.add(clientPeer.toString())
    engines = await memoryEngines(clientPeer)
    server = engines.server
    client = engines.client
    local = new FakeLocalInference()
    access = new AccessControl({ peerBook: { isTrusted: peer => trusted.has(peer), isBanned: () => false }, logger: silentLogger() })
    inference = new InferenceServer({ reqresp: server, access, local, logger: silentLogger() })
    await inference.start()
    remote = timed({})
  })

  after(async () => {
    await inference?.stop()
    await engines?.stop()
  })

  test('chat: deltas then done with usage; long deltas arrive in several frames', async () => {
    const answer = await collectChat(remote.chatStream(serverPeer, { model: 'echo', messages: [{ role: 'user', content: 'one two three' }] }))
    assert.deepEqual(answer, { content: 'one two three', finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 3 } })
    const events = await drain(remote.chatStream(serverPeer, { model: 'big', messages: [{ role: 'user', content: 'x' }] }))
    assert.deepEqual(events.map(e => e.type === 'delta' ? e.text.length : e.type), [4096, 4096, 1808, 'done'])
  })

  test('embeddings: one vector per input, in order, with usage', async () => {
    const input = ['a', 'bb', 'ccc']
    const result = await remote.embeddings(serverPeer, { model: 'embed', input })
    assert.deepEqual(result, { vectors: input.map((text, i) => vectorFor(text, i, local.dims)), usage: { promptTokens: 6 } })
  })

  test('a provider that never sends a first token → E911, and the provider call is cancelled', async () => {
    const aborted = local.aborted
    const started = Date.now()
    await assert.rejects(drain(remote.chatStream(serverPeer, { model: 'never', messages: [{ role: 'user', content: 'x' }] })), isCode('E911'))
    assert.ok(Date.now() - started < 2500, 'the first-token timer (200 ms) fired, not the total one (3 s)')
    await waitFor('the provider to see the cancel', () => local.aborted === aborted + 1)
    await assert.rejects(remote.embeddings(serverPeer, { model: 'embed-never', input: ['x'] }), isCode('E911'))
    await waitFor('the embeddings call to see the cancel', () => local.aborted === aborted + 2)
  })

  test('silence between tokens → E912 after the first token', async () => {
    const received: string[] = []
    await assert.rejects((async () => {
      for await (const event of remote.chatStream(serverPeer, { model: 'stall', messages: [{ role: 'user', content: 'x' }] })) {
        if (event.type === 'delta') received.push(event.text)
      }
    })(), (err: unknown) => isCode('E912')(err) && /idle/.test((err as Error & { why: string }).why))
    assert.deepEqual(received, ['first'])
  })

  test('tokens that keep coming past the total → E913', async () => {
    const aborted = local.aborted
    let deltas = 0
    await assert.rejects((async () => {
      for await (const event of timed({ totalMs: 250 }).chatStream(serverPeer, { model: 'drip', messages: [{ role: 'user', content: 'x' }] })) {
        if (event.type === 'delta') deltas++
      }
    })(), isCode('E913'))
    assert.ok(deltas > 2, `${deltas} deltas before the total timeout`)
    await waitFor('the provider to see the cancel', () => local.aborted === aborted + 1)
  })

  test('a dial that does not complete → E910; a bad peer id → E220', async () => {
    dialHangs = true
    try {
      await assert.rejects(drain(timed({ dialMs: 100 }).chatStream(serverPeer, { model: 'echo', messages: [{ role: 'user', content: 'x' }] })), isCode('E910'))
    } finally {
      dialHangs = false
    }
    await assert.rejects(drain(remote.chatStream('not-a-peer', { model: 'echo', messages: [{ role: 'user', content: 'x' }] })), isCode('E220'))
  })

  test("the caller's abort mid-stream → E914 here, the provider call aborted there", async () => {
    const aborted = local.aborted
    const controller = new AbortController()
    await assert.rejects((async () => {
      for await (const event of remote.chatStream(serverPeer, { model: 'drip', messages: [{ role: 'user', content: 'x' }] }, { signal: controller.signal })) {
        if (event.type === 'delta') controller.abort()
      }
    })(), isCode('E914'))
    await waitFor('the provider to see the cancel', () => local.aborted === aborted + 1)
  })

  test('a refusal reaches the caller with its code (E901, E903, E904 + retryAfterMs)', async () => {
    trusted.delete([...trusted][0] ?? '')
    try {
      await assert.rejects(drain(remote.chatStream(serverPeer, { model: 'echo', messages: [{ role: 'user', content: 'x' }] })), isCode('E901'))
    } finally {
      access.setTrustMode('public')
    }
    access.setLists({ deny: ['ech*'] })
    await assert.rejects(drain(remote.chatStream(serverPeer, { model: 'echo', messages: [{ role: 'user', content: 'x' }] })), isCode('E903'))
    access.setLists({ deny: [] })
    access.setLimits({ requestsPerMinute: 1 })
    try {
      await collectChat(remote.chatStream(serverPeer, { model: 'echo', messages: [{ role: 'user', content: 'x' }] }))
      await assert.rejects(remote.embeddings(serverPeer, { model: 'embed', input: ['x'] }), (err: unknown) => {
        isCode('E904')(err)
        assert.equal((err as { details: Record<string, unknown> }).details.retryAfterMs, 60_000)
        assert.equal((err as { status: number }).status, 429)
        return true
      })
    } finally {
      access.setLimits({ requestsPerMinute: 1000 })
    }
  })

  test('warm streams: calls in a row share one stream; a cancelled call does not hand its stream on', async () => {
    const chat = { model: 'echo', messages: [{ role: 'user' as const, content: 'a b' }] }
    await collectChat(remote.chatStream(serverPeer, chat))
    const before = engines.dials()
    for (let i = 0; i < 5; i++) assert.equal((await collectChat(remote.chatStream(serverPeer, chat))).content, 'a b')
    await remote.embeddings(serverPeer, { model: 'embed', input: ['x', 'y'] })
    assert.equal(engines.dials(), before, 'every call went on the warm stream')
    assert.equal(client.idleStreams(INFER_PROTOCOL_ID, serverPeer), 1)
    const aborted = local.aborted
    const controller = new AbortController()
    await assert.rejects((async () => {
      for await (const event of remote.chatStream(serverPeer, { model: 'drip', messages: [{ role: 'user', content: 'x' }] }, { signal: controller.signal })) {
        if (event.type === 'delta') controller.abort()
      }
    })(), isCode('E914'))
    await waitFor('the provider to see the cancel', () => local.aborted === aborted + 1)
    assert.equal(client.idleStreams(INFER_PROTOCOL_ID, serverPeer), 0)
    assert.equal((await collectChat(remote.chatStream(serverPeer, chat))).content, 'a b')
    assert.equal(engines.dials(), before + 1, 'the cancelled stream was closed, the next call opened a new one')
  })

  test('a provider that ends without done → E915 at the caller', async () => {
    await assert.rejects(drain(remote.chatStream(serverPeer, { model: 'broken', messages: [{ role: 'user', content: 'x' }] })), isCode('E915'))
  })
})
