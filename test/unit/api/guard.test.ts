import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHostGuard, localApiUrl, presentedToken } from '../../../src/api/guard.ts'
import { isAgoraError } from '../../../src/errors.ts'

test('the host guard checks the port once the server listens', () => {
  const guard = createHostGuard({ port: () => 8145 })
  assert.doesNotThrow(() => guard('127.0.0.1:8145', undefined))
  assert.doesNotThrow(() => guard('[::1]:8145', 'http://localhost:8145'))
  assert.throws(() => guard('127.0.0.1:9999', undefined), err => isAgoraError(err, 'E501'))
  assert.throws(() => guard('127.0.0.1:8145', 'http://127.0.0.1:9999'), err => isAgoraError(err, 'E501'))
  assert.throws(() => guard('127.0.0.1:8145', 'null'), err => isAgoraError(err, 'E501'))
  assert.throws(() => guard(undefined, undefined), err => isAgoraError(err, 'E501'))
  assert.throws(() => guard('attacker.test:8145', undefined), err => isAgoraError(err, 'E501'))
})

test('a configured non-loopback API host is allowed, wildcards are not', () => {
  const guard = createHostGuard({ extraHosts: ['10.1.2.3', '0.0.0.0'], port: () => undefined })
  assert.doesNotThrow(() => guard('10.1.2.3:8145', undefined))
  assert.throws(() => guard('0.0.0.0:8145', undefined), err => isAgoraError(err, 'E501'))
})

test('an API bound to a wildcard is reached on loopback (the URL the CLI reads must pass the guard)', () => {
  const guard = createHostGuard({ extraHosts: ['0.0.0.0'], port: () => 8145 })
  for (const [bound, url] of [['0.0.0.0', 'http://127.0.0.1:8145'], ['::', 'http://[::1]:8145'], ['127.0.0.1', 'http://127.0.0.1:8145'], ['::1', 'http://[::1]:8145'], ['10.1.2.3', 'http://10.1.2.3:8145']] as const) {
    assert.equal(localApiUrl(bound, 8145), url)
  }
  assert.doesNotThrow(() => guard(new URL(localApiUrl('0.0.0.0', 8145)).host, undefined))
  assert.doesNotThrow(() => guard(new URL(localApiUrl('::', 8145)).host, undefined))
})

test('tokens come from the Authorization header or the query string', () => {
  assert.equal(presentedToken('Bearer abc', '/x'), 'abc')
  assert.equal(presentedToken('bearer   abc', '/x'), 'abc')
  assert.equal(presentedToken('Basic abc', '/x'), '')
  assert.equal(presentedToken(undefined, '/x?token=t%20k'), 't k')
  assert.equal(presentedToken(undefined, '/x'), undefined)
})
