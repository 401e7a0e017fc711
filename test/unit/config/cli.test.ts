import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cliInProcess } from '../../harness/in-process-cli.ts'
import { renderDefaultConfig } from '../../../src/config/index.ts'

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url))

const cli = cliInProcess

let dir: string

describe('agora config', () => {
  before(() => { dir = mkdtempSync(join(tmpdir(), 'agora-')) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  test('set then get round-trips, creating the file', async () => {
    const file = join(dir, 'set-get.yaml')
    const set = await cli('--config', file, 'config', 'set', 'api.port', '9100')
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /api\.port = 9100/)
    assert.ok(existsSync(file))
    const get = await cli('--config', file, 'config', 'get', 'api.port')
    assert.deepEqual(get, { code: 0, stdout: '9100\n', stderr: '' })
    await cli('--config', file, 'config', 'set', 'network.bootstrap', '/ip4/10.0.0.1/tcp/1,/ip4/10.0.0.2/tcp/2')
    const list = await cli('--config', file, 'config', 'get', 'network.bootstrap')
    assert.equal(list.stdout, '/ip4/10.0.0.1/tcp/1\n/ip4/10.0.0.2/tcp/2\n')
    const json = await cli('--config', file, '--json', 'config', 'get', 'network.bootstrap')
    assert.deepEqual(JSON.parse(json.stdout), ['/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/2'])
  })

  test('set refuses a bad value (exit 1, E300) and get of an unknown key is E301', async () => {
    const file = join(dir, 'refuse.yaml')
    writeFileSync(file, 'api:\n  port: 8145\n')
    const bad = await cli('--config', file, 'config', 'set', 'api.port', '70000')
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /^Error \[E300\]: invalid value 70000 for config key 'api\.port'/)
    assert.equal(readFileSync(file, 'utf8'), 'api:\n  port: 8145\n')
    const unknown = await cli('--config', file, 'config', 'get', 'api.prot')
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /Error \[E301\].*did you mean 'api\.port'/)
  })

  test('init writes the template; again without --force is E304', async () => {
    const file = join(dir, 'sub', 'init.yaml')
    const first = await cli('config', 'init', '--path', file)
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stdout.trim(), file)
    assert.equal(readFileSync(file, 'utf8'), renderDefaultConfig())
    const again = await cli('config', 'init', '--path', file)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /Error \[E304\]/)
    assert.equal((await cli('config', 'init', '--path', file, '--force')).code, 1, 'overwriting asks first: no terminal, no --yes')
    assert.equal((await cli('config', 'init', '--path', file, '--force', '--yes')).code, 0)
    const valid = await cli('config', 'validate', file)
    assert.deepEqual(valid, { code: 0, stdout: `valid: ${file}\n`, stderr: '' })
  })

  test('reset puts the file back to the defaults after a confirmation, keeping the old one beside it', async () => {
    const file = join(dir, 'reset.yaml')
    writeFileSync(file, 'api:\n  port: 9999\n')
    assert.equal((await cli('--config', file, 'config', 'reset')).code, 1, 'no terminal, no --yes: refused')
    assert.equal(readFileSync(file, 'utf8'), 'api:\n  port: 9999\n')
    const reset = await cli('--config', file, 'config', 'reset', '--yes', '--json')
    assert.equal(reset.code, 0, reset.stderr)
    const { backup } = JSON.parse(reset.stdout) as { backup: string }
    assert.equal(readFileSync(file, 'utf8'), renderDefaultConfig())
    assert.equal(readFileSync(backup, 'utf8'), 'api:\n  port: 9999\n')
    assert.equal((await cli('--config', join(dir, 'none.yaml'), 'config', 'reset', '--yes')).code, 1, 'nothing to reset: E304')
  })

  test('agora changelog prints CHANGELOG.md', async () => {
    const out = await cli('changelog')
    assert.equal(out.code, 0)
    assert.match(out.stdout, /^# Changelog\n/)
    assert.match(out.stdout, /## Unreleased/)
  })

  test('show --sources --json tells where each value comes from', async () => {
    const file = join(dir, 'sources.yaml')
    writeFileSync(file, 'log:\n  level: debug\n')
    const run = await cli('--config', file, '--json', 'config', 'show', '--sources')
    assert.equal(run.code, 0, run.stderr)
    const rows = JSON.parse(run.stdout) as Array<{ key: string, value: unknown, source: string, origin?: string }>
    assert.deepEqual(rows.find(r => r.key === 'log.level'), { key: 'log.level', value: 'debug', source: 'file', origin: `${file}:2` })
    assert.deepEqual(rows.find(r => r.key === 'api.port'), { key: 'api.port', value: 8145, source: 'default' })
    const show = await cli('--config', file, '--json', 'config', 'show')
    assert.equal((JSON.parse(show.stdout) as { log: { level: string } }).log.level, 'debug')
  })

  test('path lists the --config file as in use', async () => {
    const file = join(dir, 'path.yaml')
    writeFileSync(file, '{}\n')
    const run = await cli('--config', file, '--json', 'config', 'path')
    assert.deepEqual(JSON.parse(run.stdout), [{ order: 1, path: file, exists: true, inUse: true }])
  })

  test('validate on a bad file exits 1 with Error [E301] on stderr (spawned)', () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'api:\n  prot: 8145\n')
    const run = spawnSync(process.execPath, [MAIN, '--config', file, 'config', 'validate'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '', HOME: dir } })
    assert.equal(run.status, 1, run.stderr)
    assert.match(run.stderr, /Error \[E301\]: unknown config key 'api\.prot' in .*bad\.yaml:2 — did you mean 'api\.port'\?/)
    assert.equal(run.stdout, '')
  })
})
