/** What an error says when it is not an Error: a libp2p stream can fail with one of its events. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { messageOf } from '../../src/errors.ts'

test('messageOf an event: the error it carries, else its type — never "[object Event]"', () => {
  assert.equal(messageOf(new Error('reset by peer')), 'reset by peer')
  const close = new Event('close')
  assert.equal(messageOf(close), 'the stream failed (a \'close\' event, no error attached)')
  assert.equal(messageOf(Object.assign(new Event('close'), { error: new Error('stream reset') })), 'stream reset')
  assert.equal(messageOf(new CustomEvent('abort', { detail: new Error('the peer is banned') })), 'the peer is banned')
  assert.equal(messageOf('plain'), 'plain')
})
