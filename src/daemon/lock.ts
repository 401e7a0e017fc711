/**
 * One node per data dir: `agora.pid`, created exclusively. A pid file left by
 * a node that died (SIGKILL) is stale and taken over; a live one refuses.
 */
import { openSync, writeSync, closeSync, readFileSync, rmSync } from 'node:fs'
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
      if (pid !== undefined && pid !== process.pid && isAlive(pid)) {
        throw new AgoraError('E602', `a node is already running on data dir ${dataDir} (pid ${pid})`, { details: { pid } })
      }
      rmSync(file, { force: true }) // stale: its node is gone
    }
  }
  throw new AgoraError('E602', `could not lock data dir ${dataDir}`, { why: 'another node started at the same moment' })
}

function readPid (file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}
