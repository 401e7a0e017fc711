/** The SSE writer's backpressure and the abortable iteration the chat stream relies on. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'
import { SseWriter, untilAborted } from '../../../src/api/routes/sse.ts'

/** A response whose socket is full until 'drain'. */
class FullResponse extends EventEmitter {
  destroyed = false
  writableEnded = false
  readonly written: string[] = []
  write (text: string): boolean {
    this.written.push(text)
    return false
  }
}

const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false
  void promise.then(() => { done = true }, () => { done = true })
  await new Promise(resolve => setImmediate(resolve))
  return done
}

test('send waits for drain when the socket is full', async () => {
  const raw = new FullResponse()
  const sse = new SseWriter(raw as unknown as ServerResponse)
  const sending = sse.send({ a: 1 })
  assert.equal(await settled(sending), false, 'still waiting for drain')
  raw.emit('drain')
  assert.equal(await sending, true)
  assert.deepEqual(raw.written, ['data: {"a":1}\n\n'])
})

test('send stops waiting when the client goes away, and says so', async () => {
  const raw = new FullResponse()
  const sse = new SseWriter(raw as unknown as ServerResponse)
  const sending = sse.send('x')
  raw.destroyed = true
  raw.emit('close')
  assert.equal(await sending, false)
  assert.equal(await sse.send('y'), false)
  assert.equal(raw.written.length, 1, 'nothing written after close')
  assert.equal(raw.listenerCount('drain') + raw.listenerCount('close'), 0, 'no listeners left behind')
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
