/**
 * The packages room's front door (`PackageApi`): it builds the content
 * layer (Helia on the node's libp2p, blocks under `<data-dir>/ipfs`), the
 * catalogue, search, the installer, the block server and the DHT provider,
 * and delegates each operation to its part. It adds what no part owns:
 * `info`, events (`package:*`, progress thinned to 4 a second), and the
 * lifecycle — Helia starts after libp2p, then the catalogue, search, block
 * server and provider; they stop in reverse, Helia last, before libp2p.
 *
 * With packages.enabled false nothing is built and every call answers E1436.
 */
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import type { Blockstore } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import type { Registry } from 'prom-client'
import type { AgoraConfig } from '../config/index.ts'
import { AgoraError, messageOf } from '../errors.ts'
import type { AgoraEvents } from '../events.ts'
import type { NodeIdentity } from '../identity/index.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { AgoraLibp2p, Gossip } from '../p2p/index.ts'
import type { PeerBook } from '../peers/index.ts'
import type { ReqResp } from '../protocols/index.ts'
import { exportCar, importCar } from './car.ts'
import { PackageCatalog } from './catalog.ts'
import { createContent, type AgoraHelia } from './content.ts'
import { BlockServer, PackageInstaller } from './install/index.ts'
import { packageSize } from './manifest.ts'
import { throttleProgress } from './progress.ts'
import { RootProvider } from './provider.ts'
import { publish } from './publish.ts'
import { PackageRepository, type StoredPackage } from './repository.ts'
import { SearchIndex } from './search-index.ts'
import { PackageSearch } from './search.ts'
import type {
  GcResult, InstalledPackage, InstallInit, PackageApi, PackageInfo, PublishInit, PublishResult, SearchQuery, SearchResult,
  TransferProgress, VerifyReport
} from './types.ts'

export interface PackageComponents {
  libp2p: AgoraLibp2p
  /** The node's SQLite (`store.db.sqlite`), migration 022 applied. */
  db: DatabaseSync
  identity: NodeIdentity
  gossip: Gossip
  reqresp: ReqResp
  peerBook: PeerBook
  events: AgoraEvents
  logger: AgoraLogger
  metrics?: Registry
}

export type PackageServiceInit = AgoraConfig['packages'] & {
  dataDir: string
  /** network.dht.enabled: provide and find roots on the DHT. */
  dht: boolean
}

/** The parts, built only when packages are enabled. */
interface Parts {
  helia: AgoraHelia
  repository: PackageRepository
  catalog: PackageCatalog
  search: PackageSearch
  installer: PackageInstaller
  blockServer: BlockServer
  provider: RootProvider
}

export class PackageService implements PackageApi {
  private readonly c: PackageComponents
  private readonly init: PackageServiceInit
  private readonly log: Logger
  private readonly parts: Parts | undefined
  private heliaStarted = false

  constructor (components: PackageComponents, init: PackageServiceInit) {
    this.c = components
    this.init = init
    this.log = components.logger.forComponent('agora:packages')
    this.parts = init.enabled ? this.build() : undefined
  }

  private build (): Parts {
    const c = this.c
    const self = c.identity.peerIdString
    const helia = createContent(c.libp2p, { dir: join(this.init.dataDir, 'ipfs'), dht: this.init.dht })
    const repository = new PackageRepository(c.db)
    const catalog = new PackageCatalog({
      repository, gossip: c.gossip, reqresp: c.reqresp, libp2p: c.libp2p, peerFeedback: c.peerBook, events: c.events, logger: c.logger, metrics: c.metrics
    }, { maxManifestBytes: this.init.maxManifestBytes, announcePerPublisherPerMinute: this.init.announcePerPublisherPerMinute, catalogMaxBytes: this.init.catalogMaxBytes, catalogBytesPerPeerPerHour: this.init.catalogBytesPerPeerPerHour })
    const reputation = (peer: string): number => peer === self ? 1 : c.peerBook.reputation(peer)
    const search = new PackageSearch({
      index: new SearchIndex({ db: c.db, reputation }, { self }),
      catalog, repository, reqresp: c.reqresp, libp2p: c.libp2p, gossip: c.gossip, peerFeedback: c.peerBook, logger: c.logger, metrics: c.metrics
    }, { fanout: this.init.searchFanout, timeoutMs: this.init.searchTimeoutMs, perPeerPerMinute: this.init.searchPerPeerPerMinute })
    const installer = new PackageInstaller({
      db: c.db, packages: repository, blockstore: helia.blockstore, pins: helia.pins, reqresp: c.reqresp, libp2p: c.libp2p, self, reputation, peerFeedback: c.peerBook
    }, {
      dataDir: this.init.dataDir,
      minPublisherReputation: this.init.minPublisherReputation,
      maxPackageBytes: this.init.maxPackageBytes,
      maxManifestBytes: this.init.maxManifestBytes,
      cacheBytes: this.init.cacheBytes
    })
    const blockServer = new BlockServer({ reqresp: c.reqresp, blockstore: helia.blockstore, peerFeedback: c.peerBook }, { wantsPerPeer: this.init.wantsPerPeer })
    const provider = new RootProvider({
      routing: c.libp2p.contentRouting,
      hasPeers: () => c.libp2p.getPeers().length > 0,
      roots: async () => await this.heldRoots(),
      log: this.log,
      metrics: c.metrics
    }, { enabled: this.init.provide && this.init.dht })
    return { helia, repository, catalog, search, installer, blockServer, provider }
  }

