/** The DHT provider of package roots: provides in the background, waits for peers, retries failures, never throws. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { Registry } from 'prom-client'
import { silentLogger } from '../../../src/observability/logger.ts'
import { RootProvider } from '../../../src/packages/provider.ts'
import { throttleProgress } from '../../../src/packages/progress.ts'
import type { TransferProgress } from '../../../src/packages/types.ts'
import { waitFor } from '../../harness/wait.ts'

const RAW = 0x55

async function cidOf (text: string): Promise<CID> {
  return CID.createV1(RAW, await sha256.digest(new TextEncoder().encode(text)))
}

/** A DHT that records what it was asked to provide, failing the CIDs in `failing` once each. */
class RecordingRouting {
  readonly provided: string[] = []
  readonly failing = new Set<string>()
  async provide (cid: CID): Promise<void> {
    if (this.failing.delete(cid.toString())) throw new Error('no DHT server answered')
    this.provided.push(cid.toString())
  }
}

async function outcomes (registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('agora_packages_provides_total')
  const values = metric === undefined ? [] : (await metric.get()).values
  return Object.fromEntries(values.map(v => [String(v.labels.outcome), v.value]))
}

test('roots are provided at start and when added; with no peer they wait; a failure is tried again', async () => {
  const routing = new RecordingRouting()
  const registry = new Registry()
  let peers = 0
  const [held, fresh, flaky] = await Promise.all([cidOf('held'), cidOf('fresh'), cidOf('flaky')])
  const provider = new RootProvider({ routing, hasPeers: () => peers > 0, roots: () => [held], log: silentLogger().forComponent('test'), metrics: registry }, {
    enabled: true, startDelayMs: 0, retryIntervalMs: 20, reprovideIntervalMs: 60_000
  })
  provider.start()
  try {
    // alone: nothing provided, the root waits
    await waitFor('the start round to find no peer', async () => ((await outcomes(registry)).skipped ?? 0) > 0)
    assert.deepEqual(routing.provided, [])
    assert.equal(provider.waiting(), 1)
    peers = 1
    await waitFor('the held root provided once a peer is there', () => routing.provided.includes(held.toString()))
    routing.failing.add(flaky.toString())
    provider.provide([fresh, flaky])
    await waitFor('both new roots provided, the flaky one on a retry', () => routing.provided.includes(fresh.toString()) && routing.provided.includes(flaky.toString()))
    const counted = await outcomes(registry)
    assert.equal(counted.failed, 1)
    assert.equal(counted.ok, 3)
    assert.equal(provider.waiting(), 0)
  } finally {
    await provider.stop()
  }
})

test('disabled (packages.provide false or no DHT): nothing is ever provided', async () => {
  const routing = new RecordingRouting()
  const provider = new RootProvider({ routing, hasPeers: () => true, roots: async () => [await cidOf('x')], log: silentLogger().forComponent('test') }, { enabled: false, startDelayMs: 0 })
  provider.start()
  provider.provide([await cidOf('y')])
  assert.equal(provider.waiting(), 0)
  await provider.stop()
  assert.deepEqual(routing.provided, [])
})

test('a roots listing that fails is logged, not thrown; stop ends a provide under way', async () => {
  let release: (() => void) | undefined
  const routing = {
    provided: 0,
    async provide (_cid: CID, options?: { signal?: AbortSignal }): Promise<void> {
      await new Promise<void>((resolve, reject) => {
        release = resolve
        options?.signal?.addEventListener('abort', () => { reject(new Error('aborted')) })
      })
      this.provided++
    }
  }
  const provider = new RootProvider({ routing, hasPeers: () => true, roots: () => { throw new Error('store closed') }, log: silentLogger().forComponent('test') }, { enabled: true, startDelayMs: 0, retryIntervalMs: 10 })
  provider.start()
  provider.provide([await cidOf('slow')])
  await waitFor('a provide under way', () => release !== undefined)
  await provider.stop()
  assert.equal(routing.provided, 0)
})

test('progress is thinned to 4 a second per operation, every change of phase and done kept', () => {
  let now = 0
  const seen: TransferProgress[] = []
  const report = throttleProgress(p => { seen.push(p) }, 4, () => now)
  const at = (phase: TransferProgress['phase'], bytes: number): TransferProgress => ({ operation: 'publish', name: 'acme/x', phase, bytes, totalBytes: 100, providers: 0 })
  report(at('import', 0))
  for (let i = 1; i <= 100; i++) { now += 10; report(at('import', i)) } // 1 s of reports every 10 ms
  report(at('done', 100))
  const imports = seen.filter(p => p.phase === 'import')
  assert.ok(imports.length <= 5, `${imports.length} import reports in one second`)
  assert.ok(imports.length >= 4)
  assert.equal(seen.at(-1)?.phase, 'done')
})
