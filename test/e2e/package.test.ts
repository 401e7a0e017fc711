/**
 * The published package carries JavaScript compiled by tsc (Node does not
 * strip types inside node_modules): build it to a temp dir and run the CLI
 * from there, as `npm install -g ./agora-*.tgz && agora` would.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'

test('the tsc-compiled package runs: --version, help, and a clear error with no node', () => {
  const dir = tempDir('agora-pack-')
  try {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const build = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { encoding: 'utf8' })
    assert.equal(build.status, 0, build.stdout + build.stderr)
    mkdirSync(join(dir, 'bin'))
    cpSync(join(ROOT, 'bin', 'agora.js'), join(dir, 'bin', 'agora.js'))
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
    const run = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [join(dir, 'bin', 'agora.js'), ...args], { encoding: 'utf8' })
    assert.match(String(run('--version').stdout), /^\d+\.\d+\.\d+\n$/)
    assert.match(String(run('--help').stdout), /identity/)
    const status = run('status', '--data-dir', join(dir, 'none'))
    assert.equal(status.status, 1)
    assert.match(String(status.stderr), /Error \[E601\]/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