  /** Whether the room runs (packages.enabled). */
  get enabled (): boolean {
    return this.parts !== undefined
  }

  /** The on-disk blockstore, never a network fetch (for the /ipfs/ gateway and CAR export). */
  get localBlockstore (): Blockstore {
    let store: unknown = this.need().helia.blockstore
    while (typeof (store as { unwrap?: unknown }).unwrap === 'function') store = (store as { unwrap: () => unknown }).unwrap()
    return store as Blockstore
  }

  /** Helia (content layer), for parts that need it whole (CAR import and export). */
  get helia (): AgoraHelia {
    return this.need().helia
  }

  get repository (): PackageRepository {
    return this.need().repository
  }

  get catalog (): PackageCatalog {
    return this.need().catalog
  }

  /** After libp2p has started. */
  async start (): Promise<void> {
    const parts = this.parts
    if (parts === undefined) return
    await parts.helia.start()
    this.heliaStarted = true
    await parts.catalog.start()
    await parts.search.start()
    await parts.blockServer.start()
    parts.provider.start()
  }

  /** Before libp2p stops; each part stops even when another failed. */
  async stop (): Promise<void> {
    const parts = this.parts
    if (parts === undefined) return
    const steps: Array<[string, () => Promise<void> | void]> = [
      ['provider', async () => { await parts.provider.stop() }],
      ['block server', async () => { await parts.blockServer.stop() }],
      ['search', async () => { await parts.search.stop() }],
      ['catalog', async () => { await parts.catalog.stop() }],
      ['helia', async () => { if (this.heliaStarted) await parts.helia.stop(); this.heliaStarted = false }]
    ]
    for (const [name, step] of steps) {
      try { await step() } catch (err) { this.log.warn({ err: messageOf(err), part: name }, 'stopping a packages part failed') }
    }
  }

  async publish (init: PublishInit, onProgress?: (progress: TransferProgress) => void): Promise<PublishResult> {
    const parts = this.need()
    const result = await publish({
      identity: this.c.identity,
      blockstore: parts.helia.blockstore,
      pins: parts.helia.pins,
      versions: name => parts.repository.versions(name),
      catalog: parts.catalog,
      provide: cids => { parts.provider.provide(cids) }
    }, this.init, init, this.progress(onProgress))
    this.c.events.emit('package:published', { cid: result.cid, name: result.manifest.name, version: result.manifest.version, size: result.size, recipients: result.recipients })
    return result
  }

  async search (query: SearchQuery): Promise<SearchResult> {
    return await this.need().search.search(query)
  }

  async info (spec: string): Promise<PackageInfo> {
    const parts = this.need()
    const stored = parts.repository.resolve(spec)
    if (stored === undefined) throw new AgoraError('E1437', `no package ${spec} in this node's catalogue`, { details: { spec } })
    const installed = parts.installer.list().find(pkg => pkg.cid === stored.cid)
    return {
      summary: this.summaryOf(stored, installed),
      manifest: stored.manifest,
      envelope: stored.envelope,
      installed,
      versions: parts.repository.versionCids(stored.manifest.name).map(v => v.version)
    }
  }

