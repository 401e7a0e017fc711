/**
 * FrameReader and FrameWriter against a scripted stream: chunks cut where
 * the test says, sends recorded, the transport full when the test says.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { BudgetExceededError, FrameReader, FrameTooLargeError, ReadBufferOverflowError, TruncatedFrameError } from '../../../src/protocols/reqresp/frame-reader.ts'
import { InboundBudget } from '../../../src/protocols/reqresp/budget.ts'
import { FrameWriter, MAX_BATCH_BYTES, varint } from '../../../src/protocols/reqresp/frame-writer.ts'
import type { Stream } from '@libp2p/interface'

class ScriptedStream extends EventTarget {
  status = 'open'
  remoteWriteStatus = 'writable'
  readBufferLength = 0
  writableNeedsDrain = false
  aborted: Error | undefined
  sent: Uint8Array[] = []
  /** What send() answers (false: the transport is now full). */
  accept = true

  deliver (...bytes: number[]): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data: Uint8Array.from(bytes) }))
  }

  endWrite (): void {
    this.remoteWriteStatus = 'closed'
    this.dispatchEvent(new Event('remoteCloseWrite'))
  }

  reset (error: Error): void {
    this.status = 'reset'
    this.dispatchEvent(Object.assign(new Event('close'), { error }))
  }

  abort (err: Error): void {
    this.aborted = err
  }

  send (data: Uint8Array): boolean {
    this.sent.push(data)
    if (!this.accept) this.writableNeedsDrain = true
    return this.accept
  }

  drain (): void {
    this.writableNeedsDrain = false
    this.dispatchEvent(new Event('drain'))
  }
}

