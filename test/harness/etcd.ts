/**
 * A real etcd (Debian's etcd-server) on loopback ports with a temp data dir,
 * for the decide backend's tests. It can be killed (SIGKILL) and started
 * again on the same data dir and ports, to check that nothing it
 * acknowledged is lost. `npm run test:etcd` runs these tests; `.ci/run`
 * installs etcd-server when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { tempDir } from './temp.ts'
import { waitFor } from './wait.ts'

export interface TestEtcd {
  endpoint: string
  /** SIGKILL: the data dir stays. */
  kill: () => Promise<void>
  /** Start again on the same data dir and ports; resolves once it answers. */
  restart: () => Promise<void>
  /** Stop and remove the data dir. */
  stop: () => Promise<void>
}

const ETCD = 'etcd'

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

export async function startEtcd (): Promise<TestEtcd> {
  if (spawnSync(ETCD, ['--version']).status !== 0) {
    throw new Error('etcd is not installed: `apt-get install etcd-server` (Debian), then run `npm run test:etcd` again')
  }
  const dir = tempDir('agora-etcd-')
  const [client, peer] = [await freePort(), await freePort()]
  const endpoint = `http://127.0.0.1:${client}`
  const args = [
    '--name', 'test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `test=http://127.0.0.1:${peer}`, '--log-level', 'error'
  ]
  let child: ChildProcess | undefined
  const exited = async (): Promise<void> => {
    const running = child
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    await new Promise<void>(resolve => running.once('exit', () => { resolve() }))
  }
  const launch = async (): Promise<void> => {
    child = spawn(ETCD, args, { stdio: 'ignore' })
    await waitFor('etcd to answer /health', async () => {
      const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) })
      return response.ok && ((await response.json()) as { health?: string }).health === 'true'
    }, { timeoutMs: 20_000, intervalMs: 100 })
  }
  const kill = async (): Promise<void> => {
    child?.kill('SIGKILL')
    await exited()
  }
  await launch()
  return {
    endpoint,
    kill,
    restart: launch,
    stop: async () => {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
