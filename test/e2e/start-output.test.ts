/**
 * The foreground is for people: `agora start` on a terminal writes readable
 * log lines (pino-pretty), JSON lines with --log-format json (and when not a
 * terminal), colours off with --no-color or NO_COLOR.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { CLI, ROOT, agora } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'

const START = ['start', '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-discovery']

describe('agora start: log lines for people or for machines', () => {
  const dirs: string[] = []
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

  /** Start a node in the foreground until it logged that it started; SIGINT; its stderr. */
  async function logsOf (flags: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const { NO_COLOR: _dropped, ...inherited } = process.env
    const child = spawn(process.execPath, [CLI, ...START, '--data-dir', dataDir, ...flags], {
      cwd: ROOT, env: { ...inherited, XDG_CONFIG_HOME: join(ROOT, '.tmp', 'no-xdg'), ...env }, stdio: ['ignore', 'ignore', 'pipe']
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<void>(resolve => child.on('close', () => { resolve() }))
    try {
      await waitFor('the node to log that it started', () => stderr.includes('node started'), { timeoutMs: 30_000 })
    } finally {
      child.kill('SIGINT')
      await exited
    }
    return stderr
  }

  test('--log-format pretty: one readable line each (time, level, component, message), no JSON', async () => {
    const text = await logsOf(['--log-format', 'pretty'], { NO_COLOR: '1' })
    const started = text.split('\n').find(line => line.includes('node started')) ?? ''
    assert.match(started, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: agora:node node started/)
    assert.ok(!text.includes('{"level"'), 'no JSON lines')
    assert.ok(!text.includes('\x1b['), 'NO_COLOR: no colours')
  })

  test('colours unless --no-color; JSON lines with --log-format json (and off a terminal by default)', async () => {
    assert.ok((await logsOf(['--log-format', 'pretty'])).includes('\x1b['), 'colours by default')
    assert.ok(!(await logsOf(['--log-format', 'pretty', '--no-color'])).includes('\x1b['), '--no-color')
    for (const flags of [['--log-format', 'json'], []]) {
      const line = (await logsOf(flags)).split('\n').find(l => l.includes('node started')) ?? ''
      assert.equal((JSON.parse(line) as { msg: string }).msg, 'node started', flags.join(' ') || 'not a terminal: JSON')
    }
  })

  test('agora logs asks a foreground node for its lines; -f follows them until the node stops', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const env = { ...process.env, XDG_CONFIG_HOME: join(ROOT, '.tmp', 'no-xdg'), NO_COLOR: '1' }
    const node = spawn(process.execPath, [CLI, ...START, '--data-dir', dataDir, '--log-format', 'pretty'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    node.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<void>(resolve => node.on('close', () => { resolve() }))
    try {
      await waitFor('the node to start', () => stderr.includes('node started'), { timeoutMs: 30_000 })
      // its terminal has pretty lines; `agora logs` gets them from the node itself, readable or as JSON
      assert.match(await agora(['logs', '-n', '500', '--data-dir', dataDir], { env }), /\d{4}-\d\d-\d\dT[\d:.]+Z INFO agora:node node started/)
      const json = (await agora(['logs', '-n', '3', '--json', '--level', 'info', '--data-dir', dataDir], { env })).trim().split('\n').map(line => JSON.parse(line) as { level: number, msg: string })
      assert.ok(json.length >= 1 && json.length <= 3, `${json.length} lines`)
      assert.ok(json.every(line => line.level >= 30))
      assert.ok(json.some(line => line.msg === 'node started'))
      const follower = spawn(process.execPath, [CLI, 'logs', '-f', '-n', '1', '--json', '--data-dir', dataDir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let followed = ''
      let followerErr = ''
      follower.stdout.on('data', (d: Buffer) => { followed += d.toString() })
      follower.stderr.on('data', (d: Buffer) => { followerErr += d.toString() })
      const followerDone = new Promise<number | null>(resolve => follower.on('close', code => { resolve(code) }))
      // the node sends the last line and subscribes the reader in one step: once that line is here, what follows will be too
      await waitFor('the follower to print the last line', () => followed.includes('\n'), { timeoutMs: 10_000 })
      const before = followed
      await agora(['stop', '--data-dir', dataDir], { env })
      assert.equal(await followerDone, 0, followerErr)
      assert.equal(before.trim().split('\n').length, 1, '-n 1: one line from before')
      const messages = followed.slice(before.length).trim().split('\n').map(line => (JSON.parse(line) as { msg: string }).msg)
      assert.ok(messages.includes('node stopping'), `followed: ${messages.join(', ')}`)
      assert.match(followerErr, /the node stopped/)
    } finally {
      node.kill('SIGINT')
      await exited
    }
  })
})
