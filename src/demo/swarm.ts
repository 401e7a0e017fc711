/**
 * Starting and stopping the demo's three nodes. Each is a real detached
 * `agora start` (the same machinery as `agora start --detach`) on a data dir
 * inside the demo folder, its API and libp2p on ephemeral loopback ports,
 * the second and third bootstrapped to the first. A node that fails to
 * start stops the others and removes the folder (E1302, naming its log).
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { AgoraError, messageOf } from '../errors.ts'
import { clientFor, isAlive, type StatusResponse } from '../client/index.ts'
import { startDetached, waitForExit } from '../daemon/detach.ts'
import { DATA_DIR_FILES } from '../daemon/data-dir.ts'
import { DEMO_LIMITS, DEMO_NODES } from './constants.ts'
import { writeDemoNodeConfig } from './node-config.ts'
import { writeState, type DemoNodeState, type DemoState } from './state.ts'

type NodeSpec = (typeof DEMO_NODES)[number]

export interface StartSwarmOptions {
  /** Told of each node once it is ready. */
  onReady?: (node: DemoNodeState, ms: number) => void
}

/** Starts the three nodes into `state` (the state file follows each); on a failure nothing is left running and the folder is gone. */
export async function startSwarm (state: DemoState, opts: StartSwarmOptions = {}): Promise<DemoNodeState[]> {
  const modelsDir = join(state.dir, 'models')
  const [first, ...rest] = DEMO_NODES as [NodeSpec, ...NodeSpec[]]
  try {
    const bootstrap = await startOne(state, first, modelsDir, [], opts)
    const results = await Promise.allSettled(rest.map(async spec => await startOne(state, spec, modelsDir, ['--bootstrap', bootstrap.address], opts)))
    const failed = results.find(r => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    return state.nodes
  } catch (err) {
    await stopSwarm(state).catch(() => {})
    throw err
  }
}

async function startOne (state: DemoState, spec: NodeSpec, modelsDir: string, extra: string[], opts: StartSwarmOptions): Promise<DemoNodeState> {
  const dataDir = join(state.dir, spec.name)
  const log = join(dataDir, DATA_DIR_FILES.logs, 'agora.log')
  const started = performance.now()
  let status: StatusResponse
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    const config = writeDemoNodeConfig(dataDir, spec.name, spec.role, modelsDir, spec.what)
    const argv = ['start', '--config', config, '--api-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-discovery', ...extra]
    status = await startDetached({ dataDir, argv, timeoutMs: DEMO_LIMITS.startMs })
  } catch (err) {
    // one that did not become ready may still run: it goes too
    const pid = pidOf(dataDir)
    if (pid !== undefined) await killNode(pid)
    // the demo folder goes, its log is kept beside it
    const kept = `${state.dir}-${spec.name}.log`
    const where = keepLog(log, kept) ? `see its log, kept as ${kept}` : 'it wrote no log'
    throw new AgoraError('E1302', `demo ${spec.name} (${spec.role}) did not start`, { why: messageOf(err), hint: `${where}; the other demo nodes were stopped and ${state.dir} removed`, cause: err })
  }
  const address = status.addresses.find(a => a.startsWith('/ip4/127.0.0.1/tcp/') && !a.includes('/ws')) ?? status.addresses[0] ?? ''
  const node: DemoNodeState = { name: spec.name, role: spec.role, dataDir, pid: status.pid, peerId: status.peerId, apiUrl: status.apiUrl, address, log }
  state.nodes.push(node)
  // in the order of DEMO_NODES whichever was ready first: the first is the gateway
  state.nodes.sort((a, b) => DEMO_NODES.findIndex(n => n.name === a.name) - DEMO_NODES.findIndex(n => n.name === b.name))
  writeState(state)
  opts.onReady?.(node, performance.now() - started)
  return node
}

export interface StopReport {
  /** Per node: stopped through its API, killed after it did not stop, or not running any more. */
  nodes: Array<{ name: string, pid: number, outcome: 'stopped' | 'killed' | 'gone' }>
  removed: string
}

/** Stops every node of the demo (gracefully, killed when it does not exit in time) and removes its folder. */
export async function stopSwarm (state: DemoState): Promise<StopReport> {
  const nodes = await Promise.all(state.nodes.map(async node => ({ name: node.name, pid: node.pid, outcome: await stopNode(node) })))
  const still = state.nodes.filter(n => isAlive(n.pid) && pidOf(n.dataDir) === n.pid)
  if (still.length > 0) {
    throw new AgoraError('E1304', `demo node(s) ${still.map(n => `${n.name} (pid ${n.pid})`).join(', ')} would not exit`, { hint: `kill ${still.map(n => n.pid).join(' ')}, then \`agora demo --stop\` again` })
  }
  rmSync(state.dir, { recursive: true, force: true })
  return { nodes, removed: state.dir }
}

async function stopNode (node: DemoNodeState): Promise<'stopped' | 'killed' | 'gone'> {
  // a pid is signalled only while the node's own lock file still names it (pids are reused)
  if (!isAlive(node.pid) || pidOf(node.dataDir) !== node.pid) return 'gone'
  try {
    await clientFor(node.dataDir, { timeoutMs: 5000 }).stop()
  } catch {
    try { process.kill(node.pid, 'SIGTERM') } catch { /* exited meanwhile */ }
  }
  try {
    await waitForExit(node.pid, DEMO_LIMITS.stopMs)
    return 'stopped'
  } catch {
    await killNode(node.pid)
    return 'killed'
  }
}

async function killNode (pid: number): Promise<void> {
  try { process.kill(pid, 'SIGKILL') } catch { return }
  await waitForExit(pid, 5000).catch(() => {})
}

function keepLog (log: string, to: string): boolean {
  try {
    copyFileSync(log, to)
    return true
  } catch {
    return false
  }
}

/** The pid in a data dir's lock file, if it names a live process. */
function pidOf (dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dataDir, DATA_DIR_FILES.pid), 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined
  } catch {
    return undefined
  }
}
