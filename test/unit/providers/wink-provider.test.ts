import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { CapabilityRegistry, winkCacheDir, WINK_EMBED_MODEL } from '../../../src/providers/index.ts'
import { isAgoraError } from '../../../src/errors.ts'
import { winkProviderSuite } from './wink-fixture.ts'

describe('wink provider (capability source)', () => {
  const suite = winkProviderSuite()
  const create = suite.create

  test('advertises the embedding model and tags (task types belong to the jobs worker); the registry snapshot carries them', () => {
    const registry = new CapabilityRegistry()
    const provider = create({ slots: 3 })
    registry.register(provider)
    const snap = registry.snapshot()
    assert.deepEqual(snap.models, [{ name: WINK_EMBED_MODEL, provider: 'wink', kind: 'embedding', contextLength: 8192 }])
    assert.deepEqual(snap.taskTypes, [])
    assert.deepEqual(snap.tags, ['cpu', 'embedded'])
    assert.deepEqual(snap.capacity, { slotsTotal: 3, slotsIdle: 3 })
    assert.equal(provider.engine.stats().worker, false, 'registering loads nothing')
  })

  test('idle slots = slots − calls in the engine (read on demand)', async () => {
    const provider = create({ slots: 2 })
    const calls = [provider.engine.sentiment('good'), provider.engine.sentiment('bad'), provider.engine.sentiment('ok')]
    assert.deepEqual(provider.capacity(), { slotsTotal: 2, slotsIdle: 0 })
    await calls[0]
    assert.ok(provider.capacity().slotsIdle <= 1)
    await Promise.all(calls)
    assert.deepEqual(provider.capacity(), { slotsTotal: 2, slotsIdle: 2 })
  })

  test('disabled: advertises nothing and refuses calls', async () => {
    const provider = create({ enabled: false })
    assert.deepEqual(provider.models(), [])
    assert.deepEqual(provider.taskTypes(), [])
    assert.deepEqual(provider.capacity(), { slotsTotal: 0, slotsIdle: 0 })
    await assert.rejects(provider.engine.embed(['x']), err => isAgoraError(err, 'E700'))
  })

  test('bad slots are refused; cache dir defaults to <data-dir>/models', () => {
    assert.throws(() => create({ slots: 0 }), err => isAgoraError(err, 'E704'))
    assert.equal(winkCacheDir('/data'), join('/data', 'models'))
    assert.equal(winkCacheDir('/data', '/cache'), '/cache')
  })
})
