/**
 * The engine over in-memory stream pairs: a stub libp2p whose dialProtocol
 * hands the other end of a pair to the registered handler.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { defineProtocol, defineStreamingProtocol, ReqResp } from '../../../src/protocols/index.ts'
import type { Connection, PeerId, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

async function memoryPair (): Promise<{ client: ReqResp, server: ReqResp, serverOptions: Map<string, StreamHandlerOptions>, peerId: PeerId }> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const handlers = new Map<string, StreamHandler>()
  const serverOptions = new Map<string, StreamHandlerOptions>()
  const connection = { remotePeer: peerId, remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/1234') } as unknown as Connection
  const serverLibp2p = {
    handle: async (protocol: string | string[], handler: StreamHandler, options?: StreamHandlerOptions) => {
      for (const id of [protocol].flat()) {
        handlers.set(id, handler)
        serverOptions.set(id, options ?? {})
      }
    },
    unhandle: async (protocol: string | string[]) => { for (const id of [protocol].flat()) handlers.delete(id) },
    dialProtocol: async () => { throw new Error('the server does not dial') }
  }
  const clientLibp2p = {
    handle: async () => {},
    unhandle: async () => {},
    dialProtocol: async (_target: unknown, protocol: string | string[]) => {
      const id = [protocol].flat()[0] ?? ''
      const handler = handlers.get(id)
      if (handler === undefined) throw Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
      const [outbound, inbound] = await streamPair()
      void handler(inbound, connection)
      return outbound
    }
  }
  const server = new ReqResp({ libp2p: serverLibp2p, logger: silentLogger() }, { maxStreamsPerProtocol: 7 })
  const client = new ReqResp({ libp2p: clientLibp2p, logger: silentLogger() })
  await server.start()
  await client.start()
  return { client, server, serverOptions, peerId }
}

const add = defineProtocol({
  id: '/agora/test-add/1',
  request: z.object({ a: z.number(), b: z.number() }),
  response: z.object({ sum: z.number() }),
  maxRequestBytes: 100,
  maxResponseBytes: 100,
  rateLimit: { perSecond: 0.001, burst: 3 }
})

const tokens = defineStreamingProtocol({
  id: '/agora/test-tokens/1',
  request: z.object({ n: z.number() }),
  response: z.string(),
  maxRequestBytes: 100,
  maxResponseBytes: 100
})

const slow = defineProtocol({
  id: '/agora/test-slow/1',
  request: z.object({}),
  response: z.object({}),
  maxRequestBytes: 10,
  maxResponseBytes: 10,
  timeouts: { firstByteMs: 50, responseMs: 1000 }
})

describe('protocols: reqresp engine over in-memory streams', () => {
  test('unary, errors, streaming, timeouts and limits', async () => {
    const { client, server, serverOptions, peerId } = await memoryPair()
    let seenPeer = ''
    await server.handle(add, async (request, context) => {
      seenPeer = context.peerId
      if (request.a < 0) throw new AgoraError('E117', 'not for you')
      if (request.a > 1000) throw new Error('internal detail that must not leak')
      return { sum: request.a + request.b }
    })
    await server.handleStream(tokens, async function * (request) {
      for (let i = 0; i < request.n; i++) yield `t${i}`
    })
    await server.handle(slow, async (_request, { signal }) => await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('aborted')) }) }))
    try {
      assert.deepEqual(server.protocols().sort(), [add.id, slow.id, tokens.id].sort())
      assert.deepEqual(serverOptions.get(add.id), { maxInboundStreams: 7, maxOutboundStreams: 7 })

      assert.deepEqual(await client.request(peerId, add, { a: 2, b: 3 }), { sum: 5 })
      assert.equal(seenPeer, peerId.toString())
      await assert.rejects(client.request(peerId, add, { a: -1, b: 0 }), (err: unknown) => isAgoraError(err, 'E117'))
      await assert.rejects(client.request(peerId, add, { a: 5000, b: 0 }), (err: unknown) => isAgoraError(err, 'E207') && !err.what.includes('internal detail'))
      // three requests used the burst of 3: the next one is refused
      await assert.rejects(client.request(peerId, add, { a: 1, b: 1 }), (err: unknown) => isAgoraError(err, 'E206'))

      const received: string[] = []
      for await (const token of client.requestStream(peerId, tokens, { n: 20 })) received.push(token)
      assert.deepEqual(received, Array.from({ length: 20 }, (_, i) => `t${i}`))

      await assert.rejects(client.request(peerId, slow, {}), (err: unknown) => isAgoraError(err, 'E204') && /first byte/.test(err.why ?? ''))

      const controller = new AbortController()
      const pending = client.request(peerId, slow, {}, { signal: controller.signal })
      controller.abort()
      await assert.rejects(pending, (err: unknown) => isAgoraError(err, 'E204'))

      // caught on the calling side, before any byte is sent
      await assert.rejects(client.request(peerId, add, { a: 1, b: 'x' as unknown as number }), (err: unknown) => isAgoraError(err, 'E599'))
      const big = defineProtocol({ ...add, id: '/agora/test-add/1', maxRequestBytes: 5 })
      await assert.rejects(client.request(peerId, big, { a: 1, b: 1 }), (err: unknown) => isAgoraError(err, 'E111'))
      await assert.rejects(client.request(peerId, defineProtocol({ ...add, id: '/agora/nothing/1' }), { a: 1, b: 1 }), (err: unknown) => isAgoraError(err, 'E207'))
      await assert.rejects(client.request('nonsense', add, { a: 1, b: 1 }), (err: unknown) => isAgoraError(err, 'E200'))
    } finally {
      await client.stop()
      await server.stop()
    }
    await assert.rejects(client.request(peerId, add, { a: 1, b: 1 }), (err: unknown) => isAgoraError(err, 'E504'))
  })
})
