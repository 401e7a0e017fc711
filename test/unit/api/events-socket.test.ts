/**
 * The event stream on a real socket (docs/api.md): every event reaches a
 * reader as JSON, and a consumer that falls more than 1 MiB behind is
 * disconnected with code 1013 instead of being buffered without bound.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import WebSocket from 'ws'
import { buildApiServer, type ControlPlane } from '../../../src/api/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { within } from '../../harness/wait.ts'

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'

async function eventsServer (): Promise<{ events: AgoraEvents, url: string, close: () => Promise<void> }> {
  const events = new AgoraEvents()
  // the events route reads nothing from the control plane
  const app = await buildApiServer({ control: {} as unknown as ControlPlane, events, metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger() }, { token: TOKEN })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  return { events, url: `ws://127.0.0.1:${port}/api/v1/events?token=${TOKEN}`, close: async () => { await app.close() } }
}

test('a reader gets each event as {type, at, data}', async () => {
  const server = await eventsServer()
  const socket = new WebSocket(server.url)
  try {
    await within('the socket to open', once(socket, 'open'))
    const message = once(socket, 'message')
    server.events.emit('peer:connected', { peerId: '12D3KooWPeer', address: '/ip4/127.0.0.1/tcp/1' })
    const [raw] = await within('the event', message) as [Buffer]
    const event = JSON.parse(raw.toString()) as { type: string, at: number, data: unknown }
    assert.equal(event.type, 'peer:connected')
    assert.deepEqual(event.data, { peerId: '12D3KooWPeer', address: '/ip4/127.0.0.1/tcp/1' })
    assert.ok(Math.abs(event.at - Date.now()) < 60_000)
  } finally {
    socket.terminate()
    await server.close()
  }
})

test('a consumer more than 1 MiB behind is closed with 1013; what it already had still arrives, the rest is dropped', async () => {
  const server = await eventsServer()
  const socket = new WebSocket(server.url)
  try {
    await within('the socket to open', once(socket, 'open'))
    let received = 0
    socket.on('message', () => { received++ })
    const closed = once(socket, 'close')
    // stop reading: the kernel's buffers fill, then the server's own queue grows
    socket.pause()
    const big = 'x'.repeat(64 * 1024)
    const sent = 1024 // 64 MiB in all, far more than the socket buffers of both sides hold
    for (let i = 0; i < sent; i++) {
      server.events.emit('peer:connected', { peerId: `peer-${i}`, address: big })
      if (i % 16 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    socket.resume()
    const [code, reason] = await within('the server to close the socket', closed, 30_000) as [number, Buffer]
    assert.equal(code, 1013)
    assert.equal(reason.toString(), 'too slow')
    assert.ok(received > 0, 'the events sent before it fell behind were delivered')
    assert.ok(received < sent, `${received} of ${sent} events were delivered: the rest was not buffered for it`)
  } finally {
    socket.terminate()
    await server.close()
  }
})
