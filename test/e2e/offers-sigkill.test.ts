/**
 * A node killed with SIGKILL sends no WITHDRAW: its offer must still vanish
 * everywhere within TTL + one anti-entropy round; restarted, it re-announces
 * the same offer id with a higher Lamport. Real daemons, real processes.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { agora, killDaemons, startDaemon, type Daemon } from '../harness/cli.ts'
import { waitFor } from '../harness/wait.ts'
import { isAlive } from '../../src/client/index.ts'

const TTL_MS = 6000
const SYNC_MS = 1000
// short timers through the documented env overrides
const env = {
  AGORA_OFFERS_TTL_MS: String(TTL_MS),
  AGORA_OFFERS_REANNOUNCE_MS: '2000',
  AGORA_OFFERS_SYNC_INTERVAL_MS: String(SYNC_MS)
}

interface OfferJson { id: string, node: string, lamport: number }

async function offersOn (daemon: Daemon): Promise<OfferJson[]> {
  return JSON.parse(await agora(['offers', 'list', '--data-dir', daemon.dataDir, '--json'])) as OfferJson[]
}

after(async () => { await killDaemons() })

test('SIGKILL: the offer disappears within TTL + one sync round, and comes back with the same id and a higher Lamport', async () => {
  const start = async (extra: string[], dataDir?: string): Promise<Daemon> => await startDaemon(extra, dataDir, env)
  const a = await start([])
  const b = await start(['--bootstrap', a.address])
  const c = await start(['--bootstrap', a.address])
  const everyone = [a, b, c]
  await waitFor('every node to hold all three offers', async () => {
    for (const d of everyone) if ((await offersOn(d)).length !== 3) return false
    return true
  }, { timeoutMs: 15_000, intervalMs: 200 })
  const before = (await offersOn(a)).find(o => o.node === c.peerId)
  assert.ok(before !== undefined)

  process.kill(c.pid, 'SIGKILL')
  await waitFor('c to die', () => !isAlive(c.pid))
  const killedAt = Date.now()
  await waitFor('c\'s offer to vanish from a and b', async () => {
    for (const d of [a, b]) if ((await offersOn(d)).some(o => o.node === c.peerId)) return false
    return true
  }, { timeoutMs: TTL_MS + SYNC_MS + 5000, intervalMs: 200 })
  assert.ok(Date.now() - killedAt <= TTL_MS + SYNC_MS + 5000)

  const c2 = await start(['--bootstrap', a.address], c.dataDir)
  assert.equal(c2.peerId, c.peerId)
  const back = await waitFor('c\'s offer back on a and b', async () => {
    const found = await Promise.all([a, b].map(async d => (await offersOn(d)).find(o => o.node === c.peerId)))
    return found.every(o => o !== undefined) ? found : undefined
  }, { timeoutMs: 15_000, intervalMs: 200 })
  for (const offer of back) {
    assert.equal(offer?.id, before.id, 'same offer id after the restart')
    assert.ok((offer?.lamport ?? 0) > before.lamport, 'a higher Lamport after the restart')
  }
})
