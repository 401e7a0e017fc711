/** The demo's state file: one demo at a time, a stale folder cleared, a damaged file named; each node's config. */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isAgoraError } from '../../../src/errors.ts'
import { claimDemoDir, readState, stateFile, type DemoState } from '../../../src/demo/index.ts'
import { writeDemoNodeConfig } from '../../../src/demo/node-config.ts'
import { loadConfig, type AgoraConfig } from '../../../src/config/index.ts'
import { tempDir } from '../../harness/temp.ts'

const root = tempDir('agora-demo-unit-')
after(() => { rmSync(root, { recursive: true, force: true }) })

/** A pid no process has (above Linux's largest). */
const DEAD = 4_194_400

function node (name: string, pid: number): DemoState['nodes'][number] {
  return { name, role: 'gateway', dataDir: join(root, name), pid, peerId: '12D3KooWx', apiUrl: 'http://127.0.0.1:1', address: '/ip4/127.0.0.1/tcp/1', log: join(root, name, 'logs', 'agora.log') }
}

test('a fresh claim writes the state file; a demo with a live node refuses a second one (E1301); a stale one is cleared', () => {
  const dir = join(root, 'claims')
  const state = claimDemoDir(dir)
  assert.deepEqual(readState(dir), state)
  assert.equal(state.pid, process.pid)

  // a node still alive (this test process stands in for it)
  writeFileSync(stateFile(dir), JSON.stringify({ ...state, pid: DEAD, nodes: [node('node-1', process.pid)] }))
  assert.throws(() => claimDemoDir(dir), err => isAgoraError(err, 'E1301') && /agora demo --stop/.test(err.format()))
  assert.ok(existsSync(stateFile(dir)), 'a running demo is left alone')

  // every process gone: the folder is taken over, old files and all
  writeFileSync(stateFile(dir), JSON.stringify({ ...state, pid: DEAD, nodes: [node('node-1', DEAD)] }))
  writeFileSync(join(dir, 'leftover'), 'x')
  const fresh = claimDemoDir(dir)
  assert.deepEqual(fresh.nodes, [])
  assert.equal(existsSync(join(dir, 'leftover')), false)
})

test('a damaged state file is E1305 naming it; no file is no demo', () => {
  const dir = join(root, 'damaged')
  assert.equal(readState(dir), undefined)
  claimDemoDir(dir)
  writeFileSync(stateFile(dir), '{"pid": "not a number"')
  assert.throws(() => readState(dir), err => isAgoraError(err, 'E1305') && err.what.includes(stateFile(dir)))
  writeFileSync(stateFile(dir), JSON.stringify({ pid: 1, startedAt: 1, dir, nodes: [{ name: 'x' }] }))
  assert.throws(() => readState(dir), err => isAgoraError(err, 'E1305'))
})

test('each role\'s config file loads and gives the node its part', () => {
  const models = join(root, 'models')
  const load = (role: 'gateway' | 'echo' | 'worker'): AgoraConfig => {
    const dir = join(root, role)
    mkdirSync(dir, { recursive: true })
    const file = writeDemoNodeConfig(dir, `n-${role}`, role, models, 'a demo node')
    assert.match(readFileSync(file, 'utf8'), /^# agora demo: n-/)
    return loadConfig({ configFile: file, env: {} }).config
  }
  const [gateway, echo, worker] = [load('gateway'), load('echo'), load('worker')]
  for (const config of [gateway, echo, worker]) {
    assert.equal(config.access.trustMode, 'public')
    assert.equal(config.providers.discovery, false)
    assert.equal(config.jobs.maxCpuLoad, 0)
  }
  assert.deepEqual([gateway.providers.echo.enabled, echo.providers.echo.enabled, worker.providers.echo.enabled], [false, true, false])
  assert.deepEqual([gateway.providers.wink.enabled, echo.providers.wink.enabled, worker.providers.wink.enabled], [true, false, true])
  assert.equal(gateway.jobs.slots, 0, 'the gateway hands every subtask to the network')
  assert.ok(worker.jobs.slots > 0)
  assert.equal(worker.providers.wink.cacheDir, models)
})
