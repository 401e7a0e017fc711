import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CapabilityRegistry, type CapabilitySource, type ModelKind } from '../../../src/providers/registry.ts'
import { executorTable } from '../../../src/jobs/executors/index.ts'
import { JobsCapabilitySource, Resources } from '../../../src/jobs/worker/index.ts'
import { waitFor } from '../../harness/wait.ts'
import { FakeProbes, fixtures, makeWorker } from './task-fixtures.ts'

function resources (init: { slots?: number, maxCpuLoad?: number, minFreeMemoryMb?: number } = {}): { r: Resources, probes: FakeProbes } {
  const probes = new FakeProbes()
  return { r: new Resources({ slots: 2, maxCpuLoad: 0.9, minFreeMemoryMb: 256, probes, sampleMs: 0, ...init }), probes }
}

describe('jobs worker: resources', () => {
  test('slots: two taken, the third refused; a release (even twice) frees exactly one', () => {
    const { r } = resources()
    const a = r.tryAcquire()
    const b = r.tryAcquire()
    assert.equal(typeof a, 'function')
    assert.equal(typeof b, 'function')
    assert.equal(r.tryAcquire(), 'slots')
    assert.equal(r.running, 2)
    assert.equal(r.idleSlots(), 0)
    if (typeof a === 'function') { a(); a() }
    assert.equal(r.running, 1)
    assert.equal(r.idleSlots(), 1)
    assert.equal(typeof r.tryAcquire(), 'function')
    assert.equal(r.tryAcquire(), 'slots')
  })

  test('CPU: a load per core over maxCpuLoad refuses and advertises no idle slot', () => {
    const { r, probes } = resources()
    probes.coreCount = 4
    probes.load = 3.5 // 0.875 per core: fine
    assert.equal(r.idleSlots(), 2)
    probes.load = 4 // 1.0 per core
    assert.equal(r.tryAcquire(), 'cpu')
    assert.equal(r.idleSlots(), 0)
    assert.equal(r.snapshot().blocked, 'cpu')
    assert.equal(r.running, 0)
  })

  test('memory: less free than minFreeMemoryMb refuses', () => {
    const { r, probes } = resources()
    probes.freeBytes = 255 * 1024 * 1024
    assert.equal(r.tryAcquire(), 'memory')
    assert.equal(r.idleSlots(), 0)
    assert.equal(r.snapshot().freeMemoryMb, 255)
    probes.freeBytes = 257 * 1024 * 1024
    assert.equal(typeof r.tryAcquire(), 'function')
  })

  test('limits of 0 switch the CPU and memory checks off; slots 0 runs nothing', () => {
    const { r, probes } = resources({ maxCpuLoad: 0, minFreeMemoryMb: 0 })
    probes.load = 100
    probes.freeBytes = 0
    assert.equal(typeof r.tryAcquire(), 'function')
    const none = resources({ slots: 0 }).r
    assert.equal(none.tryAcquire(), 'slots')
    assert.equal(none.idleSlots(), 0)
  })

  test('a probe reading is reused for sampleMs', () => {
    const probes = new FakeProbes()
    let now = 1000
    const r = new Resources({ slots: 1, probes, sampleMs: 1000, now: () => now })
    assert.equal(r.pressure(), undefined)
    probes.load = 10
    assert.equal(r.pressure(), undefined, 'still the old reading')
    now += 1000
    assert.equal(r.pressure(), 'cpu')
  })

  test('taking and giving back a slot emits changed', () => {
    const { r } = resources()
    let changes = 0
    r.on('changed', () => { changes++ })
    const release = r.tryAcquire()
    assert.equal(typeof release, 'function')
    if (typeof release === 'function') release()
    assert.equal(changes, 2)
    r.tryAcquire()
    assert.equal(changes, 3)
  })

  test('bad limits are config errors (E300)', () => {
    assert.throws(() => new Resources({ slots: -1 }), { code: 'E300' })
    assert.throws(() => new Resources({ slots: 1.5 }), { code: 'E300' })
  })
})

