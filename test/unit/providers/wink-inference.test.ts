/** The wink provider through the one inference interface (fixture embeddings, real worker). */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { isAgoraError } from '../../../src/errors.ts'
import { collectChat, WINK_EMBED_MODEL, type InferenceProvider } from '../../../src/providers/index.ts'
import { cosine, winkProviderSuite } from './wink-fixture.ts'

describe('wink provider (inference interface)', () => {
  const suite = winkProviderSuite()
  const create = suite.create

  test('embeddings: deterministic, 100-d, unit length, in input order, prompt tokens summed', async () => {
    const provider: InferenceProvider = create()
    assert.equal(provider.kind, 'wink')
    assert.equal(provider.health().status, 'healthy', 'healthy once constructed')
    const first = await provider.embeddings({ model: WINK_EMBED_MODEL, input: ['the king', 'banana', 'the king'] })
    const again = await provider.embeddings({ model: WINK_EMBED_MODEL, input: ['the king'] })
    assert.equal(first.vectors.length, 3)
    for (const vector of first.vectors) {
      assert.ok(Array.isArray(vector), 'plain number arrays (JSON-ready)')
      assert.equal(vector.length, 100)
      assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5, 'unit length')
    }
    assert.deepEqual(first.vectors[2], first.vectors[0])
    assert.deepEqual(again.vectors[0], first.vectors[0])
    assert.ok(cosine(first.vectors[0] as number[], first.vectors[1] as number[]) < 0.99, 'different texts differ')
    assert.deepEqual(first.usage, { promptTokens: 5 })
    assert.deepEqual(await provider.refreshModels(), provider.models())
    assert.equal((await provider.checkHealth()).status, 'healthy')
  })

  test('chat fails with E709; another model with E712; a cancelled call with E703', async () => {
    const provider = create()
    await assert.rejects(collectChat(provider.chatStream({ model: WINK_EMBED_MODEL, messages: [{ role: 'user', content: 'hi' }] })), err => isAgoraError(err, 'E709'))
    await assert.rejects(provider.embeddings({ model: 'llama3', input: ['x'] }), err => isAgoraError(err, 'E712'))
    await assert.rejects(provider.embeddings({ model: WINK_EMBED_MODEL, input: ['x'] }, { signal: AbortSignal.abort() }), err => isAgoraError(err, 'E703'))
    assert.equal(provider.health().status, 'healthy', 'refusals and cancels are not engine failures')
  })

  test('an engine that cannot load its vectors is degraded with the error; disabled is unhealthy', async () => {
    const broken = create({ cacheDir: join(suite.dir(), 'empty'), sourcePath: join(suite.dir(), 'missing.json') })
    await assert.rejects(broken.embeddings({ model: WINK_EMBED_MODEL, input: ['king'] }), err => isAgoraError(err, 'E700'))
    assert.equal(broken.health().status, 'degraded')
    assert.ok((broken.health().lastError ?? '').length > 0)
    const disabled = create({ enabled: false })
    assert.equal(disabled.health().status, 'unhealthy')
    assert.match(disabled.health().lastError ?? '', /disabled/)
    await assert.rejects(disabled.embeddings({ model: WINK_EMBED_MODEL, input: ['x'] }), err => isAgoraError(err, 'E700'))
    assert.equal(disabled.health().status, 'unhealthy')
  })
})