const asStream = (s: ScriptedStream): Stream => s as unknown as Stream
const text = (bytes: Uint8Array | undefined): string | undefined => bytes === undefined ? undefined : new TextDecoder().decode(bytes)
const framed = (body: string): number[] => { const b = new TextEncoder().encode(body); return [...varint(b.byteLength), ...b] }
const turn = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('protocols: FrameReader', () => {
  test('frames cut across chunks, several in one chunk, a 2-byte length; undefined at a clean end', async () => {
    const s = new ScriptedStream()
    const reader = new FrameReader(asStream(s), { maxDataLength: 1000, maxBufferSize: 4096 })
    const long = 'x'.repeat(300)
    const bytes = [...framed('hello'), ...framed(''), ...framed(long), ...framed('end')]
    // one byte at a time, while a read waits
    const first = reader.read()
    for (const byte of bytes.slice(0, 3)) s.deliver(byte)
    s.deliver(...bytes.slice(3, 10))
    assert.equal(text(await first), 'hello')
    assert.equal(text(await reader.read()), '')
    const third = reader.read()
    s.deliver(...bytes.slice(10))
    assert.equal(text(await third), long)
    assert.equal(reader.tryRead()?.byteLength, 3)
    assert.equal(reader.tryRead(), undefined)
    assert.equal(reader.bufferedBytes, 0)
    assert.equal(reader.receivedBytes, bytes.length)
    const waiting = reader.waitForData()
    s.endWrite()
    assert.equal(await waiting, false)
    assert.equal(await reader.read(), undefined)
  })

  test('a peer trickling one byte per message: frames come out whole, the chunk list stays bounded', async () => {
    const s = new ScriptedStream()
    const reader = new FrameReader(asStream(s), { maxDataLength: 100_000, maxBufferSize: 200_000 })
    const body = 'abcdefghij'.repeat(5000)
    for (const byte of [...framed(body), ...framed('next')]) s.deliver(byte)
    assert.ok((reader as unknown as { chunks: unknown[] }).chunks.length <= 1025, 'tiny chunks were coalesced')
    assert.equal(text(await reader.read()), body)
    assert.equal(text(await reader.read()), 'next')
    assert.equal(reader.bufferedBytes, 0)
  })

  test('a frame announcing more than maxDataLength is refused before its body; so is a too-long prefix', async () => {
    const s = new ScriptedStream()
    const reader = new FrameReader(asStream(s), { maxDataLength: 100, maxBufferSize: 4096 })
    s.deliver(...varint(101))
    await assert.rejects(reader.read(), FrameTooLargeError)
    assert.ok(reader.failed)
    const padded = new ScriptedStream()
    const strict = new FrameReader(asStream(padded), { maxDataLength: 100, maxBufferSize: 4096 })
    // 100 fits one varint byte: a 2-byte (non-minimal) prefix is refused
    padded.deliver(0x85, 0x00, 1, 2, 3, 4, 5)
    await assert.rejects(strict.read(), FrameTooLargeError)
  })

  test('more unread bytes than maxBufferSize abort the stream', async () => {
    const s = new ScriptedStream()
    const reader = new FrameReader(asStream(s), { maxDataLength: 100, maxBufferSize: 8 })
    const pending = reader.read()
    s.deliver(50, 1, 2, 3, 4, 5, 6, 7, 8)
    await assert.rejects(pending, ReadBufferOverflowError)
    await turn()
    assert.ok(s.aborted instanceof ReadBufferOverflowError)
  })

  test('with a budget: bytes are held only while it grants them, and go back as frames are read or the reader detaches', async () => {
    const budget = new InboundBudget({ totalBytes: 30, perPeerBytes: 20 })
    const a1 = new ScriptedStream()
    const first = new FrameReader(asStream(a1), { maxDataLength: 100, maxBufferSize: 4096, budget: budget.forPeer('a') })
    a1.deliver(9, 1, 2, 3, 4) // 5 of a 10-byte frame
    assert.equal(budget.held('a'), 5)
    a1.deliver(5, 6, 7, 8, 9)
    assert.deepEqual([...await first.read() ?? []], [1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.equal(budget.held('a'), 0, 'a frame read whole gives its bytes back')

    // peer a's second stream may hold up to its 20 bytes; one more byte aborts that stream only
    a1.deliver(50, ...new Array(14).fill(0))
    const a2 = new ScriptedStream()
    const second = new FrameReader(asStream(a2), { maxDataLength: 100, maxBufferSize: 4096, budget: budget.forPeer('a') })
    const pending = second.read()
    a2.deliver(50, 1, 2, 3, 4, 5)
    await assert.rejects(pending, BudgetExceededError)
    await turn()
    assert.ok(a2.aborted instanceof BudgetExceededError)
    assert.equal(a1.aborted, undefined)
    assert.equal(budget.held('a'), 15)

    // the node-wide bound: b fits 15 bytes while a holds 15, not one more
    const b = new ScriptedStream()
    const other = new FrameReader(asStream(b), { maxDataLength: 100, maxBufferSize: 4096, budget: budget.forPeer('b') })
    b.deliver(50, ...new Array(14).fill(0))
    assert.equal(budget.held(), 30)
    const refused = other.read()
    b.deliver(0)
    await assert.rejects(refused, BudgetExceededError)
    assert.equal(budget.held('b'), 0, 'an aborted reader gives back what it held')

    first.detach()
    assert.equal(budget.held(), 0, 'detaching gives back the rest')
  })

  test('the end inside a frame, a reset, and an aborted wait', async () => {
    const s = new ScriptedStream()
    const reader = new FrameReader(asStream(s), { maxDataLength: 100, maxBufferSize: 4096 })
    s.deliver(5, 1, 2)
    s.endWrite()
    await assert.rejects(reader.read(), TruncatedFrameError)

    const r = new ScriptedStream()
    const resetReader = new FrameReader(asStream(r), { maxDataLength: 100, maxBufferSize: 4096 })
    const pending = resetReader.read()
    const gone = Object.assign(new Error('reset by peer'), { name: 'StreamResetError' })
    r.reset(gone)
    await assert.rejects(pending, gone)

    const w = new ScriptedStream()
    const waitReader = new FrameReader(asStream(w), { maxDataLength: 100, maxBufferSize: 4096 })
    const controller = new AbortController()
    const waiting = waitReader.read(controller.signal)
    controller.abort(new Error('given up'))
    await assert.rejects(waiting, /given up/)
    // the reader is still usable after an aborted wait
    w.deliver(...framed('later'))
    assert.equal(text(await waitReader.read()), 'later')
  })

  test('detach stops listening', async () => {
    const s = new ScriptedStream()
    const reader = new FrameReader(asStream(s), { maxDataLength: 100, maxBufferSize: 4096 })
    reader.detach()
    s.deliver(...framed('ignored'))
    assert.equal(reader.bufferedBytes, 0)
  })
})

describe('protocols: FrameWriter', () => {
  test('frames written in one turn leave in one send, each with its length prefix', async () => {
    const s = new ScriptedStream()
    const writer = new FrameWriter(asStream(s), 1000)
    const signal = new AbortController().signal
    await writer.write(new TextEncoder().encode('a'), signal)
    await writer.write(new TextEncoder().encode('bb'), signal)
    await writer.write(new Uint8Array(0), signal)
    assert.equal(s.sent.length, 0, 'nothing leaves before the end of the turn')
    await turn()
    assert.equal(s.sent.length, 1)
    assert.deepEqual([...(s.sent[0] as Uint8Array)], [1, 97, 2, 98, 98, 0])
    // end() sends at once
    await writer.write(new TextEncoder().encode('c'), signal)
    await writer.end(signal)
    assert.equal(s.sent.length, 2)
    await turn()
    assert.equal(s.sent.length, 2)
  })

  test('a batch over MAX_BATCH_BYTES leaves at once; a full transport makes the next write wait for drain, at most stallMs', async () => {
    const s = new ScriptedStream()
    const writer = new FrameWriter(asStream(s), 100)
    const signal = new AbortController().signal
    s.accept = false
    await writer.write(new Uint8Array(MAX_BATCH_BYTES), signal)
    assert.equal(s.sent.length, 1)
    let written = false
    const next = writer.write(new Uint8Array(1), signal).then(() => { written = true })
    await turn()
    assert.equal(written, false, 'waits while the transport is full')
    s.accept = true
    s.drain()
    await next
    assert.equal(written, true)
    // full again and never drained: waiting gives up after stallMs
    s.accept = false
    await writer.write(new Uint8Array(1), signal)
    await assert.rejects(writer.end(signal), (err: unknown) => err instanceof Error && err.name === 'TimeoutError')
  })

  test('a send that throws fails the next write', async () => {
    const s = new ScriptedStream()
    s.send = () => { throw Object.assign(new Error('closed'), { name: 'StreamStateError' }) }
    const writer = new FrameWriter(asStream(s), 100)
    const signal = new AbortController().signal
    await writer.write(new Uint8Array(1), signal)
    await turn()
    await assert.rejects(writer.write(new Uint8Array(1), signal), /closed/)
    await assert.rejects(writer.end(signal), /closed/)
  })
})
