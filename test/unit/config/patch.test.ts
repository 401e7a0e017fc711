/** Run-time config changes: merge-patch semantics, which keys need a restart, redaction. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { defaultConfig, needsRestart, planConfigPatch, redactConfig } from '../../../src/config/index.ts'
import { thrown } from '../../harness/checks.ts'

describe('planConfigPatch', () => {
  test('objects merge, lists replace, null puts a key back to its default', () => {
    const current = { ...defaultConfig(), access: { ...defaultConfig().access, trustMode: 'public' as const, denyModels: ['a', 'b'] } }
    const plan = planConfigPatch(current, { access: { trustMode: null, denyModels: ['c'] }, network: { bootstrap: [] } })
    assert.equal(plan.config.access.trustMode, 'friends')
    assert.deepEqual(plan.config.access.denyModels, ['c'])
    assert.equal(plan.config.access.requestsPerMinute, 120)
    assert.deepEqual(plan.changes.map(c => [c.key, c.reset, c.restart]), [['access.trustMode', true, false], ['access.denyModels', false, false]])
  })

  test('numbers as strings and bad values are refused as the loader words them', () => {
    const err = thrown(() => planConfigPatch(defaultConfig(), { api: { port: '80' } }))
    assert.equal(err.code, 'E300')
    assert.equal(err.what, 'invalid value "80" for config key \'api.port\'')
    assert.equal(thrown(() => planConfigPatch(defaultConfig(), ['log'])).code, 'E1332')
    assert.equal(thrown(() => planConfigPatch(defaultConfig(), { version: 1 })).code, 'E1332')
    assert.equal(thrown(() => planConfigPatch(defaultConfig(), { nope: {} })).code, 'E301')
  })
})

describe('needsRestart', () => {
  test('hot keys apply now; jobs.slots to or from 0 and every other key wait for a restart', () => {
    assert.equal(needsRestart('log.level', 'info', 'debug'), false)
    assert.equal(needsRestart('jobs.slots', 4, 8), false)
    assert.equal(needsRestart('jobs.slots', 4, 0), true)
    assert.equal(needsRestart('jobs.slots', 0, 2), true)
    assert.equal(needsRestart('api.port', 1, 2), true)
  })
})

test('redactConfig hides passwords in URLs and nothing else', () => {
  const config = { verify: { etcd: { endpoints: ['http://root:s3cret@10.0.0.1:2379', 'http://10.0.0.2:2379'] } }, network: { psk: '/etc/agora/swarm.key' } }
  assert.deepEqual(redactConfig(config), { verify: { etcd: { endpoints: ['http://root:[redacted]@10.0.0.1:2379', 'http://10.0.0.2:2379'] } }, network: { psk: '/etc/agora/swarm.key' } })
  assert.equal(config.verify.etcd.endpoints[0], 'http://root:s3cret@10.0.0.1:2379', 'the original is left alone')
})
