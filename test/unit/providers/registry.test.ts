import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { CapabilityRegistry, type CapabilitySource, type Capacity, type ModelCapability } from '../../../src/providers/index.ts'

function source (id: string, models: ModelCapability[], taskTypes: string[], capacity: Capacity, tags?: string[]): CapabilitySource {
  return { id, models: () => models, taskTypes: () => taskTypes, capacity: () => capacity, ...(tags === undefined ? {} : { tags: () => tags }) }
}

describe('capability registry', () => {
  test('snapshot merges sources: models by name (first wins), task types and tags deduplicated and sorted, capacity summed', () => {
    const registry = new CapabilityRegistry()
    registry.register(source('wink', [{ name: 'agora/wink-embed-100d', provider: 'wink', kind: 'embedding', contextLength: 8192 }], ['text.embed', 'text.chunk'], { slotsTotal: 2, slotsIdle: 1 }, ['embedded', 'cpu']))
    registry.register(source('ollama', [
      { name: 'llama3.2:3b', provider: 'ollama', kind: 'chat', contextLength: 131072 },
      { name: 'agora/wink-embed-100d', provider: 'ollama', kind: 'embedding', contextLength: 512 }
    ], ['text.embed', 'chat'], { slotsTotal: 4, slotsIdle: 9 }, ['gpu', 'cpu']))
    registry.register(source('executors', [], ['text.summarise'], { slotsTotal: 0, slotsIdle: 0 }))

    const snap = registry.snapshot()
    assert.deepEqual(snap.models.map(m => `${m.name}@${m.provider}`), ['agora/wink-embed-100d@wink', 'llama3.2:3b@ollama'])
    assert.deepEqual(snap.taskTypes, ['chat', 'text.chunk', 'text.embed', 'text.summarise'])
    assert.deepEqual(snap.tags, ['cpu', 'embedded', 'gpu'])
    // idle never counts more than total (ollama claims 9 of 4)
    assert.deepEqual(snap.capacity, { slotsTotal: 6, slotsIdle: 5 })
  })

  test('capacity is read on demand, and register / unregister / changed emit "changed"', () => {
    const registry = new CapabilityRegistry()
    let events = 0
    registry.on('changed', () => { events++ })
    const capacity = { slotsTotal: 2, slotsIdle: 2 }
    registry.register(source('a', [], ['x'], capacity))
    assert.equal(events, 1)
    capacity.slotsIdle = 0
    assert.deepEqual(registry.snapshot().capacity, { slotsTotal: 2, slotsIdle: 0 })
    assert.throws(() => registry.register(source('a', [], [], capacity)), /registered already/)
    registry.changed()
    assert.equal(events, 2)
    assert.equal(registry.get('a')?.id, 'a')
    assert.equal(registry.list().length, 1)
    assert.equal(registry.unregister('a'), true)
    assert.equal(registry.unregister('a'), false)
    assert.equal(events, 3)
    assert.deepEqual(registry.snapshot(), { models: [], taskTypes: [], tags: [], capacity: { slotsTotal: 0, slotsIdle: 0 } })
  })
})
