/**
 * Joining without public infrastructure, as a user types it: node A prints
 * an invite, node B joins it through the CLI and connects; `bootstrap test`
 * finds A reachable. A private network: the invite carries the swarm key,
 * a node not running yet saves it and joins at its start.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { killDaemons, startDaemon, agora, runAgora } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { generateSwarmKey } from '../../src/p2p/swarm-key.ts'
import { fileConfig } from '../../src/invites/index.ts'

interface PeerRow { peerId: string, connected: boolean, trusted: boolean }
interface TestRow { address: string, peerId: string | null, reachable: boolean, rttMs: number | null, reason: string | null }

describe('agora invite, join and bootstrap', () => {
  const dirs: string[] = []
  /** A temp dir of this test (daemons' data dirs are removed by killDaemons). */
  const dir = (prefix: string): string => {
    const made = tempDir(prefix)
    dirs.push(made)
    return made
  }
  after(async () => {
    await killDaemons()
    for (const made of dirs) rmSync(made, { recursive: true, force: true })
  })

  test('B joins A\'s invite and connects, trusted; bootstrap list and test show A reachable; a dead entry is unreachable with its reason', async () => {
    const [a, b] = await Promise.all([startDaemon(), startDaemon()])
    const config = join(dir('agora-invite-cfg-'), 'b.yaml')

    const minted = await runAgora(['invite', '--data-dir', a.dataDir, '--expires', '2h'])
    assert.equal(minted.code, 0, minted.stderr)
    const invite = minted.stdout.trim()
    assert.match(invite, /^agora-invite:1:[A-Za-z0-9_-]+$/, 'stdout is the invite alone')
    assert.match(minted.stderr, /only loopback addresses .* works on this machine only/)
    const refused = await runAgora(['invite', '--psk', '--data-dir', a.dataDir])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^Error \[E1313\]: this network is not private/)

    const joined = await runAgora(['join', invite, '--trust', '--data-dir', b.dataDir, '--config', config])
    assert.equal(joined.code, 0, joined.stderr)
    assert.match(joined.stdout, new RegExp(`connected to ${a.peerId} at /ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${a.peerId}`))
    assert.match(joined.stdout, new RegExp(`trusted ${a.peerId}`))
    assert.deepEqual(fileConfig(config).network.bootstrap, [a.address])
    const peers = JSON.parse(await agora(['peers', 'list', '--data-dir', b.dataDir, '--json'])) as PeerRow[]
    assert.deepEqual(peers.filter(p => p.peerId === a.peerId).map(p => [p.connected, p.trusted]), [[true, true]])

    // again: nothing added twice
    const again = JSON.parse(await agora(['join', invite, '--data-dir', b.dataDir, '--config', config, '--json'])) as { added: string[], present: string[] }
    assert.deepEqual([again.added, again.present], [[], [a.address]])
    assert.deepEqual(fileConfig(config).network.bootstrap, [a.address])

    const listed = JSON.parse(await agora(['bootstrap', 'list', '--config', config, '--json'])) as Array<{ address: string, peerId: string }>
    assert.deepEqual(listed.map(r => [r.address, r.peerId]), [[a.address, a.peerId]])
    const tested = JSON.parse(await agora(['bootstrap', 'test', '--data-dir', b.dataDir, '--config', config, '--json'])) as TestRow[]
    assert.equal(tested.length, 1)
    assert.equal(tested[0]?.reachable, true, tested[0]?.reason ?? '')
    assert.equal(tested[0]?.peerId, a.peerId)
    assert.ok(typeof tested[0]?.rttMs === 'number' && tested[0].rttMs >= 0, 'a round-trip time')

    // a peer that is not there: unreachable, with why, and the command fails
    const nobody = (await generateIdentity()).peerIdString
    const dead = `/ip4/127.0.0.1/tcp/1/p2p/${nobody}`
    await agora(['bootstrap', 'add', dead, '--config', config])
    const mixed = await runAgora(['bootstrap', 'test', '--data-dir', b.dataDir, '--config', config, '--json'])
    assert.equal(mixed.code, 1)
    assert.match(mixed.stderr, /^Error \[E1319\]: 1 of 2 bootstrap peers are unreachable/)
    const rows = JSON.parse(mixed.stdout) as TestRow[]
    const deadRow = rows.find(r => r.address === dead)
    assert.equal(deadRow?.reachable, false)
    assert.ok((deadRow?.reason ?? '').length > 0, 'says why')
    assert.equal(rows.find(r => r.address === a.address)?.reachable, true)
    assert.match(await agora(['bootstrap', 'remove', nobody, '--config', config]), new RegExp(`removed ${dead}`))
    assert.deepEqual(fileConfig(config).network.bootstrap, [a.address])

    // without a running node, test says to start one
    const stopped = await runAgora(['bootstrap', 'test', '--data-dir', dir('agora-test-'), '--config', config])
    assert.equal(stopped.code, 1)
    assert.match(stopped.stderr, /^Error \[E601\]: no node is running .* — bootstrap test dials through the running node — start it first/)
  })

  test('a private network: the invite carries the swarm key; a node joins before it runs, then finds A at its start', async () => {
    const keyFile = join(dir('agora-invite-psk-'), 'swarm.key')
    writeFileSync(keyFile, generateSwarmKey(), { mode: 0o600 })
    const a = await startDaemon(['--psk', keyFile])
    const invite = (await agora(['invite', '--psk', '--data-dir', a.dataDir, '-q'])).trim()

    // on the command line the swarm key is visible to other users: a warning names the variable to use
    const visible = await runAgora(['join', invite, '--data-dir', tempDir(), '--config', join(dir('agora-invite-cfg-'), 'x.yaml')])
    assert.equal(visible.code, 0, visible.stderr)
    assert.match(visible.stderr, /^warning: this invite carries the swarm key .* pass it in AGORA_INVITE instead/)
    // a fresh machine: the data dir does not exist before the join (it failed with ENOENT)
    const cDir = join(tempDir(), 'not-yet')
    const config = join(dir('agora-invite-cfg-'), 'c.yaml')
    const fromEnv = await runAgora(['join', '--data-dir', cDir, '--config', config], { env: { AGORA_INVITE: invite } })
    assert.equal(fromEnv.stderr, '', 'no warning: the invite came in AGORA_INVITE')
    const joined = fromEnv.stdout
    assert.match(joined, new RegExp(`swarm key: written to ${join(cDir, 'swarm.key')}`))
    assert.match(joined, /no node runs on .*: the list is saved and used at the next `agora start`/)
    assert.equal(fileConfig(config).network.psk, join(cDir, 'swarm.key'))
    assert.equal(readFileSync(join(cDir, 'swarm.key'), 'utf8').trim(), readFileSync(keyFile, 'utf8').trim())

    const c = await startDaemon(['--config', config], cDir)
    await waitFor('c to find a through its bootstrap list', async () => {
      const peers = JSON.parse(await agora(['peers', 'list', '--data-dir', c.dataDir, '--json'])) as PeerRow[]
      return peers.some(p => p.peerId === a.peerId && p.connected)
    }, { timeoutMs: 20_000, intervalMs: 250 })
  })
})