describe('jobs worker: capability source', () => {
  test('advertises the task types (debug ones only when enabled) and the enforced capacity', async () => {
    const plain = await makeWorker({ slots: 3 })
    const source = new JobsCapabilitySource({ registry: new CapabilityRegistry(), resources: plain.resources, worker: plain.worker })
    assert.deepEqual(source.taskTypes(), ['t.bad', 't.big', 't.echo', 't.fail', 't.sleep', 't.void'])
    assert.deepEqual(source.capacity(), { slotsTotal: 3, slotsIdle: 3 })
    plain.resources.tryAcquire()
    assert.deepEqual(source.capacity(), { slotsTotal: 3, slotsIdle: 2 })
    plain.probes.load = 10
    assert.deepEqual(source.capacity(), { slotsTotal: 3, slotsIdle: 0 })
    const debug = await makeWorker({ debugTasks: true })
    assert.ok(new JobsCapabilitySource({ registry: new CapabilityRegistry(), resources: debug.resources, worker: debug.worker }).taskTypes().includes('t.debug'))
    const none = await makeWorker({ slots: 0 })
    assert.deepEqual(new JobsCapabilitySource({ registry: new CapabilityRegistry(), resources: none.resources, worker: none.worker }).taskTypes(), [])
  })

  test('a type that needs a kind of model is offered only when this node serves one: no chat model, no chat types', async () => {
    const fx = fixtures()
    fx.executors = new Map(executorTable({ debugTasks: false }))
    const { resources, worker } = await makeWorker({ slots: 2, fx })
    const registry = new CapabilityRegistry()
    const models = (kinds: ModelKind[]): CapabilitySource => ({ id: 'engines', models: () => kinds.map(kind => ({ name: `m-${kind}`, provider: 'engines', kind, contextLength: 2048 })), taskTypes: () => [], capacity: () => ({ slotsTotal: 0, slotsIdle: 0 }), tags: () => [] })
    const source = new JobsCapabilitySource({ registry, resources, worker })
    const chatTypes = ['batch.chat', 'llm.map', 'llm.reduce']
    registry.register(models(['embedding']))
    const embeddingOnly = source.taskTypes()
    assert.ok(embeddingOnly.includes('text.embed'))
    assert.deepEqual(chatTypes.filter(t => embeddingOnly.includes(t)), [], 'an embedding engine alone runs no chat types')
    registry.unregister('engines')
    registry.register(models(['chat']))
    assert.deepEqual(chatTypes.filter(t => source.taskTypes().includes(t)), chatTypes)
    assert.ok(!source.taskTypes().includes('text.embed'), 'no embedding model: no text.embed')
    assert.ok(source.taskTypes().includes('text.chunk'), 'the embedded NLP types need no model')
  })

  test('registers at start, tells the registry when idle slots change (coalesced), unregisters at stop', async () => {
    const { resources: r, worker, probes } = await makeWorker({ slots: 4 })
    const registry = new CapabilityRegistry()
    let changed = 0
    registry.on('changed', () => { changed++ })
    const source = new JobsCapabilitySource({ registry, resources: r, worker }, { notifyMs: 200, pollMs: 50 })
    source.start()
    try {
      assert.equal(registry.get('jobs'), source)
      assert.equal(registry.snapshot().capacity.slotsTotal, 4)
      const base = changed
      const releases = [r.tryAcquire(), r.tryAcquire(), r.tryAcquire()]
      // the first change goes out at once, the next two within one quiet period as one
      assert.equal(changed, base + 1)
      await waitFor('the coalesced notification', () => changed === base + 2, { timeoutMs: 2000 })
      assert.equal(registry.snapshot().capacity.slotsIdle, 1)
      for (const release of releases) if (typeof release === 'function') release()
      await waitFor('the release to be announced', () => registry.snapshot().capacity.slotsIdle === 4 && changed === base + 3, { timeoutMs: 2000 })
      // CPU over the limit, with no slot moving: the poll notices
      probes.load = 10
      await waitFor('the CPU limit to be announced', () => changed === base + 4, { timeoutMs: 2000 })
      assert.equal(registry.snapshot().capacity.slotsIdle, 0)
    } finally {
      source.stop()
    }
    assert.equal(registry.get('jobs'), undefined)
  })
})
