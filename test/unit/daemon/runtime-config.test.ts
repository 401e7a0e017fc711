/** RuntimeConfig with recorded components: what each hot key calls, events, restart keys, failures, one change at a time. */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RuntimeConfig, type RuntimeConfigComponents } from '../../../src/daemon/runtime-config.ts'
import { AgoraEvents, type AgoraEventMap } from '../../../src/events.ts'
import { defaultConfig, initConfigFile, loadConfig } from '../../../src/config/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { AgoraError, isAgoraError } from '../../../src/errors.ts'

let dir: string
before(() => { dir = mkdtempSync(join(tmpdir(), 'agora-runtime-config-')) })
after(() => { rmSync(dir, { recursive: true, force: true }) })

function setup (name: string, overrides: Partial<RuntimeConfigComponents> = {}): { rc: RuntimeConfig, calls: string[], events: Array<AgoraEventMap['config:changed']>, file: string, logger: ReturnType<typeof silentLogger> } {
  const calls: string[] = []
  const events = new AgoraEvents()
  const seen: Array<AgoraEventMap['config:changed']> = []
  events.on('config:changed', e => { seen.push(e) })
  const logger = silentLogger()
  let trustMode: 'private' | 'friends' | 'public' = 'friends'
  const components: RuntimeConfigComponents = {
    events,
    logger,
    access: {
      setTrustMode: mode => { trustMode = mode; calls.push(`access.trustMode ${mode}`) },
      setLimits: limits => { calls.push(`access.limits ${JSON.stringify(limits)}`) },
      setLists: lists => { calls.push(`access.lists ${JSON.stringify(lists)}`) },
      settings: () => ({ ...defaultConfig().access, trustMode })
    },
    offers: {
      setTrustMode: mode => { calls.push(`offers.trustMode ${mode}`) },
      setPrices: prices => { calls.push(`offers.prices ${JSON.stringify(prices)}`) }
    },
    capabilities: { changed: () => { calls.push('capabilities.changed') } },
    wink: { setSlots: slots => { calls.push(`wink.slots ${slots}`) } },
    providers: { reconfigure: async changes => { calls.push(`providers ${JSON.stringify(changes)}`) } },
    jobs: { setSlots: slots => { calls.push(`jobs.slots ${slots}`) }, setPricePerTask: price => { calls.push(`jobs.price ${price}`) } },
    ...overrides
  }
  const file = initConfigFile(join(dir, `${name}.yaml`))
  const rc = new RuntimeConfig(components, { config: defaultConfig(), file, sources: { 'log.level': { source: 'env', origin: 'AGORA_LOG_LEVEL' } } })
  return { rc, calls, events: seen, file, logger }
}

describe('RuntimeConfig', () => {
  test('each hot key reaches its component; prices in micro-credits to the offer and the worker', async () => {
    const { rc, calls, logger } = setup('hot')
    const answer = await rc.patch({
      log: { level: 'debug' },
      access: { trustMode: 'public', requestsPerMinute: 10, denyModels: ['big*'] },
      offers: { prices: { perTask: '0.5' } },
      jobs: { slots: 2 },
      providers: { discovery: false, wink: { slots: 3 } }
    })
    assert.equal(logger.root.level, 'debug')
    // in schema order: offers, access, providers, jobs
    assert.deepEqual(calls, [
      'offers.prices {"perTask":500000,"per1kPromptTokens":0,"per1kCompletionTokens":0}', 'jobs.price 500000',
      'access.trustMode public', 'offers.trustMode public',
      'access.limits {"requestsPerMinute":10,"tokensPerMinute":200000}',
      'access.lists {"allow":[],"deny":["big*"]}',
      'providers {"discovery":false}',
      'wink.slots 3', 'capabilities.changed',
      'jobs.slots 2'
    ])
    assert.equal(answer.restart.length, 0)
    assert.deepEqual(answer.overridden, [{ key: 'log.level', source: 'env', origin: 'AGORA_LOG_LEVEL' }])
  })

  test('config:changed names every key; restart keys are written, kept pending, and dropped when set back', async () => {
    const { rc, events, file, calls } = setup('events')
    const answer = await rc.patch({ api: { port: 9001 }, log: { level: 'error' } })
    assert.deepEqual(answer.applied, ['log.level'])
    assert.deepEqual(answer.restart, ['api.port'])
    assert.deepEqual(events, [{ keys: ['log.level', 'api.port'], applied: ['log.level'], restart: ['api.port'] }])
    assert.equal(loadConfig({ configFile: file, env: {} }).config.api.port, 9001)
    assert.deepEqual(rc.view().pendingRestart, [{ key: 'api.port', value: 9001 }])
    assert.equal((rc.view().config.api as { port: number }).port, 8145)
    const back = await rc.patch({ api: { port: null } })
    assert.deepEqual(back.changes.map(c => [c.key, c.after]), [['api.port', 8145]])
    assert.deepEqual(back.pendingRestart, [])
    assert.doesNotMatch(readFileSync(file, 'utf8'), /^\s+port: 9001/m)
    assert.deepEqual(calls, [])
    const none = await rc.patch({ log: { level: 'error' } })
    assert.deepEqual(none.changes, [])
    assert.equal(events.length, 2, 'no change, no event')
  })

  test('an applier that fails: E1334, the key written and pending for the next start, the others applied', async () => {
    const { rc, events, file } = setup('fail', { wink: { setSlots: () => { throw new AgoraError('E704', 'invalid wink provider slots') } } })
    const err = await rc.patch({ providers: { wink: { slots: 4 } }, log: { level: 'trace' } }).then(() => undefined, (e: unknown) => e)
    assert.ok(isAgoraError(err, 'E1334'), String(err))
    assert.match(err.why ?? '', /providers\.wink\.slots: invalid wink provider slots/)
    assert.deepEqual(events[0], { keys: ['log.level', 'providers.wink.slots'], applied: ['log.level'], restart: ['providers.wink.slots'] })
    assert.deepEqual(rc.view().pendingRestart, [{ key: 'providers.wink.slots', value: 4 }])
    assert.equal(loadConfig({ configFile: file, env: {} }).config.providers.wink.slots, 4)
  })

  test('changes run one at a time, in order', async () => {
    const order: string[] = []
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    const { rc } = setup('queue', { providers: { reconfigure: async () => { order.push('first starts'); await gate; order.push('first ends') } } })
    const first = rc.patch({ providers: { discoveryIntervalMs: 5000 } })
    const second = rc.patch({ log: { level: 'warn' } }).then(() => { order.push('second') })
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(order, ['first starts'])
    release()
    await Promise.all([first, second])
    assert.deepEqual(order, ['first starts', 'first ends', 'second'])
  })
})
