import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'
import { chunkVectors, splitText, toWireRequest } from '../../../src/gateway/remote/encode.ts'
import { INFER_MAX_DELTA_CHARS, INFER_MAX_DIMENSIONS, INFER_MAX_INPUTS, INFER_MAX_RESPONSE_BYTES, inferFrameSchema, inferRequestSchema, withRetryAfter } from '../../../src/gateway/remote/index.ts'
import { INFER_VECTOR_FRAME_BUDGET } from '../../../src/gateway/remote/constants.ts'
import type { ChatRequest } from '../../../src/providers/inference.ts'

describe('gateway: /agora/infer/1 wire shapes', () => {
  test('a chat request keeps the known fields and drops the rest', () => {
    const request = { model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5, stream: true, user: 'x' } as unknown as ChatRequest
    assert.deepEqual(toWireRequest('chat', request), { op: 'chat', request: { model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5 } })
    assert.deepEqual(toWireRequest('embeddings', { model: 'e', input: ['a', 'b'] }), { op: 'embeddings', request: { model: 'e', input: ['a', 'b'] } })
  })

  test('requests beyond the protocol limits → E916 before anything is sent', () => {
    const tooMany = { model: 'm', messages: Array.from({ length: 600 }, () => ({ role: 'user' as const, content: 'x' })) }
    assert.throws(() => toWireRequest('chat', tooMany), (err: unknown) => isAgoraError(err, 'E916') && /messages/.test(err.why ?? ''))
    const tooBig = { model: 'm', messages: Array.from({ length: 8 }, () => ({ role: 'user' as const, content: 'x'.repeat(200_000) })) }
    assert.throws(() => toWireRequest('chat', tooBig), (err: unknown) => isAgoraError(err, 'E916') && /bytes/.test(err.why ?? ''))
    assert.throws(() => toWireRequest('embeddings', { model: 'e', input: Array.from({ length: INFER_MAX_INPUTS + 1 }, () => 'a') }), (err: unknown) => isAgoraError(err, 'E916'))
    assert.throws(() => toWireRequest('embeddings', { model: 'e', input: [] }), (err: unknown) => isAgoraError(err, 'E916'))
    assert.throws(() => toWireRequest('chat', { model: '', messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => isAgoraError(err, 'E916'))
  })

  test('the request schema rejects unknown ops and fields; frames are bounded', () => {
    assert.equal(inferRequestSchema.safeParse({ op: 'train', request: {} }).success, false)
    assert.equal(inferRequestSchema.safeParse({ op: 'chat', request: { model: 'm', messages: [{ role: 'user', content: 'x' }], evil: 1 } }).success, false)
    assert.equal(inferFrameSchema.safeParse({ type: 'delta', text: 'x'.repeat(INFER_MAX_DELTA_CHARS + 1) }).success, false)
    assert.equal(inferFrameSchema.safeParse({ type: 'delta', text: '' }).success, false)
    assert.equal(inferFrameSchema.safeParse({ type: 'done', finishReason: 'stop', usage: { promptTokens: -1, completionTokens: 0 } }).success, false)
    assert.equal(inferFrameSchema.safeParse({ type: 'vectors', offset: 0, vectors: [[]] }).success, false)
    assert.equal(inferFrameSchema.safeParse({ type: 'embeddings', count: 1, usage: { promptTokens: 3 } }).success, true)
  })

  test('a paid request carries its payment (six-decimal credits); final frames may carry a price', () => {
    const chat = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] }
    assert.deepEqual(toWireRequest('chat', chat, { receiptId: 'infer:r#1', maxPrice: 1_500_000 }),
      { op: 'chat', request: chat, payment: { receiptId: 'infer:r#1', maxPrice: '1.500000' } })
    assert.deepEqual(toWireRequest('embeddings', { model: 'e', input: ['a'] }, { receiptId: 'infer:r#2', maxPrice: 7 }).payment, { receiptId: 'infer:r#2', maxPrice: '0.000007' })
    const request = (payment: unknown): boolean => inferRequestSchema.safeParse({ op: 'embeddings', request: { model: 'e', input: ['a'] }, payment }).success
    assert.equal(request({ receiptId: 'x', maxPrice: '1.5' }), false, 'exactly six decimals on the wire')
    assert.equal(request({ receiptId: 'x', maxPrice: '-1.000000' }), false)
    assert.equal(request({ receiptId: '', maxPrice: '1.000000' }), false)
    assert.equal(request({ receiptId: 'x', maxPrice: '1.000000', extra: 1 }), false)
    assert.equal(request({ receiptId: 'x', maxPrice: '1.000000' }), true)
    assert.equal(inferFrameSchema.safeParse({ type: 'done', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 }, price: '0.013000' }).success, true)
    assert.equal(inferFrameSchema.safeParse({ type: 'done', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 }, price: 13 }).success, false)
    assert.equal(inferFrameSchema.safeParse({ type: 'embeddings', count: 1, usage: { promptTokens: 3 }, price: '0.004000' }).success, true)
  })

  test('long deltas are split into frames, never inside a surrogate pair', () => {
    assert.deepEqual(splitText('abc', 4), ['abc'])
    const parts = splitText('x'.repeat(10_000), INFER_MAX_DELTA_CHARS)
    assert.deepEqual(parts.map(p => p.length), [4096, 4096, 1808])
    const emoji = 'a' + '😀'.repeat(5) // a + 10 UTF-16 units
    const split = splitText(emoji, 4)
    assert.equal(split.join(''), emoji)
    for (const part of split) {
      assert.ok(part.length <= 4)
      assert.equal(part, Buffer.from(part, 'utf8').toString('utf8'), `a lone surrogate in ${JSON.stringify(part)}`)
    }
  })

  test('vectors are chunked into frames under the budget, the worst vector fits one frame', () => {
    const vectors = Array.from({ length: 256 }, (_, i) => Array.from({ length: 1024 }, (_, d) => Math.sin(i * 1000 + d)))
    const chunks = chunkVectors(vectors, INFER_VECTOR_FRAME_BUDGET)
    assert.ok(chunks.length > 1)
    assert.deepEqual(chunks.flatMap(c => c.vectors), vectors)
    let offset = 0
    for (const chunk of chunks) {
      assert.equal(chunk.offset, offset)
      offset += chunk.vectors.length
      const frame = { type: 'vectors', offset: chunk.offset, vectors: chunk.vectors }
      assert.ok(Buffer.byteLength(JSON.stringify(frame)) <= INFER_MAX_RESPONSE_BYTES)
    }
    const worst = Array.from({ length: INFER_MAX_DIMENSIONS }, () => -2.2250738585072014e-308)
    const [only] = chunkVectors([worst], INFER_VECTOR_FRAME_BUDGET)
    assert.ok(Buffer.byteLength(JSON.stringify({ type: 'vectors', offset: 255, vectors: only?.vectors })) <= INFER_MAX_RESPONSE_BYTES)
  })

  test('a rate-limit refusal from the wire gets its retryAfterMs back', () => {
    const wire = new AgoraError('E905', 'too many tokens', { why: 'over 100 tokens per minute; retry after 1234 ms', details: { remote: true } })
    const restored = withRetryAfter(wire)
    assert.equal(restored.code, 'E905')
    assert.deepEqual(restored.details, { remote: true, retryAfterMs: 1234 })
    const other = new AgoraError('E901', 'not trusted', { why: 'retry after 5 ms' })
    assert.equal(withRetryAfter(other), other)
  })
})
