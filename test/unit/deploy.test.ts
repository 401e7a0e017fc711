/**
 * Packaging that cannot run here (no Docker, no systemd as PID 1), checked
 * the ways this machine can: the Dockerfile and compose file parsed, the
 * systemd unit verified by systemd-analyze (Debian's systemd package), and
 * `agora service install|uninstall` writing and removing it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { serviceUnit } from '../../src/daemon/service-unit.ts'
import { ROOT, runAgora } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8')

test('Dockerfile: multi-stage, production dependencies, non-root, the data dir a volume, a health check on /healthz', () => {
  const lines = read('Dockerfile').split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#'))
  const froms = lines.filter(l => l.startsWith('FROM '))
  assert.equal(froms.length, 2)
  assert.match(froms[0] ?? '', /^FROM node:24\S* AS build$/)
  assert.ok(lines.some(l => l.includes('npm ci --omit=dev')))
  const runStage = lines.slice(lines.lastIndexOf(froms[1] as string))
  const user = runStage.find(l => l.startsWith('USER '))
  assert.ok(user !== undefined && user !== 'USER root' && user !== 'USER 0', 'runs as a non-root user')
  assert.ok(runStage.includes('VOLUME ["/data"]'))
  assert.ok(runStage.some(l => l.startsWith('ENV ') || l.startsWith('AGORA_DATA_DIR=/data')))
  assert.match(read('Dockerfile'), /HEALTHCHECK[\s\S]*\/healthz/)
  for (const copied of lines.filter(l => l.startsWith('COPY ') && !l.includes('--from')).flatMap(l => l.split(/\s+/).slice(1, -1))) {
    assert.ok(existsSync(join(ROOT, copied)), `COPY ${copied} exists`)
  }
})

test('deploy/compose.yaml: three nodes built from the Dockerfile, each with its data volume, APIs on loopback only', () => {
  const compose = parse(read('deploy/compose.yaml')) as { services: Record<string, { build: string, volumes: string[], ports: string[] }>, volumes: Record<string, unknown> }
  const services = Object.values(compose.services)
  assert.equal(services.length, 3)
  for (const s of services) {
    assert.equal(s.build, '..')
    assert.ok(s.volumes.some(v => v.endsWith(':/data') && Object.hasOwn(compose.volumes, v.split(':')[0] as string)))
    assert.ok(s.ports.every(p => p.startsWith('127.0.0.1:')), 'the control API stays on loopback')
  }
})

test('the systemd unit: deploy/agora.service is the rendered default, and systemd-analyze verify accepts it', () => {
  assert.equal(read('deploy/agora.service'), serviceUnit({ node: '/usr/bin/node', cli: '/opt/agora/bin/agora.js', user: 'agora', dataDir: '/var/lib/agora' }))
  const unit = serviceUnit({ node: process.execPath, cli: join(ROOT, 'bin', 'agora.js'), user: 'agora', dataDir: '/var/lib/agora' })
  for (const key of ['Restart=on-failure', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'StateDirectory=agora', 'User=agora']) assert.ok(unit.includes(`\n${key}\n`), key)
  const dir = tempDir()
  try {
    const file = join(dir, 'agora.service')
    execFileSync(process.execPath, [join(ROOT, 'bin', 'agora.js'), 'service', 'install', '--path', file], { env: { ...process.env, NO_COLOR: '1' } })
    assert.equal(readFileSync(file, 'utf8'), unit)
    // Debian's systemd package: verify works without systemd running
    const verify = existsSync('/usr/bin/systemd-analyze') ? execFileSync('systemd-analyze', ['verify', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) : 'systemd-analyze not installed'
    assert.equal(verify.trim(), existsSync('/usr/bin/systemd-analyze') ? '' : 'systemd-analyze not installed')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('agora service install refuses to replace a unit without --force; uninstall asks first and removes it', async () => {
  const dir = tempDir()
  try {
    const file = join(dir, 'agora.service')
    assert.equal((await runAgora(['service', 'install', '--path', file, '--user', 'nodeuser', '--service-data-dir', join(dir, 'data')])).code, 0)
    assert.match(readFileSync(file, 'utf8'), new RegExp(`ReadWritePaths=${join(dir, 'data')}\\n`))
    const again = await runAgora(['service', 'install', '--path', file])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /exists already/)
    assert.equal((await runAgora(['service', 'install', '--path', file, '--user', 'Bad User'])).code, 2)
    const unconfirmed = await runAgora(['service', 'uninstall', '--path', file])
    assert.equal(unconfirmed.code, 1)
    assert.ok(existsSync(file), 'not removed without a confirmation')
    assert.equal((await runAgora(['service', 'uninstall', '--path', file, '--yes'])).code, 0)
    assert.ok(!existsSync(file))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
