/** One node per data dir: stale pid files (a dead node, a pid reused by another program) are taken over, one start at a time. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lockDataDir } from '../../../src/daemon/lock.ts'
import { isAgoraError } from '../../../src/errors.ts'

function withDir (fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-lock-'))
    try {
      await fn(dir)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A pid that no longer runs (a child that has exited). */
function deadPid (): number {
  return spawnSync(process.execPath, ['-e', '0']).pid as number
}

async function running (command: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore' })
  await new Promise(resolve => child.once('spawn', resolve))
  return child
}

test('a pid file of a live program that is not Node is stale (pids come back after a reboot)', withDir(async dir => {
  const sleeper = await running('sleep', ['30'])
  try {
    writeFileSync(join(dir, 'agora.pid'), String(sleeper.pid))
    const lock = lockDataDir(dir)
    // taken over: the pid file is ours now, the guard is gone, and the dir is locked against a second start
    assert.equal(readFileSync(join(dir, 'agora.pid'), 'utf8'), String(process.pid))
    assert.equal(existsSync(join(dir, 'agora.pid.takeover')), false)
    assert.throws(() => lockDataDir(dir), (err: unknown) => isAgoraError(err, 'E602'))
    assert.equal(sleeper.exitCode, null, 'the other program was left alone')
    lock.release()
    assert.equal(existsSync(join(dir, 'agora.pid')), false, 'released: the pid file is removed')
  } finally {
    sleeper.kill()
  }
}))

test('a pid file of a live Node process still refuses the data dir (E602)', withDir(async dir => {
  const node = await running(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'])
  try {
    writeFileSync(join(dir, 'agora.pid'), String(node.pid))
    assert.throws(() => lockDataDir(dir), (err: unknown) => isAgoraError(err, 'E602') && err.what.includes(String(node.pid)))
  } finally {
    node.kill()
  }
}))

test('a stale pid file is taken over under a guard: a start finding a fresh guard gives way, an old guard is cleared', withDir(dir => {
  writeFileSync(join(dir, 'agora.pid'), String(deadPid()))
  const guard = join(dir, 'agora.pid.takeover')
  writeFileSync(guard, '')
  assert.throws(() => lockDataDir(dir), (err: unknown) => isAgoraError(err, 'E602') && /starting on it at the same moment/.test(err.why ?? ''))
  const old = (Date.now() - 60_000) / 1000
  utimesSync(guard, old, old)
  const lock = lockDataDir(dir)
  lock.release()
}))
