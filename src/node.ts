/**
 * The node: assembles every component once (assemble.ts) and fixes the
 * start/stop order.
 *
 *   create: data dir (E603) → lock (E602) → assemble → API server (not listening)
 *   start:  services in order (libp2p listens first, offers announce last)
 *           → API listens → api.json → ready
 *   stop:   not ready → api.json removed → API closed → services in reverse
 *           → store closed → lock released
 *
 * Nothing else decides order; rooms only expose start()/stop().
 */
import type { FastifyInstance } from 'fastify'
import type { AgoraComponents } from './components.ts'
import { AgoraError, messageOf } from './errors.ts'
import type { AgoraLogger } from './observability/logger.ts'
import type { PeerManager } from './p2p/index.ts'
import type { InfoService } from './protocols/index.ts'
import { buildApiServer, localApiUrl } from './api/index.ts'
import { assemble, type AssembleInit, type Service } from './assemble.ts'
import { prepareDataDir } from './daemon/data-dir.ts'
import { lockDataDir, type DataDirLock } from './daemon/lock.ts'
import { loadOrCreateToken, writeApiInfo, removeApiInfo } from './daemon/api-files.ts'
import { NodeControl } from './daemon/control.ts'
import { RuntimeConfig } from './daemon/runtime-config.ts'
import type { ConfigSource } from './config/index.ts'
import { InviteMinter } from './invites/index.ts'

export type NodeState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped'

export interface AgoraNodeInit extends AssembleInit {
  /** The config file the node was started with: run-time changes are written there (GET/PATCH /api/v1/config). */
  configFile?: string | undefined
  /** Where each value came from at start (env and flags beat the file at the next start). */
  configSources?: Record<string, ConfigSource> | undefined
}

/** How often expired replay-guard entries are dropped. */
const REPLAY_PRUNE_INTERVAL_MS = 60_000

export class AgoraNode {
  readonly components: AgoraComponents
  readonly peerManager: PeerManager
  readonly info: InfoService
  /** The config in force, changeable at run time (GET/PATCH /api/v1/config). */
  readonly runtimeConfig: RuntimeConfig
  private readonly services: Service[]
  private readonly started: Service[] = []
  private api: FastifyInstance | undefined
  private readonly startedAt: number
  private readonly lock: DataDirLock
  private readonly log: ReturnType<AgoraLogger['forComponent']>
  private state: NodeState = 'created'
  private apiUrlValue = ''
  private pruneTimer: NodeJS.Timeout | undefined
  private stopping: Promise<void> | undefined
  private readonly stoppedSignal = Promise.withResolvers<void>()

  private constructor (assembly: Awaited<ReturnType<typeof assemble>>, lock: DataDirLock, init: AgoraNodeInit) {
    this.components = assembly.components
    this.services = assembly.services
    this.peerManager = assembly.peerManager
    this.info = assembly.info
    this.startedAt = assembly.startedAt
    this.lock = lock
    this.log = assembly.components.logger.forComponent('agora:node')
    const { events, logger, access, offers, capabilities, wink, providers } = assembly.components
    this.runtimeConfig = new RuntimeConfig({ events, logger, access, offers, capabilities, wink, providers, jobs: assembly.jobsSettings }, {
      config: init.config,
      file: init.configFile,
      sources: init.configSources
    })
  }

  /** Build every component; nothing listens until start(). */
  static async create (init: AgoraNodeInit): Promise<AgoraNode> {
    prepareDataDir(init.dataDir)
    const lock = lockDataDir(init.dataDir)
    try {
      const node = new AgoraNode(await assemble(init), lock, init)
      try {
        await node.buildApi()
      } catch (err) {
        node.components.store.close()
        throw err
      }
      return node
    } catch (err) {
      lock.release()
      throw err
    }
  }

