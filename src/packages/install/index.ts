/**
 * Installing packages: resolve a spec (and its dependencies), check the
 * signature and the publisher's reputation, fetch every block from all
 * providers in parallel, write the files atomically into the package
 * store, keep the cache under packages.cacheBytes. The door of the install
 * room; `PackageService` (service.ts) delegates to it.
 */
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import type { CID } from 'multiformats/cid'
import { AgoraError } from '../../errors.ts'
import type { Outcome } from '../../peers/reputation.ts'
import type { ReqResp } from '../../protocols/reqresp/index.ts'
import { packageSize, type Manifest } from '../manifest.ts'
import { exportOllama, type OllamaExportInit } from '../ollama.ts'
import type { GcResult, InstalledPackage, InstallInit, TransferProgress, VerifyReport } from '../types.ts'
import { BlockFetcher, type BlockFetcherInit, type FetchBlocks } from './block-fetcher.ts'
import { collect, fileRoots, removeInstalled, type CacheComponents } from './cache.ts'
import { INSTALL_DEFAULTS, PACKAGE_STORE_DIR } from './constants.ts'
import { fetchAndWrite } from './fetch-and-write.ts'
import { findInstalled } from './installed-spec.ts'
import { InstallsRepository } from './installs-repository.ts'
import { resolvePlan, type CataloguedPackage, type PackageLookup } from './resolve.ts'
import { verifyInstalled } from './verify.ts'

export { BlockServer } from './block-server.ts'
export { BLOCKS_PROTOCOL } from './block-protocol.ts'
export type { PackageLookup, CataloguedPackage } from './resolve.ts'

export interface InstallerComponents {
  db: DatabaseSync
  /** The catalogue (part 1's PackageRepository). */
  packages: PackageLookup
  /** Helia's blockstore (networked: `get` goes to bitswap unless offline) and pins. */
  blockstore: FetchBlocks & { delete(cid: CID): Promise<void> | void }
  pins: {
    add(cid: CID, options?: { metadata?: Record<string, string | number | boolean> }): AsyncIterable<CID>
    rm(cid: CID): AsyncIterable<CID>
    get(cid: CID): Promise<{ metadata: Record<string, string | number | boolean> }>
    isPinned(cid: CID): Promise<boolean>
  }
  reqresp: Pick<ReqResp, 'requestStream'>
  /** Connected peers and the DHT, for providers the catalogue does not know. */
  libp2p: {
    getPeers(): Array<{ toString(): string }>
    contentRouting: { findProviders(cid: CID, options?: { signal?: AbortSignal }): AsyncIterable<{ id: { toString(): string } }> }
  }
  self: string
  reputation: (peerId: string) => number
  peerFeedback?: { record(peerId: string, outcome: Outcome): unknown }
}

export interface InstallerInit extends BlockFetcherInit {
  dataDir: string
  minPublisherReputation: number
  maxPackageBytes: number
  maxManifestBytes: number
  cacheBytes: number
  findProvidersMs?: number
  /** How long a failed or cancelled install stays resumable before gc removes it (INSTALL_DEFAULTS.interruptedKeepMs). */
  interruptedKeepMs?: number
  /** Fetched blocks held in memory for the file writer (INSTALL_DEFAULTS.writeAheadBytes). */
  writeAheadBytes?: number
  clock?: () => number
}

/** Marks the Helia pins installs make, so unpin never takes away a publisher's. */
const PIN_MARK = 'agora-install'

export class PackageInstaller {
  private readonly c: InstallerComponents
  private readonly init: InstallerInit
  private readonly installs: InstallsRepository
  private readonly fetcher: BlockFetcher
  private readonly cache: CacheComponents
  private readonly clock: () => number
  /** Manifest CIDs being installed now: gc leaves their partial state alone. */
  private readonly inFlight = new Map<string, number>()

