/**
 * `agora start --detach`: run the same command again as a background process
 * whose output goes to `<data-dir>/logs/agora.log`, and wait until its API
 * answers /readyz — or report the error it died with.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, openSync, closeSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { AgoraError, isErrorCode } from '../errors.ts'
import { ControlClient, isAlive, readApiInfo, type StatusResponse } from '../client/index.ts'
import { DATA_DIR_FILES, prepareDataDir } from './data-dir.ts'

export interface DetachInit {
  dataDir: string
  /** The command line of this process (without node and script). */
  argv: string[]
  /** How long the node may take to become ready. */
  timeoutMs?: number
}

export async function startDetached (init: DetachInit): Promise<StatusResponse> {
  prepareDataDir(init.dataDir)
  const logDir = join(init.dataDir, DATA_DIR_FILES.logs)
  mkdirSync(logDir, { recursive: true, mode: 0o700 })
  const logFile = join(logDir, 'agora.log')
  const logStart = sizeOf(logFile)
  const out = openSync(logFile, 'a', 0o600)
  const args = [...process.execArgv, process.argv[1] as string, ...init.argv.filter(a => a !== '--detach'), '--data-dir', init.dataDir]
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, out], env: process.env })
  closeSync(out)
  child.unref()
  const pid = child.pid
  if (pid === undefined) throw new AgoraError('E604', 'could not start the node process')

  const deadline = Date.now() + (init.timeoutMs ?? 30_000)
  while (Date.now() < deadline) {
    if (!isAlive(pid) || child.exitCode !== null) throw errorFromLog(logFile, logStart, pid)
    const status = await readyStatus(init.dataDir, pid)
    if (status !== undefined) return status
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new AgoraError('E604', `the node (pid ${pid}) did not become ready within ${Math.round((init.timeoutMs ?? 30_000) / 1000)} s`, { hint: `see ${logFile}` })
}

/** Status of the node on dataDir if it is `pid` and ready, else undefined. */
async function readyStatus (dataDir: string, pid: number): Promise<StatusResponse | undefined> {
  try {
    const { info, token } = readApiInfo(dataDir)
    if (info.pid !== pid) return undefined
    const client = new ControlClient({ url: info.url, token, timeoutMs: 2000 })
    const ready = await client.raw('/readyz')
    return ready.status === 200 ? await client.status() : undefined
  } catch {
    return undefined
  }
}

/** Wait until a process has exited. */
export async function waitForExit (pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new AgoraError('E604', `the node (pid ${pid}) did not exit within ${Math.round(timeoutMs / 1000)} s`, { hint: `kill it with \`kill ${pid}\`` })
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** The error the child printed before dying, as an AgoraError of the same code. */
function errorFromLog (logFile: string, from: number, pid: number): AgoraError {
  // `from` counts bytes (the file's size before): slice the bytes, not the decoded text (an earlier '—' is 3 bytes)
  const text = readFileSync(logFile).subarray(from).toString('utf8')
  const match = /Error \[(E\d{3,4})\]: ([^\n]*)/.exec(text)
  if (match !== null && isErrorCode(match[1] as string)) {
    const [what, ...rest] = (match[2] as string).split(' — ')
    return new AgoraError(match[1] as 'E600', what ?? '', { why: rest.slice(0, -1).join(' — ') || undefined, hint: rest.at(-1) })
  }
  const tail = text.trim().split('\n').slice(-5).join('\n')
  return new AgoraError('E604', `the node (pid ${pid}) exited during start-up`, { why: tail === '' ? 'it printed nothing' : tail, hint: `see ${logFile}` })
}

function sizeOf (file: string): number {
  try { return statSync(file).size } catch { return 0 }
}
