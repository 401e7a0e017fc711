/** The SSE writer's backpressure on a real socket with a slow reader, and the abortable iteration the chat stream relies on. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { SseWriter, untilAborted } from '../../../src/api/routes/sse.ts'
import { waitFor, within } from '../../harness/wait.ts'

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false
  void promise.then(() => { done = true }, () => { done = true })
  await new Promise(resolve => setImmediate(resolve))
  return done
}

/** A real HTTP server whose one response is an SSE stream, and a raw client that reads only when told. */
async function slowReader (): Promise<{ sse: SseWriter, response: ServerResponse, client: Socket, close: () => Promise<void> }> {
  const opened = Promise.withResolvers<ServerResponse>()
  const server = createServer((_request, response) => { opened.resolve(response) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  client.write('GET /stream HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n')
  const response = await within('the request to reach the server', opened.promise)
  const sse = new SseWriter(response)
  sse.open()
  return {
    sse,
    response,
    client,
    close: async () => {
      client.destroy()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

/** Send events until one has to wait for the reader (its promise is returned, still pending), or give up after 256 MiB. */
async function fillUntilBlocked (sse: SseWriter): Promise<{ pending: Promise<boolean>, sent: number }> {
  const event = 'x'.repeat(256 * 1024)
  for (let sent = 1; sent <= 1024; sent++) {
    const sending = sse.send(event)
    if (!await settled(sending)) return { pending: sending, sent }
  }
  throw new Error('the socket never filled up')
}

test('send waits for drain while the client does not read, and resolves once it reads', async () => {
  const { sse, client, close } = await slowReader()
  try {
    client.pause()
    const { pending, sent } = await fillUntilBlocked(sse)
    assert.equal(await settled(pending), false, 'still waiting for the reader')
    let bytes = 0
    client.on('data', (chunk: Buffer) => { bytes += chunk.length })
    client.resume()
    assert.equal(await within('the blocked send to resolve', pending), true)
    await waitFor('every event to arrive', () => bytes >= sent * 256 * 1024)
  } finally {
    await close()
  }
})

test('send stops waiting when the client goes away, and says so; no listener is left behind', async () => {
  const { sse, response, client, close } = await slowReader()
  try {
    client.pause()
    const drainListeners = response.listenerCount('drain')
    const closeListeners = response.listenerCount('close')
    const { pending } = await fillUntilBlocked(sse)
    client.destroy()
    assert.equal(await within('the blocked send to give up', pending), false)
    assert.equal(await sse.send('y'), false, 'nothing is sent once the client is gone')
    assert.equal(sse.writable, false)
    assert.equal(response.listenerCount('drain'), drainListeners)
    assert.equal(response.listenerCount('close'), closeListeners)
  } finally {
    await close()
  }
})

test('untilAborted leaves a source that ignores the signal as soon as it aborts', async () => {
  const controller = new AbortController()
  const stuck: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({ next: async () => await new Promise<IteratorResult<number>>(() => {}) })
  }
  const seen: number[] = []
  const loop = (async () => { for await (const n of untilAborted(stuck, controller.signal)) seen.push(n) })()
  assert.equal(await settled(loop), false)
  controller.abort(new Error('client gone'))
  await assert.rejects(loop, /client gone/)
  assert.deepEqual(seen, [])
})

test('untilAborted closes the source when the consumer stops early', async () => {
  let closed = false
  async function * source (): AsyncGenerator<number> {
    try {
      yield 1
      yield 2
    } finally {
      closed = true
    }
  }
  for await (const n of untilAborted(source(), new AbortController().signal)) {
    assert.equal(n, 1)
    break
  }
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(closed, true)
})