  constructor (components: InstallerComponents, init: InstallerInit) {
    this.c = components
    this.init = init
    this.clock = init.clock ?? Date.now
    this.installs = new InstallsRepository(components.db)
    this.fetcher = new BlockFetcher(components, init)
    this.cache = {
      installs: this.installs,
      blockstore: components.blockstore,
      pins: components.pins,
      manifestOf: cid => components.packages.get(cid)?.manifest
    }
  }

  async install (init: InstallInit): Promise<InstalledPackage> {
    const plan = await resolvePlan({ packages: this.c.packages, reputation: this.c.reputation, self: this.c.self, blockstore: this.c.blockstore }, this.init, init.spec, init)
    for (const pkg of plan) await this.installOne(pkg, init)
    const root = plan[plan.length - 1] as CataloguedPackage
    await this.collect(new Set(plan.map(pkg => pkg.cid)))
    return this.installs.get(root.cid) as InstalledPackage
  }

  list (): InstalledPackage[] {
    return this.installs.list()
  }

  async verify (spec?: string): Promise<VerifyReport[]> {
    const targets = spec === undefined ? this.installs.list().filter(pkg => pkg.state === 'installed') : [findInstalled(this.installs, spec)]
    const reports: VerifyReport[] = []
    for (const installed of targets) {
      const manifest = this.manifestOf(installed)
      reports.push(await verifyInstalled(installed, manifest))
    }
    return reports
  }

  async remove (spec: string): Promise<InstalledPackage> {
    const installed = findInstalled(this.installs, spec)
    // its files and blocks are being written: removing them now would leave the running install nothing to finish
    if (this.inFlight.has(installed.cid)) {
      throw new AgoraError('E1454', `${installed.name}@${installed.version} is being installed`, { why: 'an install of it is running now', details: { cid: installed.cid } })
    }
    if (installed.pinned) await this.unpinBlocks(installed)
    await removeInstalled(this.cache, installed)
    return installed
  }

  async pin (spec: string, pinned: boolean): Promise<InstalledPackage> {
    const installed = findInstalled(this.installs, spec)
    if (installed.pinned === pinned) return installed
    if (pinned) await this.pinBlocks(this.manifestOf(installed))
    else await this.unpinBlocks(installed)
    this.installs.setPinned(installed.cid, pinned)
    return { ...installed, pinned }
  }

  /** An installed model package into Ollama's model store (ollama.ts); marks it used. */
  async exportOllama (spec: string, init: OllamaExportInit = {}): Promise<{ model: string, modelsDir: string, manifestPath: string }> {
    const installed = findInstalled(this.installs, spec)
    if (installed.state !== 'installed') throw new AgoraError('E1448', `${spec} is not installed yet`, { why: 'its install was interrupted; run install again to finish it' })
    const result = await exportOllama(installed, this.manifestOf(installed), init)
    this.installs.touch(installed.cid, this.clock())
    return result
  }

  /** Installs that failed or were cancelled over an hour ago, then unpinned packages past packages.cacheBytes. */
  async gc (): Promise<GcResult> {
    return await this.collect(new Set())
  }

  private async collect (keep: ReadonlySet<string>): Promise<GcResult> {
    const interruptedBefore = this.clock() - (this.init.interruptedKeepMs ?? INSTALL_DEFAULTS.interruptedKeepMs)
    return await collect(this.cache, this.init.cacheBytes, { keep: new Set([...keep, ...this.inFlight.keys()]), interruptedBefore })
  }

  /** Where a package's files go: `<dataDir>/packages/<publisher>/<name>/<version>`. */
  packageDir (manifest: Manifest): string {
    return join(this.init.dataDir, PACKAGE_STORE_DIR, ...manifest.name.split('/'), manifest.version)
  }

  private async installOne (pkg: CataloguedPackage, init: InstallInit): Promise<void> {
    this.inFlight.set(pkg.cid, (this.inFlight.get(pkg.cid) ?? 0) + 1)
    try {
      await this.installOneNow(pkg, init)
    } finally {
      const left = (this.inFlight.get(pkg.cid) ?? 1) - 1
      if (left > 0) this.inFlight.set(pkg.cid, left)
      else this.inFlight.delete(pkg.cid)
    }
  }

