/**
 * Child-process nodes and CLI runs: the real `agora` command line, spawned
 * with this Node (24), talking to real daemons over real sockets. Every
 * daemon a test starts is killed at cleanup, even after a failure.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isAlive } from '../../src/client/index.ts'
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

/** Daemons started by tests in this process, killed by `killDaemons()`. */
const started = new Set<string>()

/** `agora start --detach` on a fresh (or given) data dir, loopback and ephemeral ports. */
export async function startDaemon (extraArgs: string[] = [], dataDir = tempDir(), env: NodeJS.ProcessEnv = {}): Promise<Daemon> {
  started.add(dataDir)
  const out = await agora(['start', '--detach', '--data-dir', dataDir, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-discovery', '--json', ...extraArgs], { env })
  const status = JSON.parse(out) as { pid: number, peerId: string, apiUrl: string, addresses: string[] }
  const address = status.addresses.find(a => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws'))
  if (address === undefined) throw new Error(`daemon has no loopback TCP address: ${out}`)
  return { dataDir, pid: status.pid, peerId: status.peerId, url: status.apiUrl, address }
}

/** SIGKILL every daemon the tests started and remove their data dirs. */
export async function killDaemons (): Promise<void> {
  for (const dataDir of started) {
    const pid = readPid(dataDir)
    if (pid !== undefined && isAlive(pid)) {
      process.kill(pid, 'SIGKILL')
      await waitFor(`pid ${pid} to exit`, () => !isAlive(pid), { timeoutMs: 5000 })
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  started.clear()
}

function readPid (dataDir: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(join(dataDir, 'agora.pid'), 'utf8'), 10)
  } catch {
    return undefined
  }
}
