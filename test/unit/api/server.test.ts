/**
 * The control API through `inject` (no socket): auth, the Host/Origin guard,
 * error shapes, body validation and the routes' shapes, against a stub node;
 * and on a real socket where only a socket shows the behaviour (upgrades).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { once } from 'node:events'
import { setTimeout } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { waitFor } from '../../harness/wait.ts'
import { buildApiServer, type ControlPlane } from '../../../src/api/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { AgoraError } from '../../../src/errors.ts'
import { statusResponse, peersResponse, peerEntry, modelsResponse } from '../../../src/client/schemas.ts'

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }

const PEER = { peerId: '12D3KooWPeer', addresses: ['/ip4/127.0.0.1/tcp/2'], latencyMs: 1.5, connected: true, lastSeen: 1, reputation: 0.5, uptime: 1, successes: 1, failures: 0, timeouts: 0, trusted: false, bannedUntil: null, banReason: null }
const OFFER = {
  id: 'offer-1', node: '12D3KooWTest', models: [{ name: 'agora/wink-embed-100d', provider: 'wink', kind: 'embedding' as const, contextLength: 8192 }],
  taskTypes: ['text.embed'], tags: ['cpu'], capacity: { slotsTotal: 2, slotsIdle: 2 },
  prices: { perTask: '0.000000', per1kPromptTokens: '0.000000', per1kCompletionTokens: '0.000000', currency: 'credits' as const },
  zone: '', trustMode: 'friends' as const, policyHash: '', expiresAt: 10, lamport: 1
}

const PROVIDER = { name: 'wink', kind: 'wink', url: 'embedded', source: 'builtin', health: { status: 'healthy', checkedAt: 1 }, models: ['agora/wink-embed-100d'] }

function stubControl (): ControlPlane & { stops: string[], calls: unknown[] } {
  const stops: string[] = []
  const calls: unknown[] = []
  let mode: 'private' | 'friends' | 'public' = 'friends'
  return {
    stops,
    calls,
    status: () => ({ peerId: '12D3KooWTest', did: 'did:key:z6MkTest', name: 'test', version: '0.1.0', pid: 1, dataDir: '/tmp/x', apiUrl: 'http://127.0.0.1:1', startedAt: 0, uptimeMs: 5, addresses: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWTest'], peers: 0, connections: 0, knownPeers: 0 }),
    peers: () => [PEER],
    trust: (id: string) => { calls.push(['trust', id]); return { ...PEER, trusted: true } },
    untrust: () => PEER,
    ban: async (id: string, opts: unknown) => { calls.push(['ban', id, opts]); return { ...PEER, bannedUntil: 99, banReason: 'x' } },
    unban: () => PEER,
    offers: (query: unknown) => { calls.push(['offers', query]); return [OFFER] as never },
    localOffer: () => OFFER as never,
    offer: (id: string) => {
      if (id !== 'offer-1') throw new AgoraError('E505', `no live offer '${id}'`)
      return OFFER as never
    },
    withdraw: async () => ({ withdrawn: true, offerId: 'offer-1' }),
    announce: async () => OFFER as never,
    models: () => [{ name: 'agora/wink-embed-100d', kind: 'embedding', nodes: 1, bestPrice: '0.000000', bestLatencyMs: 0, servedBy: ['12D3KooWTest'] }],
    requests: (query: unknown) => { calls.push(['requests', query]); return [] },
    request: (id: string) => {
      if (id !== 'r1') throw new AgoraError('E505', `no request '${id}'`)
      return { id, ts: 1, requester: { kind: 'peer', peerId: '12D3KooWPeer' }, server: 'local', provider: 'wink', model: 'm', op: 'chat', promptTokens: 1, completionTokens: 1, firstTokenMs: 1, totalMs: 2, outcome: 'ok', errorCode: null, price: 250_001, attempts: 1 }
    },
    providers: () => [PROVIDER],
    addProvider: async (spec: unknown) => { calls.push(['addProvider', spec]); return PROVIDER },
    removeProvider: async () => true,
    testProvider: async () => PROVIDER,
    trustMode: () => mode,
    setTrustMode: (next: 'private' | 'friends' | 'public') => { mode = next; return mode },
    identity: () => ({ peerId: '12D3KooWTest', did: 'did:key:z6MkTest', publicKey: 'AAAA' }),
    connect: async (ma: string) => {
      if (!ma.startsWith('/')) throw new AgoraError('E200', `'${ma}' is not a valid multiaddr`)
      return { peerId: '12D3KooWPeer', addresses: [ma] }
    },
    disconnect: async () => true,
    removePeer: async (id: string) => { calls.push(['removePeer', id]); return true },
    statusDetail: async () => ({ dht: { enabled: true, mode: 'server' as const, routingTableSize: 3 }, topics: [{ topic: 't', subscribers: 2, meshPeers: 1 }], connections: { open: 2, inbound: 1, outbound: 1, max: 300, streams: 4 }, counters: { agora_gossip_published_total: 7 } }),
    ping: async () => 2.5,
    ready: () => true,
    requestStop: (reason: string) => { stops.push(reason) }
  }
}

describe('control API', () => {
  let app: FastifyInstance
  let control: ReturnType<typeof stubControl>

  before(async () => {
    control = stubControl()
    app = await buildApiServer({ control, events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger() }, { token: TOKEN })
  })
  after(async () => { await app.close() })

  test('status with the token matches the shared route shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/status', headers: { ...auth, host: '127.0.0.1:8145' } })
    assert.equal(res.statusCode, 200)
    assert.equal(statusResponse.parse(res.json()).peerId, '12D3KooWTest')
  })

  test('status?detailed=1 adds the detail in the shared shape; a bad value is 400 E502 naming it', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/status?detailed=1', headers: { ...auth, host: '127.0.0.1:8145' } })
    assert.equal(statusResponse.parse(res.json()).detail?.dht.routingTableSize, 3)
    assert.equal(statusResponse.parse((await app.inject({ method: 'GET', url: '/api/v1/status', headers: { ...auth, host: '127.0.0.1:8145' } })).json()).detail, undefined)
    const bad = await app.inject({ method: 'GET', url: '/api/v1/status?detailed=maybe', headers: { ...auth, host: '127.0.0.1:8145' } })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.message, 'invalid query.detailed')
  })

  test('peers remove reaches the node', async () => {
    const id = '12D3KooWHXaBcCeBJM3EMK3UtYUKgqy3Q2rfbkcdo3R3HKQynAtC'
    const res = await app.inject({ method: 'POST', url: `/api/v1/peers/${id}/remove`, headers: { ...auth, host: '127.0.0.1:8145' } })
    assert.deepEqual(res.json(), { peerId: id, removed: true })
    assert.deepEqual(control.calls.at(-1), ['removePeer', id])
  })

  test('peers list matches the shared route shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/peers', headers: { ...auth, host: 'localhost:8145' } })
    assert.equal(peersResponse.parse(res.json())[0]?.latencyMs, 1.5)
  })

  test('a missing or wrong token is 401 with code E500', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic abc' }]) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/status', headers: { ...headers, host: '127.0.0.1' } })
      assert.equal(res.statusCode, 401)
      assert.equal(res.json().error.code, 'E500')
    }
  })

  test('the token is accepted in the query string (WebSocket clients)', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/identity?token=${TOKEN}`, headers: { host: '127.0.0.1' } })
    assert.equal(res.statusCode, 200)
  })

  test('a foreign Host header is 403 with E501 (DNS rebinding)', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/status', headers: { ...auth, host: 'evil.example.com:8145' } })
    assert.equal(res.statusCode, 403)
    assert.equal(res.json().error.code, 'E501')
  })

  test('a foreign Origin is 403 even on open paths (CSRF)', async () => {
    for (const url of ['/api/v1/node/stop', '/healthz']) {
      const res = await app.inject({ method: url.endsWith('stop') ? 'POST' : 'GET', url, headers: { ...auth, host: '127.0.0.1:8145', origin: 'http://evil.example.com' } })
      assert.equal(res.statusCode, 403, url)
      assert.equal(res.json().error.code, 'E501')
    }
    assert.deepEqual(control.stops, [])
  })

  test('a loopback Origin is accepted', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/status', headers: { ...auth, host: '127.0.0.1:8145', origin: 'http://127.0.0.1:8145' } })
    assert.equal(res.statusCode, 200)
  })

  test('health, readiness and metrics need no token', async () => {
    assert.equal((await app.inject({ url: '/healthz', headers: { host: '127.0.0.1' } })).statusCode, 200)
    assert.equal((await app.inject({ url: '/readyz', headers: { host: '127.0.0.1' } })).statusCode, 200)
    const metrics = await app.inject({ url: '/metrics', headers: { host: '127.0.0.1' } })
    assert.equal(metrics.statusCode, 200)
    assert.match(metrics.headers['content-type'] as string, /text\/plain/)
  })

  test('a body failing the schema is 400 E502 naming the field', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/peers/connect', headers: { ...auth, host: '127.0.0.1' }, payload: { multiaddr: 42 } })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'E502')
    assert.match(res.json().error.message, /body\.multiaddr/)
  })

  test('a ban longer than 100 years is 400 E502 naming durationMs (a longer expiry could not be stored)', async () => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/peers/${'12D3KooW'.padEnd(52, 'x')}/ban`, headers: { ...auth, host: '127.0.0.1' }, payload: { durationMs: Number.MAX_SAFE_INTEGER } })
    assert.equal(res.statusCode, 400)
    assert.match(res.json().error.message, /body\.durationMs/)
    assert.match(res.json().error.why, /at most 100 years/)
  })

  test('an unreadable JSON body is 400 E502', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/peers/connect', headers: { ...auth, host: '127.0.0.1', 'content-type': 'application/json' }, payload: '{not json' })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'E502')
  })

  test('an AgoraError from the node keeps its code and status', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/peers/connect', headers: { ...auth, host: '127.0.0.1' }, payload: { multiaddr: 'nope' } })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'E200')
    assert.ok(res.json().error.hint.includes('/ip4/127.0.0.1/tcp/41145'), 'the hint shows a valid example')
  })

  test('a path value over the schema\'s limit is 400 E502 naming it; an unreadable URL is 400 E502 too, in our shape', async () => {
    const long = await app.inject({ method: 'POST', url: `/api/v1/peers/${'a'.repeat(150)}/trust`, headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(long.statusCode, 400)
    assert.equal(long.json().error.code, 'E502')
    assert.match(long.json().error.message, /path\.id/)
    const badUrl = await app.inject({ url: '/api/v1/offers/%E0%A4%A', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(badUrl.statusCode, 400)
    assert.equal(badUrl.json().error.code, 'E502')
    assert.match(badUrl.json().error.message, /URL could not be read/)
  })

  test('an unknown route is 404 E503', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nope', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(res.statusCode, 404)
    assert.equal(res.json().error.code, 'E503')
  })

  test('offers take their filters from the query string, validated', async () => {
    const ok = await app.inject({ url: '/api/v1/offers?model=m&maxPrice=2.5', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(ok.statusCode, 200)
    assert.deepEqual(control.calls.at(-1), ['offers', { model: 'm', maxPrice: 2_500_000 }], 'credits in, micro-credits to the node')
    assert.equal(ok.json()[0].prices.perTask, '0.000000')
    for (const price of ['cheap', '-1', '0.0000001']) {
      const bad = await app.inject({ url: `/api/v1/offers?maxPrice=${price}`, headers: { ...auth, host: '127.0.0.1' } })
      assert.equal(bad.statusCode, 400)
      assert.equal(bad.json().error.code, 'E1100', price)
      assert.match(bad.json().error.message, /query\.maxPrice/)
    }
    const unknown = await app.inject({ url: '/api/v1/offers?colour=red', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(unknown.statusCode, 400)
    // an empty value is no value, not 0 (which filtered to free offers only)
    const empty = await app.inject({ url: '/api/v1/offers?maxPrice=', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(empty.statusCode, 400)
    assert.match(empty.json().error.why, /not a decimal number/)
    const emptyLimit = await app.inject({ url: '/api/v1/requests?limit=%20', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(emptyLimit.statusCode, 400)
    assert.equal((await app.inject({ url: '/api/v1/requests?limit=5&before=0', headers: { ...auth, host: '127.0.0.1' } })).statusCode, 200)
  })

  test('an unknown offer is 404 E505; local and by id answer the offer', async () => {
    assert.equal((await app.inject({ url: '/api/v1/offers/local', headers: { ...auth, host: '127.0.0.1' } })).json().id, 'offer-1')
    assert.equal((await app.inject({ url: '/api/v1/offers/offer-1', headers: { ...auth, host: '127.0.0.1' } })).json().id, 'offer-1')
    const missing = await app.inject({ url: '/api/v1/offers/nope', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json().error.code, 'E505')
  })

  test('trust and ban reach the node; a bad ban body is 400', async () => {
    const trusted = await app.inject({ method: 'POST', url: '/api/v1/peers/12D3KooWPeer/trust', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(peerEntry.parse(trusted.json()).trusted, true)
    const banned = await app.inject({ method: 'POST', url: '/api/v1/peers/12D3KooWPeer/ban', headers: { ...auth, host: '127.0.0.1' }, payload: { reason: 'spam', durationMs: 60000 } })
    assert.equal(banned.statusCode, 200)
    assert.deepEqual(control.calls.at(-1), ['ban', '12D3KooWPeer', { reason: 'spam', durationMs: 60000 }])
    const bad = await app.inject({ method: 'POST', url: '/api/v1/peers/12D3KooWPeer/ban', headers: { ...auth, host: '127.0.0.1' }, payload: { durationMs: -1 } })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.code, 'E502')
  })

  test('models list matches the shared shape', async () => {
    const res = await app.inject({ url: '/api/v1/models', headers: { ...auth, host: '127.0.0.1' } })
    assert.equal(modelsResponse.parse(res.json())[0]?.bestPrice, '0.000000')
  })

  test('providers: add validates the spec and names the field; requests take validated filters; trust mode changes at run time', async () => {
    const h = { ...auth, host: '127.0.0.1' }
    const bad = await app.inject({ method: 'POST', url: '/api/v1/providers', headers: h, payload: { name: 'Bad Name', kind: 'ollama', url: 'http://127.0.0.1:11434' } })
    assert.equal(bad.statusCode, 400)
    assert.match(bad.json().error.message, /body\.name/)
    const badUrl = await app.inject({ method: 'POST', url: '/api/v1/providers', headers: h, payload: { name: 'o', kind: 'ollama', url: 'ftp://x' } })
    assert.equal(badUrl.statusCode, 400)
    const ok = await app.inject({ method: 'POST', url: '/api/v1/providers', headers: h, payload: { name: 'o', kind: 'ollama', url: 'http://127.0.0.1:11434' } })
    assert.equal(ok.statusCode, 200)
    assert.equal((await app.inject({ url: '/api/v1/requests?outcome=ok&limit=5', headers: h })).statusCode, 200)
    assert.deepEqual(control.calls.at(-1), ['requests', { outcome: 'ok', limit: 5 }])
    assert.equal((await app.inject({ url: '/api/v1/requests?outcome=maybe', headers: h })).statusCode, 400)
    assert.equal((await app.inject({ url: '/api/v1/requests/nope', headers: h })).statusCode, 404)
    assert.equal((await app.inject({ url: '/api/v1/requests/r1', headers: h })).json().price, '0.250001', 'credits with six decimals')
    const set = await app.inject({ method: 'POST', url: '/api/v1/access', headers: h, payload: { trustMode: 'public' } })
    assert.deepEqual(set.json(), { trustMode: 'public' })
    assert.deepEqual((await app.inject({ url: '/api/v1/access', headers: h })).json(), { trustMode: 'public' })
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/access', headers: h, payload: { trustMode: 'everyone' } })).statusCode, 400)
  })

  test('stop answers first, then asks the node to stop', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/node/stop', headers: { ...auth, host: '127.0.0.1' } })
    assert.deepEqual(res.json(), { stopping: true })
    assert.deepEqual(control.stops, ['requested through the API'])
  })
})

describe('control API on a socket', () => {
  test('HTTP that Node\'s parser refuses (two Content-Lengths) is answered 400 in our error shape', async () => {
    const app = await buildApiServer({ control: stubControl(), events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger() }, { token: TOKEN })
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { port } = app.server.address() as AddressInfo
      // a client that keeps its side open: the server must still let go of the socket (it allows half-open ones)
      const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
      let answer = ''
      socket.on('data', chunk => { answer += String(chunk) })
      const ended = once(socket, 'end')
      socket.write(`POST /api/v1/peers/connect HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}`)
      await Promise.race([ended, setTimeout(5000).then(() => { socket.destroy(); throw new Error('no answer') })])
      const connections = async (): Promise<number> => await new Promise(resolve => { app.server.getConnections((_err, n) => { resolve(n) }) })
      await waitFor('the server to let go of the socket', async () => await connections() === 0, { timeoutMs: 5000 })
      socket.destroy()
      assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/)
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string, message: string } }
      assert.equal(body.error.code, 'E502')
      assert.equal(body.error.message, 'the request could not be read')
    } finally {
      await app.close()
    }
  })

  test('a refused WebSocket upgrade gets its status and its socket closed (an open one kept the node from stopping)', async () => {
    const app = await buildApiServer({ control: stubControl(), events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger() }, { token: TOKEN })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const sockets: Duplex[] = []
    app.server.on('upgrade', (_request, socket: Duplex) => { sockets.push(socket) })
    try {
      const { port } = app.server.address() as AddressInfo
      for (const extra of ['', `authorization: Bearer ${TOKEN}\r\norigin: http://evil.example\r\n`]) {
        const socket = connect(port, '127.0.0.1')
        sockets.push(socket)
        let answer = ''
        socket.on('data', chunk => { answer += String(chunk) })
        const closed = once(socket, 'close')
        socket.write(`GET /api/v1/events HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`)
        await Promise.race([closed, setTimeout(5000).then(() => { throw new Error(`the server kept the socket open; it answered: ${answer.slice(0, 80)}`) })])
        assert.match(answer, extra === '' ? /^HTTP\/1\.1 401 / : /^HTTP\/1\.1 403 /)
      }
    } finally {
      // a socket the server kept (its side and ours) would also keep app.close() waiting
      for (const socket of sockets) socket.destroy()
      await app.close()
    }
  })
})
