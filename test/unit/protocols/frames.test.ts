import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { z } from 'zod'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'
import { decodeErrorBody, errorFrame, frame, jsonCodec, splitFrame } from '../../../src/protocols/reqresp/frames.ts'
import { MAX_ERROR_FRAME_BYTES } from '../../../src/protocols/reqresp/constants.ts'
import { defineProtocol, defineStreamingProtocol, STATUS } from '../../../src/protocols/index.ts'

describe('protocols: reqresp frames', () => {
  test('a frame is a status byte and a body', () => {
    const bytes = frame(STATUS.OK, jsonCodec.encode({ a: 1 }))
    const parts = splitFrame(bytes)
    assert.equal(parts?.status, STATUS.OK)
    assert.deepEqual(jsonCodec.decode(parts?.body ?? new Uint8Array()), { a: 1 })
    assert.equal(splitFrame(new Uint8Array(0)), undefined)
    assert.deepEqual(splitFrame(frame(STATUS.END)), { status: STATUS.END, body: new Uint8Array(0) })
  })

  test('the JSON codec refuses invalid UTF-8 and invalid JSON', () => {
    assert.throws(() => jsonCodec.decode(new Uint8Array([0xff, 0xfe])))
    assert.throws(() => jsonCodec.decode(new TextEncoder().encode('{"a":')))
  })

  test('an error travels as code, message and why', () => {
    const parts = splitFrame(errorFrame(new AgoraError('E206', 'too many requests', { why: 'over the limit', details: { secret: 'never sent' } })))
    assert.equal(parts?.status, STATUS.ERROR)
    assert.doesNotMatch(new TextDecoder().decode(parts?.body), /secret/)
    const err = decodeErrorBody(parts?.body ?? new Uint8Array(), { peer: 'p' })
    assert.ok(isAgoraError(err, 'E206'))
    assert.equal(err.what, 'too many requests')
    assert.equal(err.why, 'over the limit')
    assert.deepEqual(err.details, { peer: 'p', remote: true, remoteCode: 'E206' })
  })

  test('unknown codes become E207; malformed error bodies are rejected', () => {
    const body = new TextEncoder().encode(JSON.stringify({ code: 'E999', message: 'x' }))
    assert.equal(decodeErrorBody(body, {})?.code, 'E207')
    assert.equal(decodeErrorBody(new TextEncoder().encode('{"message":"x"}'), {}), undefined)
    assert.equal(decodeErrorBody(new Uint8Array([1, 2, 3]), {}), undefined)
  })

  test('error frames stay under the size every client accepts', () => {
    const long = '\u0000'.repeat(5000)
    assert.ok(errorFrame(new AgoraError('E207', long, { why: long })).byteLength < MAX_ERROR_FRAME_BYTES)
    assert.ok(errorFrame(new AgoraError('E207', '€'.repeat(5000), { why: '€'.repeat(5000) })).byteLength < MAX_ERROR_FRAME_BYTES)
  })

  test('protocol definitions are checked', () => {
    const base = { request: z.object({}), response: z.object({}), maxRequestBytes: 10, maxResponseBytes: 10 }
    assert.equal(defineProtocol({ ...base, id: '/agora/x/1' }).streaming, false)
    assert.equal(defineStreamingProtocol({ ...base, id: '/agora/x/1' }).streaming, true)
    assert.throws(() => defineProtocol({ ...base, id: 'agora x' }), (err: unknown) => isAgoraError(err, 'E599'))
    assert.throws(() => defineProtocol({ ...base, id: '/agora/x/1', maxRequestBytes: 0 }), (err: unknown) => isAgoraError(err, 'E599'))
  })
})
