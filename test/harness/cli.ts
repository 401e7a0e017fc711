/**
 * Child-process nodes and CLI runs: the real `agora` command line, spawned
 * with this Node (24), talking to real daemons over real sockets. Every
 * daemon a test starts is killed at cleanup, even after a failure.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './temp.ts'
import { waitFor } from './wait.ts'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = join(ROOT, 'bin', 'agora.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  timeoutMs?: number
  input?: string
}

/** Run `agora <args>` to completion. */
export async function runAgora (args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', XDG_CONFIG_HOME: join(ROOT, '.tmp', 'no-xdg'), ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdin.end(opts.input ?? '')
  const timeoutMs = opts.timeoutMs ?? 60_000
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number>(resolve => child.on('close', (c, signal) => resolve(c ?? (signal === null ? 1 : 128))))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** Run and require exit code 0; returns stdout. */
export async function agora (args: string[], opts: CliOptions = {}): Promise<string> {
  const result = await runAgora(args, opts)
  if (result.code !== 0) throw new Error(`agora ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
  return result.stdout
}

export interface Daemon {
  dataDir: string
  pid: number
  peerId: string
  url: string
  /** TCP multiaddr with /p2p/. */
  address: string
}

/** Daemons started by tests in this process: data dir → the pids started on it (a restart adds one). */
const started = new Map<string, Set<number>>()

/** `agora start --detach` on a fresh (or given) data dir, loopback and ephemeral ports. */
export async function startDaemon (extraArgs: string[] = [], dataDir = tempDir(), env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  const pids = started.get(dataDir) ?? new Set<number>()
  started.set(dataDir, pids)
  const out = await agora(['start', '--detach', '--data-dir', dataDir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-discovery', '--json', ...extraArgs], { env })
  const status = JSON.parse(out) as { pid: number, peerId: string, apiUrl: string, addresses: string[] }
  pids.add(status.pid)
  const address = status.addresses.find(a => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws'))
  if (address === undefined) throw new Error(`daemon has no loopback TCP address: ${out}`)
  return { dataDir, pid: status.pid, peerId: status.peerId, url: status.apiUrl, address }
}

/** A daemon started some other way (a restart) that killDaemons should also clean up. */
export function trackDaemon (dataDir: string, pid: number): void {
  const pids = started.get(dataDir) ?? new Set<number>()
  pids.add(pid)
  started.set(dataDir, pids)
}

/**
 * SIGKILL every daemon the tests started and remove their data dirs. Only a
 * process that is still our daemon on that data dir is killed (a pid left in
 * a stale pid file may belong to a stranger by now); each data dir is
 * cleaned on its own, so one failure leaves no other daemon or folder behind.
 */
export async function killDaemons (): Promise<void> {
  const failures: unknown[] = []
  for (const [dataDir, pids] of started) {
    try {
      // a restart through the CLI itself (not startDaemon) is found through the pid file
      const filePid = readPid(dataDir)
      const candidates = new Set(filePid === undefined ? pids : [...pids, filePid])
      for (const pid of candidates) {
        if (!isOurDaemon(pid, dataDir)) continue
        try {
          process.kill(pid, 'SIGKILL')
          await waitFor(`pid ${pid} to exit`, () => !isOurDaemon(pid, dataDir), { timeoutMs: 5000 })
        } catch (err) {
          failures.push(err)
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  started.clear()
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} daemon(s) could not be stopped`)
}

/** Whether `pid` runs this repository's CLI on `dataDir` (its command line says so; a zombie has none). */
export function isOurDaemon (pid: number, dataDir: string): boolean {
  let argv: string[]
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  } catch {
    return false
  }
  const dirAt = argv.lastIndexOf('--data-dir')
  return argv.includes(CLI) && dirAt >= 0 && argv[dirAt + 1] === dataDir
}

function readPid (dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dataDir, 'agora.pid'), 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}
