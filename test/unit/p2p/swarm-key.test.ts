import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { preSharedKey } from '@libp2p/pnet'
import { isAgoraError } from '../../../src/errors.ts'
import { generateSwarmKey, readSwarmKey, swarmKeyProblem } from '../../../src/p2p/index.ts'

describe('p2p: swarm keys', () => {
  test('a generated key is valid and accepted by @libp2p/pnet', () => {
    const text = generateSwarmKey()
    assert.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    assert.equal(swarmKeyProblem(text), undefined)
    assert.notEqual(generateSwarmKey(), text, 'keys are random')
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    try {
      writeFileSync(join(dir, 'swarm.key'), text)
      const psk = readSwarmKey(join(dir, 'swarm.key'))
      assert.doesNotThrow(() => preSharedKey({ psk }))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('malformed keys are explained', () => {
    const hex = 'ab'.repeat(32)
    assert.match(swarmKeyProblem(`/key/swarm/psk/2.0.0/\n/base16/\n${hex}`) ?? '', /first line/)
    assert.match(swarmKeyProblem(`/key/swarm/psk/1.0.0/\n/base64/\n${hex}`) ?? '', /second line/)
    assert.match(swarmKeyProblem('/key/swarm/psk/1.0.0/\n/base16/\nabcd') ?? '', /64 hexadecimal/)
    assert.match(swarmKeyProblem(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}\nmore`) ?? '', /after the key/)
    assert.equal(swarmKeyProblem(`/key/swarm/psk/1.0.0/\r\n/base16/\r\n${hex}\r\n`), undefined, 'CRLF files are fine')
  })

  test('reading a missing or bad file → E208', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    try {
      assert.throws(() => readSwarmKey(join(dir, 'nope.key')), (err: unknown) => isAgoraError(err, 'E208'))
      writeFileSync(join(dir, 'bad.key'), 'hello')
      assert.throws(() => readSwarmKey(join(dir, 'bad.key')), (err: unknown) => isAgoraError(err, 'E208') && err.what.includes('bad.key'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
