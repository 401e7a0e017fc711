/**
 * The provider manager against real fake engines on loopback: discovery on
 * injected ports (never the real 11434/1234/8080), user providers persisted
 * in the kv store, health and model changes re-announcing the offer.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAgoraError } from '../../../src/errors.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import { CapabilityRegistry, collectChat, createWinkProvider, ProviderManager, USER_PROVIDERS_KEY, type ProviderManagerInit, type WinkProvider } from '../../../src/providers/index.ts'
import { startFakeOllama } from '../../fixtures/fake-ollama.ts'
import { startFakeOpenAI } from '../../fixtures/fake-openai.ts'
import { waitFor } from '../../harness/wait.ts'
import type { FakeEngine } from '../../fixtures/fake-engine.ts'

const chat = { model: 'fake-chat', messages: [{ role: 'user' as const, content: 'hi' }] }

describe('provider manager', () => {
  let dir: string
  let store: Store
  let wink: WinkProvider
  /** A port nothing listens on. */
  let closedPort: number
  const managers: ProviderManager[] = []
  const fakes: FakeEngine[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agora-'))
    store = openStore(join(dir, 'agora.db'))
    wink = createWinkProvider({ logger: silentLogger() }, { cacheDir: join(dir, 'models') })
    const probe = await startFakeOllama()
    closedPort = probe.port
    await probe.close()
  })
  after(async () => {
    await Promise.all(managers.map(m => m.stop()))
    await Promise.all(fakes.map(f => f.close()))
    await wink.stop()
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const fake = async (start: typeof startFakeOllama, behaviour: Parameters<typeof startFakeOllama>[0] = {}, port = 0): Promise<FakeEngine> => {
    const engine = await start(behaviour, port)
    fakes.push(engine)
    return engine
  }
  const manager = (registry: CapabilityRegistry, init: ProviderManagerInit = {}, on: Store = store, events?: AgoraEvents): ProviderManager => {
    const m = new ProviderManager({ registry, store: on, logger: silentLogger(), builtin: [wink], events }, {
      discovery: false,
      discoveryPorts: { ollama: closedPort, lmstudio: closedPort, llamacpp: closedPort },
      ...init
    })
    managers.push(m)
    return m
  }
  const counter = (registry: CapabilityRegistry): { count: number } => {
    const seen = { count: 0 }
    registry.on('changed', () => { seen.count++ })
    return seen
  }

  test('discovery registers the engines found on the probed ports, and forgets them once gone', async () => {
    const ollama = await fake(startFakeOllama)
    const lmstudio = await fake(startFakeOpenAI, { models: [{ name: 'fake-chat' }, { name: 'qwen' }] })
    const registry = new CapabilityRegistry()
    const changes = counter(registry)
    // llama.cpp's port holds an Ollama: it does not answer /v1/models, so it is not taken for llama.cpp
    const m = manager(registry, { discovery: true, discoveryPorts: { ollama: ollama.port, lmstudio: lmstudio.port, llamacpp: ollama.port } })
    m.start()
    await m.refresh()
    assert.deepEqual(m.list().map(p => [p.name, p.kind, p.source, p.health.status, p.url]), [
      ['wink', 'wink', 'builtin', 'healthy', 'embedded'],
      ['lmstudio-local', 'openai', 'discovered', 'healthy', lmstudio.url],
      ['ollama-local', 'ollama', 'discovered', 'healthy', ollama.url]
    ])
    const names = registry.snapshot().models.map(model => `${model.provider}/${model.name}`).sort()
    assert.deepEqual(names, ['lmstudio-local/qwen', 'ollama-local/fake-chat', 'ollama-local/fake-embed', 'wink/agora/wink-embed-100d'])
    assert.ok(changes.count >= 3, 'registrations and model lists announced')
    assert.deepEqual(m.providerFor('fake-chat').map(p => p.id).sort(), ['lmstudio-local', 'ollama-local'])
    assert.equal((await collectChat(m.get('ollama-local')!.chatStream(chat))).content, 'Hello, world!')

    await ollama.close()
    const before = changes.count
    await m.refresh()
    assert.equal(m.list().find(p => p.name === 'ollama-local')?.health.status, 'unhealthy', 'first miss: unhealthy, still listed')
    assert.ok(changes.count > before, 'health change announced')
    assert.ok(!registry.snapshot().models.some(model => model.provider === 'ollama-local'), 'an unhealthy provider leaves the offer')
    assert.deepEqual(m.providerFor('fake-chat').map(p => p.id), ['lmstudio-local', 'ollama-local'], 'healthy first')
    await m.refresh()
    assert.equal(m.get('ollama-local'), undefined, 'second miss: unregistered')
    assert.equal(registry.get('ollama-local'), undefined)
  })

  test('discovery runs every interval: an engine started later is found', async () => {
    const registry = new CapabilityRegistry()
    const m = manager(registry, { discovery: true, discoveryIntervalMs: 50 })
    m.start()
    await m.refresh()
    assert.deepEqual(m.list().map(p => p.name), ['wink'])
    // the engine comes up on the probed port after the node started
    const ollama = await startFakeOllama({}, closedPort)
    try {
      // health and the model list arrive in one round but not in one step: wait for both
      await waitFor('discovery to find the engine and its models', () =>
        m.get('ollama-local')?.health().status === 'healthy' && registry.snapshot().models.some(model => model.provider === 'ollama-local'))
      const rounds = ollama.stats.byRoute['GET /api/version'] ?? 0
      await waitFor('more rounds', () => (ollama.stats.byRoute['GET /api/version'] ?? 0) >= rounds + 2)
      await m.stop()
    } finally {
      await ollama.close()
    }
  })

  test('add: validated (E710), probed, persisted without the key, in effect at once; a new manager on the same store has it; remove undoes it', async () => {
    const lab = await fake(startFakeOpenAI, { apiKey: 'sk-lab' })
    const registry = new CapabilityRegistry()
    const changes = counter(registry)
    const env = { LAB_KEY: 'sk-lab' }
    const first = manager(registry, { env })
    first.start()
    for (const bad of [
      { name: 'bad name!', kind: 'openai', url: lab.url },
      { name: 'x', kind: 'tgi', url: lab.url },
      { name: 'x', kind: 'openai', url: 'ftp://127.0.0.1/' },
      { name: 'x', kind: 'openai', url: 'http://user:pw@127.0.0.1:1/' },
      { name: 'x', kind: 'openai', url: lab.url, apiKeyEnv: 'sk-lab-123' },
      { name: 'wink', kind: 'openai', url: lab.url }
    ]) await assert.rejects(first.add(bad), err => isAgoraError(err, 'E710'), JSON.stringify(bad))

    const added = await first.add({ name: 'lab', kind: 'openai', url: `${lab.url}/`, apiKeyEnv: 'LAB_KEY' })
    assert.equal(added.health.status, 'healthy')
    assert.deepEqual(added.models.map(model => model.name), ['fake-chat', 'fake-embed'])
    assert.deepEqual([added.source, added.url, added.apiKeyEnv], ['user', lab.url, 'LAB_KEY'])
    assert.ok(changes.count >= 1)
    assert.ok(registry.snapshot().models.some(model => model.provider === 'lab'), 'in the offer without a restart')
    assert.deepEqual(store.kv.get(USER_PROVIDERS_KEY), [{ name: 'lab', kind: 'openai', url: lab.url, apiKeyEnv: 'LAB_KEY' }])
    assert.ok(!JSON.stringify(store.kv.get(USER_PROVIDERS_KEY)).includes('sk-lab'), 'the key is never stored')
    await assert.rejects(first.add({ name: 'lab', kind: 'ollama', url: 'http://127.0.0.1:9' }), err => isAgoraError(err, 'E710') && /exists/.test(err.why ?? ''))
    await assert.rejects(first.add({ name: 'lab2', kind: 'openai', url: `${lab.url}/v1` }), err => isAgoraError(err, 'E710') && /already points/.test(err.why ?? ''))
    const tested = await first.test('lab')
    assert.equal(tested.health.status, 'healthy')
    assert.equal(tested.models.length, 2)
    await first.stop()

    const registry2 = new CapabilityRegistry()
    const second = manager(registry2, { env })
    second.start()
    assert.deepEqual(second.list().map(p => [p.name, p.source]), [['wink', 'builtin'], ['lab', 'user']])
    await second.refresh()
    assert.equal(second.get('lab')?.health().status, 'healthy')
    await assert.rejects(second.remove('nope'), err => isAgoraError(err, 'E711'))
    await assert.rejects(second.remove('wink'), err => isAgoraError(err, 'E710'))
    await assert.rejects(second.test('nope'), err => isAgoraError(err, 'E711'))
    await second.remove('lab')
    assert.equal(registry2.get('lab'), undefined)
    assert.deepEqual(store.kv.get(USER_PROVIDERS_KEY), [])
    await second.stop()

    const third = manager(new CapabilityRegistry())
    third.start()
    assert.deepEqual(third.list().map(p => p.name), ['wink'])
  })

  test('an unreachable provider is added anyway, unhealthy with its error; health changes re-announce the offer', async () => {
    const other = mkdtempSync(join(tmpdir(), 'agora-'))
    const own = openStore(join(other, 'agora.db'))
    try {
      const registry = new CapabilityRegistry()
      const events = new AgoraEvents()
      const told: string[] = []
      events.on('provider:status', e => { if (e.provider === 'later') told.push(`${e.previous ?? '-'} → ${e.status}`) })
      const m = manager(registry, {}, own, events)
      m.start()
      const info = await m.add({ name: 'later', kind: 'ollama', url: `http://127.0.0.1:${closedPort}` })
      assert.equal(info.health.status, 'unhealthy')
      assert.match(info.health.lastError ?? '', /E708.*ECONNREFUSED/)
      const changes = counter(registry)
      const engine = await fake(startFakeOllama, {}, closedPort)
      await m.refresh()
      assert.equal(m.get('later')?.health().status, 'healthy')
      assert.ok(changes.count >= 1)
      assert.ok(registry.snapshot().models.some(model => model.provider === 'later'))

      // passive: a 500 during a call degrades the provider and re-announces at once
      engine.setBehaviour({ httpError: 500 })
      const before = changes.count
      await assert.rejects(collectChat(m.providerFor('fake-chat')[0]!.chatStream(chat)), err => isAgoraError(err, 'E707'))
      assert.equal(m.get('later')?.health().status, 'degraded')
      assert.equal(changes.count, before + 1)
      await m.remove('later')
      // provider:status on the event socket: each change once, and the removal
      assert.deepEqual(told, ['- → unhealthy', 'unhealthy → healthy', 'healthy → degraded', 'degraded → removed'])
      await m.stop()
    } finally {
      own.close()
      rmSync(other, { recursive: true, force: true })
    }
  })

  test('a user provider for a discovered engine replaces it; discovery then leaves that engine alone', async () => {
    const ollama = await fake(startFakeOllama)
    const registry = new CapabilityRegistry()
    const other = mkdtempSync(join(tmpdir(), 'agora-'))
    const own = openStore(join(other, 'agora.db'))
    const metrics = createRegistry({ defaultMetrics: false })
    try {
      const m = new ProviderManager({ registry, store: own, logger: silentLogger(), metrics }, {
        discovery: true, discoveryPorts: { ollama: ollama.port, lmstudio: closedPort, llamacpp: closedPort }
      })
      managers.push(m)
      m.start()
      await m.refresh()
      assert.deepEqual(m.list().map(p => p.name), ['ollama-local'])
      await m.add({ name: 'gpu-box', kind: 'ollama', url: ollama.url })
      await m.refresh()
      assert.deepEqual(m.list().map(p => [p.name, p.source]), [['gpu-box', 'user']])
      await collectChat(m.get('gpu-box')!.chatStream(chat))
      const text = await metrics.metrics()
      assert.match(text, /agora_provider_health\{provider="gpu-box"\} 2/)
      assert.match(text, /agora_provider_models\{provider="gpu-box"\} 2/)
      assert.match(text, /agora_provider_requests_total\{provider="gpu-box",op="chat",outcome="ok"\} 1/)
      await m.stop()
    } finally {
      own.close()
      rmSync(other, { recursive: true, force: true })
    }
  })
})