  private async installOneNow (pkg: CataloguedPackage, init: InstallInit): Promise<void> {
    const { manifest } = pkg
    const now = this.clock()
    const existing = this.installs.get(pkg.cid)
    if (existing?.state === 'installed') {
      this.installs.touch(pkg.cid, now)
      if (init.pin === true && !existing.pinned) await this.pin(pkg.cid, true)
      return
    }
    const totalBytes = packageSize(manifest)
    const progress = (phase: TransferProgress['phase'], bytes: number, providers: number): void => {
      init.onProgress?.({ operation: 'install', name: `${manifest.name}@${manifest.version}`, phase, bytes, totalBytes, providers })
    }
    progress('resolve', 0, 0)
    const dir = this.packageDir(manifest)
    this.installs.begin({ cid: pkg.cid, name: manifest.name, version: manifest.version, dir, size: totalBytes, pinned: init.pin === true }, now)
    const roots = fileRoots(manifest)
    const used = new Set<string>()
    await fetchAndWrite({ fetcher: this.fetcher, blockstore: this.c.blockstore }, {
      manifest,
      dir,
      fetch: {
        roots,
        providers: this.knownProviders(pkg.cid),
        findProviders: signal => this.dhtProviders(roots[0] as CID, signal)
      },
      writeAheadBytes: this.init.writeAheadBytes ?? INSTALL_DEFAULTS.writeAheadBytes,
      ...(init.signal === undefined ? {} : { signal: init.signal }),
      onFetched: (bytes, provider) => { used.add(provider); progress('fetch', bytes, used.size) },
      onWritten: bytes => { progress('write', bytes, used.size) }
    })
    if (init.pin === true) await this.pinBlocks(manifest)
    this.installs.finish(pkg.cid, this.clock())
    progress('done', totalBytes, used.size)
  }

  /** The catalogue's providers, then connected peers (they may hold it too). */
  private knownProviders (manifestCid: string): string[] {
    const found = new Set(this.c.packages.providers(manifestCid))
    for (const peer of this.c.libp2p.getPeers()) found.add(peer.toString())
    found.delete(this.c.self)
    return [...found]
  }

  /** Providers of the first file on the DHT, bounded in time and number; fetching does not wait for them. */
  private async * dhtProviders (firstRoot: CID, signal: AbortSignal): AsyncGenerator<string> {
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(this.init.findProvidersMs ?? INSTALL_DEFAULTS.findProvidersMs)])
    let count = 0
    for await (const provider of this.c.libp2p.contentRouting.findProviders(firstRoot, { signal: bounded })) {
      const peer = provider.id.toString()
      if (peer === this.c.self) continue
      yield peer
      if (++count >= INSTALL_DEFAULTS.maxDhtProviders) return
    }
  }

  private manifestOf (installed: InstalledPackage): Manifest {
    const manifest = this.c.packages.get(installed.cid)?.manifest
    if (manifest === undefined) throw new AgoraError('E1440', `the manifest of ${installed.name}@${installed.version} is no longer in the catalogue`)
    return manifest
  }

  /** A recursive Helia pin on each file root, marked as ours (a publisher's own pins are left alone). */
  private async pinBlocks (manifest: Manifest): Promise<void> {
    for (const root of fileRoots(manifest)) {
      if (await this.ourPin(root) !== undefined) continue
      for await (const _ of this.c.pins.add(root, { metadata: { by: PIN_MARK } })) { /* walks the DAG */ }
    }
  }

  private async unpinBlocks (installed: InstalledPackage): Promise<void> {
    const manifest = this.c.packages.get(installed.cid)?.manifest
    if (manifest === undefined) return
    for (const root of fileRoots(manifest)) {
      if (await this.ourPin(root) === undefined) continue
      for await (const _ of this.c.pins.rm(root)) { /* walks the DAG */ }
    }
  }

  private async ourPin (root: CID): Promise<object | undefined> {
    const pin = await this.c.pins.get(root).catch(() => undefined)
    return pin?.metadata.by === PIN_MARK ? pin : undefined
  }
}