  async install (init: InstallInit): Promise<InstalledPackage> {
    const parts = this.need()
    const installed = await parts.installer.install({ ...init, onProgress: this.progress(init.onProgress) })
    this.c.events.emit('package:installed', { cid: installed.cid, name: installed.name, version: installed.version, size: installed.size, dir: installed.dir, pinned: installed.pinned })
    const manifest = parts.repository.get(installed.cid)?.manifest
    parts.provider.provide([CID.parse(installed.cid), ...(manifest?.files.map(file => CID.parse(file.cid)) ?? [])])
    return installed
  }

  list (): InstalledPackage[] {
    return this.need().installer.list()
  }

  async verify (spec?: string): Promise<VerifyReport[]> {
    return await this.need().installer.verify(spec)
  }

  async remove (spec: string): Promise<InstalledPackage> {
    const removed = await this.need().installer.remove(spec)
    this.c.events.emit('package:removed', { cid: removed.cid, name: removed.name, version: removed.version, size: removed.size })
    return removed
  }

  async pin (spec: string, pinned: boolean): Promise<InstalledPackage> {
    return await this.need().installer.pin(spec, pinned)
  }

  async gc (): Promise<GcResult> {
    const result = await this.need().installer.gc()
    for (const pkg of result.removed) this.log.info({ name: pkg.name, version: pkg.version, size: pkg.size }, 'package collected from the cache')
    return result
  }

  async exportCar (spec: string, out: string): Promise<{ cid: string, bytes: number, blocks: number }> {
    return await exportCar({ blockstore: this.localBlockstore, packages: this.need().repository }, spec, out)
  }

  /** Checked, then installed through `install` (events, DHT provide) from the blocks the CAR brought. */
  async importCar (path: string, options: { trustPublisher?: boolean, signal?: AbortSignal } = {}): Promise<{ cid: string, name: string, version: string, blocks: number }> {
    const parts = this.need()
    return await importCar({ blockstore: this.localBlockstore, packages: parts.repository, catalog: parts.catalog, installer: { install: async init => await this.install(init) } }, this.init, path, options)
  }

  async exportOllama (spec: string, init: { modelsDir?: string, model?: string }): Promise<{ model: string, modelsDir: string }> {
    const { model, modelsDir } = await this.need().installer.exportOllama(spec, init)
    return { model, modelsDir }
  }

  private need (): Parts {
    if (this.parts === undefined) throw new AgoraError('E1436', 'packages are off on this node', { why: 'packages.enabled is false' })
    return this.parts
  }

  /** Thinned progress to the caller and to `package:progress` listeners. */
  private progress (onProgress?: (progress: TransferProgress) => void): (progress: TransferProgress) => void {
    return throttleProgress(progress => {
      this.c.events.emit('package:progress', progress)
      onProgress?.(progress)
    })
  }

  private summaryOf (stored: StoredPackage, installed: InstalledPackage | undefined): PackageInfo['summary'] {
    const parts = this.need()
    const self = this.c.identity.peerIdString
    const providers = new Set(parts.repository.providers(stored.cid))
    if (installed?.state === 'installed') providers.add(self)
    const { manifest } = stored
    return {
      cid: stored.cid,
      name: manifest.name,
      version: manifest.version,
      kind: manifest.kind,
      description: manifest.description,
      tags: manifest.tags,
      license: manifest.license,
      publisher: manifest.publisher,
      size: packageSize(manifest),
      created: manifest.created,
      providers: providers.size,
      publisherReputation: manifest.publisher === self ? 1 : this.c.peerBook.reputation(manifest.publisher)
    }
  }

  /** Manifest and file roots of what this node holds: pinned packages (published, pinned installs) and installed ones. */
  private async heldRoots (): Promise<CID[]> {
    const parts = this.need()
    const roots = new Map<string, CID>()
    const addPackage = (cid: string): void => {
      const manifest = parts.repository.get(cid)?.manifest
      if (manifest === undefined) return
      roots.set(cid, CID.parse(cid))
      for (const file of manifest.files) roots.set(file.cid, CID.parse(file.cid))
    }
    for await (const pin of parts.helia.pins.ls()) {
      const key = pin.cid.toString()
      roots.set(key, pin.cid)
      addPackage(key)
    }
    for (const installed of parts.installer.list()) if (installed.state === 'installed') addPackage(installed.cid)
    return [...roots.values()]
  }
}
