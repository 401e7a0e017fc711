/**
 * `agora doctor`: checks what most often stops a node from starting — Node
 * version, data dir, config, identity, free ports, reachable bootstrap peers —
 * and says what to do about each. Exit 1 when any check fails.
 */
import type { Command } from 'commander'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, connect } from 'node:net'
import { globalOptions } from '../context.ts'
import { printList } from '../output.ts'
import { AgoraError, messageOf } from '../../errors.ts'
import { NO_BOOTSTRAP_PEERS } from '../../invites/constants.ts'

type Verdict = 'ok' | 'warn' | 'fail'
interface Check { check: string, verdict: Verdict, detail: string }

export function registerDoctorCommand (program: Command): void {
  program.command('doctor')
    .description('check Node, data dir, config, identity, ports and bootstrap peers')
    .option('--timeout <ms>', 'time allowed to reach each bootstrap peer', '3000')
    .action(async (flags: { timeout: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const checks = await runChecks(opts.dataDir, opts.config, Number(flags.timeout))
      printList(checks, [
        { header: 'check', value: c => c.check },
        { header: 'result', value: c => c.verdict },
        { header: 'detail', value: c => c.detail }
      ], opts)
      const failed = checks.filter(c => c.verdict === 'fail')
      if (failed.length > 0) {
        // a failed check is not a usage error (exit 2): exit 1, as the doctor's own help says
        throw new AgoraError('E606', `${failed.length} of ${checks.length} checks failed`, { why: failed.map(c => c.check).join(', ') })
      }
    })
}

export async function runChecks (dataDir: string, configFile: string | undefined, timeoutMs: number): Promise<Check[]> {
  const checks: Check[] = []
  const major = Number(process.versions.node.split('.')[0])
  checks.push({ check: 'node version', verdict: major >= 24 ? 'ok' : 'fail', detail: `Node ${process.versions.node}${major >= 24 ? '' : ' — agora needs Node 24'}` })

  const { prepareDataDir } = await import('../../daemon/data-dir.ts')
  try {
    prepareDataDir(dataDir)
    checks.push({ check: 'data dir', verdict: 'ok', detail: `${dataDir} is writable` })
  } catch (err) {
    checks.push({ check: 'data dir', verdict: 'fail', detail: messageOf(err) + ' — choose another --data-dir or fix its permissions' })
  }

  const { loadConfig } = await import('../../config/index.ts')
  let config
  try {
    const loaded = loadConfig({ configFile })
    config = loaded.config
    checks.push({ check: 'config', verdict: 'ok', detail: loaded.file === undefined ? 'no file; defaults and env' : `valid: ${loaded.file}` })
  } catch (err) {
    checks.push({ check: 'config', verdict: 'fail', detail: err instanceof AgoraError ? err.format() : messageOf(err) })
  }

  checks.push(await identityCheck(dataDir))
  if (config === undefined) return checks

  const running = await isNodeRunning(dataDir)
  if (running) {
    checks.push({ check: 'ports', verdict: 'ok', detail: 'a node is running on this data dir; its ports are in use by it' })
  } else {
    checks.push(await portCheck('api port', config.api.host, config.api.port))
    for (const addr of config.network.listen) {
      const match = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(addr)
      if (match !== null) checks.push(await portCheck(`listen ${addr}`, match[1] as string, Number(match[2])))
    }
  }
  for (const addr of config.network.bootstrap) checks.push(await reachCheck(addr, timeoutMs))
  if (config.network.bootstrap.length === 0) checks.push({ check: 'bootstrap peers', verdict: 'warn', detail: config.network.mdns
    ? `${NO_BOOTSTRAP_PEERS}; off this LAN the node finds nobody without one (or add a peer: \`agora bootstrap add <multiaddr>\`)`
    : 'no bootstrap peers and mDNS is off — the node finds nobody by itself: join with an invite (`agora join <invite>`), add a peer (`agora bootstrap add <multiaddr>`), or turn mDNS on' })
  return checks
}

async function identityCheck (dataDir: string): Promise<Check> {
  const file = join(dataDir, 'identity.key')
  try {
    const mode = statSync(file).mode & 0o777
    const { readIdentity } = await import('../../identity/index.ts')
    const identity = await readIdentity(dataDir)
    const loose = (mode & 0o077) !== 0
    return { check: 'identity', verdict: loose ? 'warn' : 'ok', detail: `${identity.peerIdString}${loose ? ` — ${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it` : ''}` }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { check: 'identity', verdict: 'ok', detail: 'no key yet; one is made on first start' }
    return { check: 'identity', verdict: 'fail', detail: err instanceof AgoraError ? err.format() : messageOf(err) }
  }
}

async function isNodeRunning (dataDir: string): Promise<boolean> {
  const { readApiInfo } = await import('../../client/index.ts')
  try {
    readApiInfo(dataDir)
    return true
  } catch {
    return false
  }
}

async function portCheck (what: string, host: string, port: number): Promise<Check> {
  if (port === 0) return { check: what, verdict: 'ok', detail: 'port 0: any free port' }
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', err => resolve({ check: what, verdict: 'fail', detail: `${host}:${port} is taken (${(err as NodeJS.ErrnoException).code ?? messageOf(err)}) — pick another port or use port 0` }))
    server.listen(port, host, () => server.close(() => resolve({ check: what, verdict: 'ok', detail: `${host}:${port} is free` })))
  })
}

async function reachCheck (addr: string, timeoutMs: number): Promise<Check> {
  const match = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)/.exec(addr)
  if (match === null) return { check: `bootstrap ${addr}`, verdict: 'warn', detail: 'not a TCP address; not checked' }
  return await new Promise(resolve => {
    const socket = connect({ host: match[2] as string, port: Number(match[3]), timeout: timeoutMs })
    const done = (check: Check): void => { socket.destroy(); resolve(check) }
    socket.once('connect', () => done({ check: `bootstrap ${addr}`, verdict: 'ok', detail: 'reachable' }))
    socket.once('timeout', () => done({ check: `bootstrap ${addr}`, verdict: 'fail', detail: `no answer within ${timeoutMs} ms` }))
    socket.once('error', err => done({ check: `bootstrap ${addr}`, verdict: 'fail', detail: messageOf(err) }))
  })
}
