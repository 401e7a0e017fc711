/**
 * Runtime config on real nodes: PATCH /api/v1/config validates like the
 * loader, applies hot keys at once (log level, prices re-announced to a
 * peer, slots in the offer's capacity, trust mode), writes every change to
 * the config file, reports restart keys as such, and emits config:changed
 * on the event socket.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AgoraNode } from '../../src/node.ts'
import { EventsClient } from '../../src/client/index.ts'
import { initConfigFile, loadConfig } from '../../src/config/index.ts'
import { isAgoraError } from '../../src/errors.ts'
import { TestSwarm, clientOf, firstAddress, tempDir } from '../harness/nodes.ts'
import { waitFor } from '../harness/wait.ts'
import { runAgora } from '../harness/cli.ts'

/** The real command line, in its own process. */
async function cli (...argv: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await runAgora(argv)
}

describe('GET/PATCH /api/v1/config', () => {
  const swarm = new TestSwarm()
  const dir = tempDir()
  swarm.track(dir)
  const file = join(dir, 'agora.yaml')
  let seller: AgoraNode
  let buyer: AgoraNode

  before(async () => {
    initConfigFile(file)
    seller = await swarm.add({ configFile: file })
    buyer = await swarm.add({ config: { network: { bootstrap: [firstAddress(seller)] } } })
    await waitFor('the buyer to hold the seller\'s offer', () => buyer.components.offers.get(seller.peerId) !== undefined, { timeoutMs: 20_000 })
  })
  after(async () => { await swarm.stop() })

  test('GET answers the config in force and which keys are hot', async () => {
    const view = await clientOf(seller).config()
    assert.equal((view.config.log as { level: string }).level, 'warn')
    assert.equal(view.file, file)
    assert.ok('log.level' in view.hot && 'offers.prices.perTask' in view.hot)
    assert.ok(!('api.port' in view.hot))
    assert.deepEqual(view.pendingRestart, [])
  })

  test('a hot log level and price apply at once, the price reaches a peer, a restart key is written and reported', async () => {
    const events = await EventsClient.connect(seller.apiUrl, readFileSync(join(seller.components.dataDir, 'api.token'), 'utf8').trim())
    try {
      const answer = await clientOf(seller).patchConfig({ log: { level: 'debug' }, offers: { prices: { per1kCompletionTokens: '0.5' } }, api: { port: 1 } })
      assert.deepEqual([...answer.applied].sort(), ['log.level', 'offers.prices.per1kCompletionTokens'])
      assert.deepEqual(answer.restart, ['api.port'])
      assert.equal(answer.persisted, true)
      assert.equal(seller.components.logger.root.level, 'debug')
      assert.equal(seller.components.logger.forComponent('agora:test').isLevelEnabled('debug'), true)

      const changed = await events.waitFor(e => e.type === 'config:changed')
      assert.deepEqual(changed.data, { keys: ['log.level', 'api.port', 'offers.prices.per1kCompletionTokens'], applied: ['log.level', 'offers.prices.per1kCompletionTokens'], restart: ['api.port'] })
    } finally {
      events.close()
    }

    const view = await clientOf(seller).config()
    assert.equal((view.config.log as { level: string }).level, 'debug')
    assert.equal((view.config.api as { port: number }).port, 0, 'the port in force is still the one it started with')
    assert.deepEqual(view.pendingRestart, [{ key: 'api.port', value: 1 }])

    const written = loadConfig({ configFile: file, env: {} }).config
    assert.equal(written.log.level, 'debug')
    assert.equal(written.offers.prices.per1kCompletionTokens, '0.5')
    assert.equal(written.api.port, 1)
    assert.match(readFileSync(file, 'utf8'), /# Log level: trace, debug/, 'comments are kept')

    const seen = await waitFor('the buyer to see the new price', () => {
      const offer = buyer.components.offers.get(seller.peerId)
      return offer?.prices.per1kCompletionTokens === '0.500000' ? offer : undefined
    }, { timeoutMs: 20_000 })
    assert.equal(seen.prices.per1kPromptTokens, '0.000000')
    assert.equal((await clientOf(seller).localOffer()).prices.per1kCompletionTokens, '0.500000')
  })

  test('slots and trust mode reach the offer', async () => {
    const before = seller.components.offers.local()?.capacity.slotsTotal ?? 0
    const answer = await clientOf(seller).patchConfig({ jobs: { slots: 7 }, providers: { wink: { slots: 5 } }, access: { trustMode: 'public' } })
    assert.deepEqual([...answer.applied].sort(), ['access.trustMode', 'jobs.slots', 'providers.wink.slots'])
    const offer = await waitFor('the offer to carry the new capacity', () => {
      const o = buyer.components.offers.get(seller.peerId)
      return o !== undefined && o.capacity.slotsTotal === before + 3 + 3 && o.trustMode === 'public' ? o : undefined
    }, { timeoutMs: 20_000 })
    assert.equal(offer.capacity.slotsTotal, 12)
    assert.equal((await clientOf(seller).access()).trustMode, 'public')
  })

  test('jobs.slots from a number to 0 needs a restart', async () => {
    const answer = await clientOf(seller).patchConfig({ jobs: { slots: 0 } })
    assert.deepEqual(answer.applied, [])
    assert.deepEqual(answer.restart, ['jobs.slots'])
    assert.equal(seller.components.offers.local()?.capacity.slotsTotal, 12)
    // back to the value in force: nothing waits for a restart any more
    const back = await clientOf(seller).patchConfig({ jobs: { slots: 7 } })
    assert.deepEqual(back.pendingRestart, [{ key: 'api.port', value: 1 }])
  })

  test('a bad value is a 400 with the schema\'s message, and nothing is applied or written', async () => {
    const text = readFileSync(file, 'utf8')
    const err = await clientOf(seller).patchConfig({ log: { level: 'loud' }, offers: { prices: { perTask: '2' } } }).then(() => undefined, (e: unknown) => e)
    assert.ok(isAgoraError(err, 'E300'), String(err))
    assert.match(err.what, /invalid value "loud" for config key 'log\.level'/)
    assert.match(err.why ?? '', /expected one of/)
    assert.equal(seller.components.logger.root.level, 'debug')
    assert.equal(seller.components.offers.local()?.prices.perTask, '0.000000')
    assert.equal(readFileSync(file, 'utf8'), text)

    const unknown = await clientOf(seller).patchConfig({ log: { levle: 'info' } }).then(() => undefined, (e: unknown) => e)
    assert.ok(isAgoraError(unknown, 'E301'), String(unknown))
    assert.match(unknown.why ?? '', /did you mean 'log\.level'/)
    const version = await clientOf(seller).patchConfig({ version: 2 }).then(() => undefined, (e: unknown) => e)
    assert.ok(isAgoraError(version, 'E1332'), String(version))
  })

  test('agora config set/get --live change the running node and say when it applies', async () => {
    const dataDir = seller.components.dataDir
    const set = await cli('--data-dir', dataDir, 'config', 'set', 'offers.prices.perTask', '0.25', '--live')
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /offers\.prices\.perTask = "0\.25": applied now, written to /)
    await waitFor('the offer to carry the task price', () => seller.components.offers.local()?.prices.perTask === '0.250000', { timeoutMs: 20_000 })
    const get = await cli('--data-dir', dataDir, 'config', 'get', 'offers.prices.perTask', '--live')
    assert.equal(get.stdout, '0.25\n')
    const later = await cli('--data-dir', dataDir, 'config', 'set', 'network.mdns', 'true', '--live')
    assert.match(later.stdout, /network\.mdns = true: applied when the node next starts/)
    const bad = await cli('--data-dir', dataDir, 'config', 'set', 'jobs.slots', '-3', '--live')
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /Error \[E300\]: invalid value -3 for config key 'jobs\.slots'/)
  })

  test('a node without a config file applies hot keys for this run and refuses restart keys', async () => {
    const answer = await clientOf(buyer).patchConfig({ log: { level: 'error' } })
    assert.deepEqual(answer.applied, ['log.level'])
    assert.equal(answer.persisted, false)
    assert.equal(answer.file, null)
    const err = await clientOf(buyer).patchConfig({ log: { level: 'info' }, api: { port: 2 } }).then(() => undefined, (e: unknown) => e)
    assert.ok(isAgoraError(err, 'E1333'), String(err))
    assert.equal(buyer.components.logger.root.level, 'error', 'nothing of a refused change is applied')
  })
})
