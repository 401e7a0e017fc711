/**
 * mDNS discovery, tested only where multicast cannot leak: two network
 * namespaces made for this test, joined by a veth pair. Two daemons, each in
 * its own namespace with mDNS on and no bootstrap, must find each other.
 * Needs root and iproute2 (CI here runs as root); elsewhere it is skipped
 * with the reason, since no other safe place to multicast exists.
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
const subnet = `10.231.${process.pid % 250}`
const hosts = [
  { ns: `agora-mdns-a-${id}`, veth: `agma${id}`, ip: `${subnet}.1`, dataDir: '' },
  { ns: `agora-mdns-b-${id}`, veth: `agmb${id}`, ip: `${subnet}.2`, dataDir: '' }
] as const

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' })
}

/** Run `agora` inside a namespace. */
function agoraIn (ns: string, args: string[]): { status: number, stdout: string, stderr: string } {
  const result = spawnSync('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } })
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr }
}

test('two nodes in separate network namespaces find each other by mDNS', { skip: canUseNetns ? false : 'needs root and iproute2 to create network namespaces' }, async () => {
  const [a, b] = hosts
  const dirs = [tempDir(), tempDir()]
  try {
    ip('netns', 'add', a.ns)
    ip('netns', 'add', b.ns)
    ip('link', 'add', a.veth, 'type', 'veth', 'peer', 'name', b.veth)
    for (const [host, dir] of [[a, dirs[0]], [b, dirs[1]]] as const) {
      ip('link', 'set', host.veth, 'netns', host.ns)
      ip('-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', host.veth)
      ip('-n', host.ns, 'link', 'set', host.veth, 'up')
      ip('-n', host.ns, 'link', 'set', 'lo', 'up')
      ip('-n', host.ns, 'route', 'add', '224.0.0.0/4', 'dev', host.veth)
      const started = agoraIn(host.ns, ['start', '--detach', '--data-dir', dir as string, '--api-port', '0', '--listen', `/ip4/${host.ip}/tcp/0`, '--dht-filter', 'all', '--json'])
      assert.equal(started.status, 0, started.stderr)
    }
    const peerIdOf = (dir: string): string => (JSON.parse(readFileSync(join(dir, 'api.json'), 'utf8')) as { peerId: string }).peerId
    const aId = peerIdOf(dirs[0] as string)
    await waitFor('b to discover a by mDNS', () => {
      const list = agoraIn(b.ns, ['peers', 'list', '--data-dir', dirs[1] as string, '--json'])
      return list.status === 0 && (JSON.parse(list.stdout) as Array<{ peerId: string, connected: boolean }>).some(p => p.peerId === aId && p.connected)
    }, { timeoutMs: 30_000, intervalMs: 500 })
  } finally {
    for (const [host, dir] of [[a, dirs[0]], [b, dirs[1]]] as const) {
      agoraIn(host.ns, ['stop', '--data-dir', dir as string])
      spawnSync('ip', ['netns', 'del', host.ns])
      rmSync(dir as string, { recursive: true, force: true })
    }
  }
})
