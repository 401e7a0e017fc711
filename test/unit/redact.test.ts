/** --debug-safe: secrets out of what is shown and logged, by shape and by value; nothing else touched. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { secretRedactor } from '../../src/observability/redact.ts'

const redact = secretRedactor(['s3cr3t-token-value-0123456789abcdef'])

test('private keys, swarm keys, invites, API keys, bearer and URL tokens are redacted', () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const out = redact(`key:\n${pem}`)
  assert.ok(!out.includes(pem.split('\n')[1] as string), 'the key body is gone')
  assert.match(out, /-----BEGIN PRIVATE KEY----- \[redacted\] -----END PRIVATE KEY-----/)
  // the same key inside JSON (newlines escaped)
  assert.ok(!redact(JSON.stringify({ pem })).includes((pem.split('\n')[1] as string).slice(0, 20)))
  const swarm = `/key/swarm/psk/1.0.0/\n/base16/\n${'ab'.repeat(32)}`
  assert.equal(redact(swarm), '/key/swarm/psk/1.0.0/\n/base16/\n[redacted]')
  assert.ok(!redact(JSON.stringify({ swarm })).includes('ab'.repeat(32)))
  assert.equal(redact('join agora-invite:1:eyJ2IjoxLCJwc2si_-Zz please'), 'join agora-invite:1:[redacted] please')
  assert.equal(redact('{"key":"agk_1a2b3c4d_QmFzZTY0VXJs-_x"}'), '{"key":"agk_[redacted]"}')
  assert.equal(redact('authorization: Bearer abc.DEF-123_~+/='), 'authorization: [redacted]'.replace('[redacted]', 'Bearer [redacted]'))
  assert.equal(redact('GET /api/v1/events?token=abc123&x=1'), 'GET /api/v1/events?token=[redacted]&x=1')
})

test('a known value with no shape (the API token) is redacted wherever it appears; ordinary text is untouched', () => {
  assert.equal(redact('token s3cr3t-token-value-0123456789abcdef in a line'), 'token [redacted] in a line')
  const plain = 'peer 12D3KooWHXaBcCeBJM3EMK3UtYUKgqy3Q2rfbkcdo3R3HKQynAtC job 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 price 1.500000'
  assert.equal(redact(plain), plain)
  // a short known value would blank out ordinary words: ignored
  assert.equal(secretRedactor(['abc'])('abc abc'), 'abc abc')
})