  /** The HTTP server, answering for this node through a narrow control plane. */
  private async buildApi (): Promise<void> {
    const { identity, libp2p, dataDir, config, events, metrics, logger } = this.components
    const { peerBook, offers, metering, providers, access, gateway, keys, jobs, market, verify, packages } = this.components
    const control = new NodeControl({ identity, libp2p, peerManager: this.peerManager, peerBook, offers, metering, providers, access, metrics }, {
      dataDir,
      name: config.node.name,
      startedAt: this.startedAt,
      apiUrl: () => this.apiUrlValue,
      ready: () => this.state === 'running',
      requestStop: reason => { void this.stop(reason) },
      maxConnections: config.network.connections.maxConnections
    })
    // invites are signed with the node's key, to the addresses it listens on at the time
    const invites = new InviteMinter({ identity, addresses: () => libp2p.getMultiaddrs().map(ma => ma.toString()) }, { pskFile: config.network.psk })
    this.api = await buildApiServer({ control, events, metrics, logger, gateway, keys, jobs, market, verify, invites, runtimeConfig: this.runtimeConfig, packages,
      // the trustless gateway reads the on-disk blockstore only: a request never makes the node fetch
      ...(packages.enabled && config.packages.gateway ? { ipfs: { blockstore: packages.localBlockstore } } : {}) }, {
      token: loadOrCreateToken(dataDir),
      host: config.api.host,
      allowLocalWithoutKey: config.api.allowLocalWithoutKey,
      maxInlineInputBytes: config.jobs.maxInlineInputBytes
    })
  }

  get apiUrl (): string { return this.apiUrlValue }
  get status (): NodeState { return this.state }
  get peerId (): string { return this.components.identity.peerIdString }

  async start (): Promise<void> {
    if (this.state !== 'created') throw new AgoraError('E504', `cannot start a node that is ${this.state}`)
    this.state = 'starting'
    const { libp2p, config, dataDir, events, envelopes } = this.components
    try {
      for (const service of this.services) {
        await service.start()
        this.started.push(service)
      }
      this.apiUrlValue = await this.listenApi(config.api.host, config.api.port)
      writeApiInfo(dataDir, { url: this.apiUrlValue, pid: process.pid, peerId: this.peerId, startedAt: Date.now() })
      this.pruneTimer = setInterval(() => { envelopes.pruneExpired() }, REPLAY_PRUNE_INTERVAL_MS).unref()
    } catch (err) {
      await this.stop('start-up failed')
      throw err
    }
    this.state = 'running'
    const addresses = libp2p.getMultiaddrs().map(ma => ma.toString())
    this.log.info({ api: this.apiUrlValue, addresses }, 'node started')
    events.emit('node:started', { peerId: this.peerId, addresses })
  }

  /** Stop everything in reverse order; safe to call more than once. */
  async stop (reason = 'stopped'): Promise<void> {
    this.stopping ??= this.doStop(reason)
    await this.stopping
  }

  private async doStop (reason: string): Promise<void> {
    const { store, dataDir, events, logger } = this.components
    this.state = 'stopping'
    this.log.info({ reason }, 'node stopping')
    events.emit('node:stopping', { reason })
    clearInterval(this.pruneTimer)
    removeApiInfo(dataDir)
    const steps: Array<[string, () => Promise<void> | void]> = [
      ['api', async () => { await this.api?.close() }],
      // only what started is stopped, newest first (libp2p was stopped already if it failed to listen)
      ...this.started.splice(0).reverse().map((service): [string, () => Promise<void> | void] => [service.name, () => service.stop()]),
      ['store', () => { store.close() }],
      ['lock', () => { this.lock.release() }]
    ]
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (err) {
        this.log.warn({ err: messageOf(err) }, `stopping ${name} failed`)
      }
    }
    this.state = 'stopped'
    this.log.info('node stopped')
    logger.root.flush()
    this.stoppedSignal.resolve()
  }

  /** Resolves once the node has stopped, whoever stopped it (signal, API, error). */
  whenStopped (): Promise<void> {
    return this.stoppedSignal.promise
  }

  private async listenApi (host: string, port: number): Promise<string> {
    const api = this.api
    if (api === undefined) throw new AgoraError('E504', 'the API was not built')
    try {
      await api.listen({ host, port })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new AgoraError('E201', `the API port ${host}:${port} is not available`, { why: messageOf(err), hint: 'use `--api-port 0` for any free port, or stop what holds it' })
      }
      throw err
    }
    const address = api.server.address()
    const bound = address !== null && typeof address === 'object' ? address.port : port
    return localApiUrl(host, bound)
  }
}
