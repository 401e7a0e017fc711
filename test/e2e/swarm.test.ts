/**
 * The README's local swarm, exactly as a user types it: daemons started with
 * `agora start --detach`, inspected with `status` and `peers list`, stopped
 * with `agora stop` — real processes, real sockets.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { killDaemons, startDaemon, agora, runAgora } from '../harness/cli.ts'
import { waitFor } from '../harness/wait.ts'
import { isAlive } from '../../src/client/index.ts'

describe('local swarm through the CLI', () => {
  after(async () => { await killDaemons() })

  test('start a, start b bootstrapped from a, b lists a with latency, stop both', async () => {
    const a = await startDaemon()
    const status = JSON.parse(await agora(['status', '--data-dir', a.dataDir, '--json'])) as Record<string, unknown>
    assert.equal(status.peerId, a.peerId)
    assert.ok((status.addresses as string[]).every(x => x.endsWith(`/p2p/${a.peerId}`)))
    for (const key of ['peers', 'uptimeMs', 'version']) assert.ok(key in status, key)

    const b = await startDaemon(['--bootstrap', a.address])
    const peers = await waitFor('a with latency in b\'s peers list', async () => {
      const list = JSON.parse(await agora(['peers', 'list', '--data-dir', b.dataDir, '--json'])) as Array<{ peerId: string, addresses: string[], latencyMs: number | null }>
      return list.find(p => p.peerId === a.peerId && p.latencyMs !== null)
    }, { timeoutMs: 20_000, intervalMs: 250 })
    assert.ok(peers.addresses.length > 0)

    const table = await agora(['peers', 'list', '--data-dir', b.dataDir])
    assert.ok(table.includes(a.peerId), 'the table shows a')

    // offers and models: both nodes advertise the embedded engine from their first start
    const offers = await waitFor('both offers on b', async () => {
      const list = JSON.parse(await agora(['offers', 'list', '--data-dir', b.dataDir, '--json'])) as Array<Record<string, unknown>>
      return list.length === 2 ? list : undefined
    }, { timeoutMs: 15_000, intervalMs: 250 })
    for (const offer of offers) for (const key of ['id', 'node', 'models', 'taskTypes', 'capacity', 'prices', 'expiresAt']) assert.ok(key in offer, key)
    const models = JSON.parse(await agora(['models', 'list', '--data-dir', b.dataDir, '--json'])) as Array<{ name: string, nodes: number }>
    assert.equal(models.find(m => m.name === 'agora/wink-embed-100d')?.nodes, 2)

    // trust and ban through the CLI
    const trusted = JSON.parse(await agora(['peers', 'trust', a.peerId, '--data-dir', b.dataDir, '--json'])) as { trusted: boolean }
    assert.equal(trusted.trusted, true)
    const sorted = JSON.parse(await agora(['peers', 'list', '--sort', 'reputation', '--data-dir', b.dataDir, '--json'])) as Array<{ peerId: string, reputation: number }>
    assert.ok(sorted.every((p, i) => i === 0 || (sorted[i - 1]?.reputation ?? 1) >= p.reputation))

    await agora(['stop', '--data-dir', b.dataDir])
    assert.equal(isAlive(b.pid), false, 'b exited')
    const gone = await runAgora(['status', '--data-dir', b.dataDir])
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /Error \[E601\]: no node is running .*agora start/)

    // AGORA_DATA_DIR stands for --data-dir
    const viaEnv = JSON.parse(await agora(['status', '--json'], { env: { AGORA_DATA_DIR: a.dataDir } })) as { peerId: string }
    assert.equal(viaEnv.peerId, a.peerId)
    await agora(['stop'], { env: { AGORA_DATA_DIR: a.dataDir } })
    assert.equal(isAlive(a.pid), false)
  })

  test('a second start on the same data dir is refused with the running PID', async () => {
    const a = await startDaemon()
    const again = await runAgora(['start', '--detach', '--data-dir', a.dataDir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, new RegExp(`Error \\[E602\\]: .*already running.*pid ${a.pid}`))
    const foreground = await runAgora(['start', '--data-dir', a.dataDir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'])
    assert.equal(foreground.code, 1)
    assert.match(foreground.stderr, /E602/)
    assert.equal(isAlive(a.pid), true, 'the running node is untouched')
  })

  test('peers connect / ping / disconnect through the CLI, with a bad multiaddr refused', async () => {
    const a = await startDaemon()
    const b = await startDaemon()
    const bad = await runAgora(['peers', 'connect', 'not-a-multiaddr', '--data-dir', b.dataDir])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /Error \[E200\].*\/ip4\/127\.0\.0\.1\/tcp\/41145\/p2p\//)
    const connected = JSON.parse(await agora(['peers', 'connect', a.address, '--data-dir', b.dataDir, '--json'])) as { peerId: string }
    assert.equal(connected.peerId, a.peerId)
    const ping = JSON.parse(await agora(['peers', 'ping', a.peerId, '--data-dir', b.dataDir, '--json'])) as { latencyMs: number }
    assert.ok(ping.latencyMs >= 0)
    const info = JSON.parse(await agora(['peers', 'info', a.peerId, '--data-dir', b.dataDir, '--json'])) as { peerId: string, connected: boolean }
    assert.deepEqual([info.peerId, info.connected], [a.peerId, true])
    await agora(['peers', 'disconnect', a.peerId, '--data-dir', b.dataDir])
    // by peer id alone: the address comes from the peer book
    const byId = JSON.parse(await agora(['peers', 'connect', a.peerId, '--data-dir', b.dataDir, '--json'])) as { peerId: string }
    assert.equal(byId.peerId, a.peerId)
    // every peer at once: only after a confirmation
    assert.equal((await runAgora(['peers', 'disconnect', '--data-dir', b.dataDir])).code, 1)
    const all = JSON.parse(await agora(['peers', 'disconnect', '--yes', '--data-dir', b.dataDir, '--json'])) as Array<{ peerId: string, disconnected: boolean }>
    assert.ok(all.some(r => r.peerId === a.peerId && r.disconnected))
  })

  test('status --detailed shows the DHT, gossip meshes, connections and counters; peers remove forgets a peer, not a banned one', async () => {
    const a = await startDaemon()
    const b = await startDaemon(['--bootstrap', a.address])
    type Detailed = { detail: { dht: { enabled: boolean, mode: string | null, routingTableSize: number }, topics: Array<{ topic: string, subscribers: number, meshPeers: number }>, connections: { open: number, max: number }, counters: Record<string, number> } }
    // counted: b's own offer and a's
    const detailed = await waitFor('a in b\'s gossip mesh, and a\'s offer counted', async () => {
      const { detail } = JSON.parse(await agora(['status', '--detailed', '--data-dir', b.dataDir, '--json'])) as Detailed
      return detail.topics.some(t => t.subscribers >= 1 && t.meshPeers >= 1) && (detail.counters.agora_offers_accepted_total ?? 0) >= 2 ? detail : undefined
    }, { timeoutMs: 20_000, intervalMs: 250 })
    assert.ok(detailed.connections.open >= 1 && detailed.connections.max > detailed.connections.open)
    if (detailed.dht.enabled) assert.ok(detailed.dht.mode === 'server' || detailed.dht.mode === 'client')
    assert.match(await agora(['status', '--detailed', '--data-dir', b.dataDir]), /connections +\d+ of \d+ \(/)
    assert.equal(JSON.parse(await agora(['status', '--data-dir', b.dataDir, '--json'])).detail, undefined, 'only when asked')

    // remove: hung up and forgotten (an unknown one says so); a banned peer is refused, ban and all
    const removed = JSON.parse(await agora(['peers', 'remove', a.peerId, '--data-dir', b.dataDir, '--json'])) as { removed: boolean }
    assert.equal(removed.removed, true)
    const known = JSON.parse(await agora(['peers', 'list', '--all', '--data-dir', b.dataDir, '--json'])) as Array<{ peerId: string, connected: boolean }>
    assert.ok(!known.some(p => p.peerId === a.peerId && !p.connected), 'a is not kept in b\'s book')
    await agora(['peers', 'connect', a.address, '--data-dir', b.dataDir])
    // a ban without expiry reads as such (it was an 'Invalid time value' crash on the table)
    assert.match(await agora(['peers', 'ban', a.peerId, '--yes', '--data-dir', b.dataDir]), /banned +until unbanned/)
    const refused = await runAgora(['peers', 'rm', a.peerId, '--data-dir', b.dataDir])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^Error \[E1350\]: peer \S+ is banned/)
    const still = JSON.parse(await agora(['peers', 'info', a.peerId, '--data-dir', b.dataDir, '--json'])) as { bannedUntil: number | null }
    assert.notEqual(still.bannedUntil, null, 'the ban is kept')
    const bad = await runAgora(['peers', 'remove', 'not-a-peer', '--data-dir', b.dataDir])
    assert.equal(bad.code, 1)
  })

  test('SIGKILL loses no acknowledged peer: a restarted daemon still knows it', async () => {
    const a = await startDaemon()
    const b = await startDaemon()
    await agora(['peers', 'connect', a.address, '--data-dir', b.dataDir])
    process.kill(b.pid, 'SIGKILL')
    await waitFor('b to die', () => !isAlive(b.pid))
    const b2 = await startDaemon([], b.dataDir)
    const list = JSON.parse(await agora(['peers', 'list', '--all', '--data-dir', b2.dataDir, '--json'])) as Array<{ peerId: string }>
    assert.ok(list.some(p => p.peerId === a.peerId), 'a is in the restarted node\'s peer book')
  })
})
