/**
 * mDNS on a LAN segment of three: three network namespaces whose veth pairs
 * meet on a bridge in a fourth namespace, all made for this test (10.x only,
 * so multicast cannot leak). Two daemons run; a third started later with the
 * default mDNS settings must be connected to both promptly, because a new
 * node queries and announces in its first seconds instead of waiting for
 * the steady-state interval (10 s). The measured time is printed, not asserted.
 * Needs root and iproute2; elsewhere it is skipped with the reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CLI } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'

const canUseNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0
const id = process.pid % 10_000
const subnet = `10.232.${process.pid % 250}`
const bridgeNs = `agora-mdbr-${id}`
const hosts = ['a', 'b', 'c'].map((name, i) => ({
  ns: `agora-mdbr-${name}-${id}`,
  veth: `agb${name}${id}`, // the end inside the host's namespace
  port: `agp${name}${id}`, // the end enslaved to the bridge
  ip: `${subnet}.${i + 1}`,
  dataDir: tempDir()
}))

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' })
}

/** Run `agora` inside a namespace. */
function agoraIn (ns: string, args: string[]): { status: number, stdout: string, stderr: string } {
  const result = spawnSync('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } })
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr }
}

function buildLan (): void {
  ip('netns', 'add', bridgeNs)
  ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge')
  ip('-n', bridgeNs, 'link', 'set', 'br0', 'up')
  for (const host of hosts) {
    ip('netns', 'add', host.ns)
    ip('link', 'add', host.veth, 'type', 'veth', 'peer', 'name', host.port)
    ip('link', 'set', host.veth, 'netns', host.ns)
    ip('link', 'set', host.port, 'netns', bridgeNs)
    ip('-n', bridgeNs, 'link', 'set', host.port, 'master', 'br0')
    ip('-n', bridgeNs, 'link', 'set', host.port, 'up')
    ip('-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', host.veth)
    ip('-n', host.ns, 'link', 'set', host.veth, 'up')
    ip('-n', host.ns, 'link', 'set', 'lo', 'up')
    ip('-n', host.ns, 'route', 'add', '224.0.0.0/4', 'dev', host.veth)
  }
}

function startNode (host: typeof hosts[number]): string {
  const started = agoraIn(host.ns, ['start', '--detach', '--data-dir', host.dataDir, '--api-port', '0', '--listen', `/ip4/${host.ip}/tcp/0`, '--dht-filter', 'all', '--json'])
  assert.equal(started.status, 0, started.stderr)
  return (JSON.parse(readFileSync(join(host.dataDir, 'api.json'), 'utf8')) as { peerId: string }).peerId
}

function connectedPeers (host: typeof hosts[number]): Set<string> {
  const list = agoraIn(host.ns, ['peers', 'list', '--data-dir', host.dataDir, '--json'])
  if (list.status !== 0) return new Set()
  return new Set((JSON.parse(list.stdout) as Array<{ peerId: string, connected: boolean }>).filter(p => p.connected).map(p => p.peerId))
}

test('a node joining a LAN of two is connected to both by mDNS within seconds', { skip: canUseNetns ? false : 'needs root and iproute2 to create network namespaces' }, async () => {
  const [a, b, c] = hosts as [typeof hosts[0], typeof hosts[0], typeof hosts[0]]
  try {
    buildLan()
    const aId = startNode(a)
    const bId = startNode(b)
    await waitFor('a and b to find each other by mDNS', () => connectedPeers(a).has(bId), { timeoutMs: 30_000, intervalMs: 200 })
    const cId = startNode(c)
    const joinedAt = Date.now()
    await waitFor('the late node c to be connected to a and b', () => {
      const peers = connectedPeers(c)
      return peers.has(aId) && peers.has(bId)
    }, { timeoutMs: 8_000, intervalMs: 100 })
    console.log(`# c connected to a and b ${Date.now() - joinedAt} ms after its start returned`)
    assert.ok(connectedPeers(a).has(cId) || connectedPeers(b).has(cId), 'a or b sees c as connected')
  } finally {
    for (const host of hosts) {
      agoraIn(host.ns, ['stop', '--data-dir', host.dataDir])
      spawnSync('ip', ['netns', 'del', host.ns])
      rmSync(host.dataDir, { recursive: true, force: true })
    }
    spawnSync('ip', ['netns', 'del', bridgeNs])
  }
})
