/**
 * An in-process swarm of real Agora nodes: each on 127.0.0.1 with ephemeral
 * ports, its own temp data dir, mDNS off. `using`-style cleanup: call
 * `swarm.stop()` in a finally / after() — it stops every node and removes
 * every data dir even when a test failed half-way.
 */
import { rmSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { Writable } from 'node:stream'
import { AgoraNode } from '../../src/node.ts'
import { configSchema, type AgoraConfig, type DeepPartial } from '../../src/config/index.ts'
import { ControlClient } from '../../src/client/index.ts'
import { stopAll, waitFor } from './wait.ts'
import { tempDir } from './temp.ts'

export { tempDir }

export interface TestNodeOptions {
  config?: DeepPartial<AgoraConfig>
  /** Reuse a data dir (restart tests). */
  dataDir?: string
  /** Show the node's logs on stderr (AGORA_TEST_LOGS=1 does it for all). */
  logs?: boolean
  /** The config file run-time changes are written to (PATCH /api/v1/config); the config itself still comes from `config`. */
  configFile?: string
}

/** Config for a test node: loopback, ephemeral ports, no mDNS, fast timers. */
export function testConfig (overrides: DeepPartial<AgoraConfig> = {}): AgoraConfig {
  const base = {
    log: { level: 'warn' },
    api: { port: 0, host: '127.0.0.1' },
    network: {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      relay: false,
      autonat: false,
      dcutr: false,
      dht: { addressFilter: 'all' },
      peers: { target: 8, reconnectIntervalMs: 1000, pingIntervalMs: 1000 },
      connections: { inboundThresholdPerHost: 1000, maxIncomingPending: 256 }
    },
    // one embeddings cache for the whole test run: the JSON → binary conversion happens at most once
    // discovery off: tests never probe the machine's real engine ports
    providers: { discovery: false, wink: { cacheDir: join(tmpdir(), 'agora-test-models') } }
  }
  return configSchema.parse(mergeDeep(base, overrides as Record<string, unknown>))
}

export function mergeDeep (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a }
  for (const [key, value] of Object.entries(b)) {
    const current = out[key]
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeDeep(current, value) : value
  }
  return out
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A node that takes longer than this to stop is reported, not waited for. */
const STOP_TIMEOUT_MS = 20_000

const discard = new Writable({ write (_chunk, _enc, cb) { cb() } })

export class TestSwarm {
  readonly nodes: AgoraNode[] = []
  private readonly dirs: string[] = []

  /** Create and start one node. */
  async add (opts: TestNodeOptions = {}): Promise<AgoraNode> {
    const dataDir = opts.dataDir ?? tempDir()
    if (opts.dataDir === undefined) this.dirs.push(dataDir)
    const showLogs = opts.logs === true || process.env.AGORA_TEST_LOGS === '1'
    const node = await AgoraNode.create({
      dataDir,
      config: testConfig(opts.config),
      configFile: opts.configFile,
      logger: showLogs ? {} : { destination: discard },
      processMetrics: false
    })
    this.nodes.push(node)
    await node.start()
    return node
  }

  /** Start n nodes, each bootstrapped from the first. */
  async addMany (n: number, opts: TestNodeOptions = {}): Promise<AgoraNode[]> {
    const first = await this.add(opts)
    const rest = await Promise.all(Array.from({ length: n - 1 }, async () => await this.add({
      ...opts,
      config: mergeDeep((opts.config ?? {}) as Record<string, unknown>, { network: { bootstrap: [firstAddress(first)] } }) as DeepPartial<AgoraConfig>
    })))
    return [first, ...rest]
  }

  async stopNode (node: AgoraNode): Promise<void> {
    await node.stop('test')
  }

  /** Stop every node (each within STOP_TIMEOUT_MS) and remove every temp dir; a node that would not stop fails the call. */
  async stop (): Promise<void> {
    try {
      await stopAll(this.nodes, n => `node ${n.peerId.slice(-6)}`, async n => { await n.stop('test finished') }, STOP_TIMEOUT_MS)
    } finally {
      for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true })
    }
  }

  /** Remove a data dir this swarm did not create (restart tests). */
  track (dir: string): void {
    this.dirs.push(dir)
  }
}

/** The node's first TCP address, with /p2p/<peerId>. */
export function firstAddress (node: AgoraNode): string {
  const addr = node.components.libp2p.getMultiaddrs().map(a => a.toString()).find(a => a.includes('/tcp/') && !a.includes('/ws'))
  if (addr === undefined) throw new Error(`node ${node.peerId} has no TCP address`)
  return addr
}

/** A control-API client for a node, with its token. */
export function clientOf (node: AgoraNode): ControlClient {
  const token = readFileSync(join(node.components.dataDir, 'api.token'), 'utf8').trim()
  return new ControlClient({ url: node.apiUrl, token })
}

/** Wait until `node` sees `count` peers connected. */
export async function waitForPeers (node: AgoraNode, count: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(`${count} peers on ${node.peerId.slice(-6)}`, () => node.components.libp2p.getPeers().length >= count, { timeoutMs })
}
