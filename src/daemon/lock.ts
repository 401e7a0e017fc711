/**
 * One node per data dir: `agora.pid`, created exclusively. A pid file left by
 * a node that died (SIGKILL) is stale and taken over; a live one refuses.
 * A pid now used by a process that is not Node (pids come back after a
 * reboot) is stale too. Taking over happens under a second exclusive file,
 * so two starts racing over one stale pid file cannot both win.
 */
import { openSync, writeSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { join } from 'node:path'
import { AgoraError, messageOf } from '../errors.ts'
import { isAlive } from '../client/client.ts'
import { DATA_DIR_FILES } from './data-dir.ts'

export interface DataDirLock {
  release(): void
}

/** Data dirs locked by this process (several in-process nodes share one pid). */
const heldHere = new Set<string>()

export function lockDataDir (dataDir: string): DataDirLock {
  const file = join(dataDir, DATA_DIR_FILES.pid)
  if (heldHere.has(file)) {
    throw new AgoraError('E602', `a node is already running on data dir ${dataDir} (pid ${process.pid})`, { details: { pid: process.pid } })
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      heldHere.add(file)
      return {
        release: () => {
          if (!heldHere.delete(file)) return
          if (readPid(file) === process.pid) rmSync(file, { force: true })
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AgoraError('E603', `cannot create ${file}`, { why: messageOf(err), cause: err })
      }
      const pid = readPid(file)
      if (pid !== undefined && pid !== process.pid && isAlive(pid) && mayBeNode(pid)) {
        throw new AgoraError('E602', `a node is already running on data dir ${dataDir} (pid ${pid})`, { details: { pid } })
      }
      takeOver(file, pid, dataDir) // stale: its node is gone
    }
  }
  throw new AgoraError('E602', `could not lock data dir ${dataDir}`, { why: 'another node started at the same moment' })
}

/** A takeover guard older than this was left by a start that died half-way. */
const STALE_GUARD_MS = 10_000

/** Remove the stale pid file, if it still holds `stalePid`, while holding `<file>.takeover` exclusively. */
function takeOver (file: string, stalePid: number | undefined, dataDir: string): void {
  const guard = `${file}.takeover`
  try {
    if (Date.now() - statSync(guard).mtimeMs > STALE_GUARD_MS) rmSync(guard, { force: true })
  } catch {
    // no guard: the usual case
  }
  let fd: number
  try {
    fd = openSync(guard, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AgoraError('E602', `could not lock data dir ${dataDir}`, { why: 'another node is starting on it at the same moment' })
    throw new AgoraError('E603', `cannot create ${guard}`, { why: messageOf(err), cause: err })
  }
  try {
    // another start may have taken it over and written its own pid meanwhile: only the stale one goes
    if (readPid(file) === stalePid) rmSync(file, { force: true })
  } finally {
    closeSync(fd)
    rmSync(guard, { force: true })
  }
}

/**
 * Whether a live `pid` may be a node: false only when its command line can
 * be read (Linux) and is neither Node nor agora. Elsewhere a live pid counts.
 */
function mayBeNode (pid: number): boolean {
  let argv: string[]
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return true
  }
  return basename(argv[0] ?? '').startsWith('node') || argv.some(arg => arg.includes('agora'))
}

function readPid (file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}
