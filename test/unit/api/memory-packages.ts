/**
 * A small but real `PackageApi` for the packages routes' tests: files read
 * from disk and hashed, manifests encoded as DAG-CBOR with their real CIDs,
 * versions resolved by semver, installs copied into a folder, progress
 * reported as bytes move, and the room's own error codes where it would
 * refuse. No network: the routes, the client and the CLI are what is tested.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import semver from 'semver'
import { AgoraError } from '../../../src/errors.ts'
import { encodeManifest, type Manifest } from '../../../src/packages/manifest.ts'
import type { GcResult, InstalledPackage, InstallInit, PackageApi, PackageInfo, PackageSummary, PublishInit, PublishResult, SearchQuery, SearchResult, TransferProgress, VerifyReport } from '../../../src/packages/types.ts'

export const PUBLISHER = '12D3KooWGRUVZPFK7bHNnRSZyLYs8Y2JnDbxDgxLZKdnzqkNaxSr'
/** Progress is reported every this many bytes. */
const STEP = 64 * 1024

interface Stored { cid: string, manifest: Manifest, reputation: number, data: Map<string, Uint8Array>, stepDelayMs: number }

export class MemoryPackages implements PackageApi {
  readonly calls: unknown[] = []
  private readonly catalogue = new Map<string, Stored>()
  private readonly installed = new Map<string, InstalledPackage>()
  private readonly dir: string

  constructor (dir: string) {
    this.dir = dir
  }

  /** Put a package in the catalogue as if it came from a peer with that publisher reputation. */
  async add (name: string, version: string, files: Record<string, string>, init: { reputation?: number, kind?: Manifest['kind'], description?: string, stepDelayMs?: number } = {}): Promise<string> {
    const data = new Map(Object.entries(files).map(([path, text]) => [path, new TextEncoder().encode(text)]))
    return await this.store(name, version, data, { kind: init.kind ?? 'prompt', description: init.description ?? '' }, init.reputation ?? 0.9, init.stepDelayMs ?? 0)
  }

  async publish (init: PublishInit, onProgress?: (progress: TransferProgress) => void): Promise<PublishResult> {
    this.calls.push(['publish', init])
    let paths: string[]
    try {
      paths = statSync(init.path).isDirectory() ? readdirSync(init.path, { recursive: true, encoding: 'utf8' }).map(p => join(init.path, p)).filter(p => statSync(p).isFile()) : [init.path]
    } catch {
      throw new AgoraError('E1430', `cannot read ${init.path}`)
    }
    const data = new Map(paths.map(p => [statSync(init.path).isDirectory() ? relative(init.path, p) : p.split('/').at(-1) as string, new Uint8Array(readFileSync(p))]))
    const total = [...data.values()].reduce((n, b) => n + b.length, 0)
    for (let bytes = 0; bytes < total; bytes = Math.min(total, bytes + STEP)) onProgress?.({ operation: 'publish', name: init.name, phase: 'import', bytes, totalBytes: total, providers: 0 })
    onProgress?.({ operation: 'publish', name: init.name, phase: 'done', bytes: total, totalBytes: total, providers: 0 })
    const cid = await this.store(init.name, init.version, data, init, 1, 0)
    const manifest = (this.catalogue.get(cid) as Stored).manifest
    return { cid, manifest, size: total, recipients: 0 }
  }

  async search (query: SearchQuery): Promise<SearchResult> {
    this.calls.push(['search', query])
    const words = query.text.toLowerCase().split(/\s+/).filter(w => w !== '')
    const results = [...this.catalogue.values()]
      .filter(p => query.kind === undefined || p.manifest.kind === query.kind)
      .filter(p => words.every(w => `${p.manifest.name} ${p.manifest.description} ${p.manifest.tags.join(' ')}`.includes(w)))
      .slice(0, query.limit ?? 20)
      .map(p => ({ ...this.summary(p), score: 1 }))
    return { results, peersAsked: query.localOnly === true ? 0 : 2, peersAnswered: query.localOnly === true ? 0 : 1, elapsedMs: 3 }
  }

  async info (spec: string): Promise<PackageInfo> {
    const p = this.resolve(spec, 'E1437')
    const versions = [...this.catalogue.values()].filter(o => o.manifest.name === p.manifest.name).map(o => o.manifest.version).sort(semver.rcompare)
    return { summary: this.summary(p), manifest: p.manifest, envelope: { kind: 'PACKAGE', from: p.manifest.publisher }, installed: this.installed.get(p.cid), versions }
  }

  async install (init: InstallInit): Promise<InstalledPackage> {
    this.calls.push(['install', { ...init, signal: undefined, onProgress: undefined }])
    const p = this.resolve(init.spec, 'E1440')
    const name = p.manifest.name
    init.onProgress?.({ operation: 'install', name, phase: 'resolve', bytes: 0, totalBytes: 0, providers: 0 })
    if (p.reputation < 0.5 && init.trustPublisher !== true) throw new AgoraError('E1442', `the publisher of ${name} has a reputation of ${p.reputation}, under 0.5`)
    const total = [...p.data.values()].reduce((n, b) => n + b.length, 0)
    for (let bytes = 0; bytes < total; bytes = Math.min(total, bytes + STEP)) {
      init.signal?.throwIfAborted()
      // a slow package: its progress can be watched
      if (p.stepDelayMs > 0) await new Promise(resolve => setTimeout(resolve, p.stepDelayMs))
      init.onProgress?.({ operation: 'install', name, phase: 'fetch', bytes, totalBytes: total, providers: 2 })
    }
    const dir = join(this.dir, name.replace('/', '__'), p.manifest.version)
    for (const [path, bytes] of p.data) {
      mkdirSync(join(dir, path, '..'), { recursive: true })
      writeFileSync(join(dir, path), bytes)
    }
    init.onProgress?.({ operation: 'install', name, phase: 'done', bytes: total, totalBytes: total, providers: 2 })
    const entry: InstalledPackage = { cid: p.cid, name, version: p.manifest.version, dir, size: total, pinned: init.pin === true, state: 'installed', installedAt: Date.now(), usedAt: Date.now() }
    this.installed.set(p.cid, entry)
    return entry
  }

  list (): InstalledPackage[] { return [...this.installed.values()] }

  async verify (spec?: string): Promise<VerifyReport[]> {
    const targets = spec === undefined ? this.list() : [this.installedFor(spec)]
    return targets.map(entry => {
      const p = this.catalogue.get(entry.cid) as Stored
      const bad = p.manifest.files.filter(f => {
        try { return createHash('sha256').update(readFileSync(join(entry.dir, f.path))).digest('hex') !== f.sha256 } catch { return true }
      }).map(f => f.path)
      return { cid: entry.cid, name: entry.name, version: entry.version, ok: bad.length === 0, bad }
    })
  }

  async remove (spec: string): Promise<InstalledPackage> {
    const entry = this.installedFor(spec)
    rmSync(entry.dir, { recursive: true, force: true })
    this.installed.delete(entry.cid)
    return entry
  }

  pin (spec: string, pinned: boolean): InstalledPackage {
    const entry = { ...this.installedFor(spec), pinned }
    this.installed.set(entry.cid, entry)
    return entry
  }

  async gc (): Promise<GcResult> {
    const removed = this.list().filter(p => !p.pinned)
    for (const p of removed) await this.remove(p.cid)
    return { removed: removed.map(p => ({ name: p.name, version: p.version, size: p.size })), freedBytes: removed.reduce((n, p) => n + p.size, 0) }
  }

  async exportCar (spec: string, out: string): Promise<{ cid: string, bytes: number, blocks: number }> {
    const entry = this.installedFor(spec)
    const blocks = [...(this.catalogue.get(entry.cid) as Stored).data.values()]
    writeFileSync(out, Buffer.concat(blocks))
    return { cid: entry.cid, bytes: statSync(out).size, blocks: blocks.length + 1 }
  }

  async importCar (path: string): Promise<{ cid: string, name: string, version: string, blocks: number }> {
    this.calls.push(['importCar', path])
    throw new AgoraError('E1467', `${path} is not a CAR of a package`)
  }

  async exportOllama (spec: string, init: { modelsDir?: string, model?: string }): Promise<{ model: string, modelsDir: string }> {
    const entry = this.installedFor(spec)
    if (this.catalogue.get(entry.cid)?.manifest.kind !== 'model') throw new AgoraError('E1450', `${entry.name} is not a model package`)
    return { model: init.model ?? entry.name.split('/')[1] as string, modelsDir: init.modelsDir ?? '/home/user/.ollama/models' }
  }

  private async store (name: string, version: string, data: Map<string, Uint8Array>, init: Partial<PublishInit>, reputation: number, stepDelayMs: number): Promise<string> {
    const files = await Promise.all([...data].map(async ([path, bytes]) => ({
      path, cid: CID.create(1, raw.code, await sha256.digest(bytes)).toString(), size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), mediaType: 'application/octet-stream'
    })))
    const manifest: Manifest = { v: 1, name, version, kind: init.kind ?? 'other', description: init.description ?? '', license: init.license ?? '', tags: init.tags ?? [], created: Date.now(), publisher: PUBLISHER, files, dependencies: init.dependencies ?? {} }
    const { cid } = await encodeManifest(manifest)
    this.catalogue.set(cid.toString(), { cid: cid.toString(), manifest, reputation, data, stepDelayMs })
    return cid.toString()
  }

  private summary (p: Stored): PackageSummary {
    const { manifest: m } = p
    return { cid: p.cid, name: m.name, version: m.version, kind: m.kind, description: m.description, tags: m.tags, license: m.license, publisher: m.publisher, size: m.files.reduce((n, f) => n + f.size, 0), created: m.created, providers: 1, publisherReputation: p.reputation }
  }

  private resolve (spec: string, code: 'E1437' | 'E1440'): Stored {
    const direct = this.catalogue.get(spec)
    if (direct !== undefined) return direct
    const at = spec.indexOf('@')
    const name = at < 0 ? spec : spec.slice(0, at)
    const candidates = [...this.catalogue.values()].filter(p => p.manifest.name === name)
    const best = semver.maxSatisfying(candidates.map(p => p.manifest.version), at < 0 ? '*' : spec.slice(at + 1))
    const found = candidates.find(p => p.manifest.version === best)
    if (found === undefined) throw new AgoraError(code, `no package matches ${spec}`)
    return found
  }

  private installedFor (spec: string): InstalledPackage {
    const entry = this.installed.get(spec) ?? this.list().filter(p => p.name === spec.split('@')[0] && (spec.includes('@') ? semver.satisfies(p.version, spec.slice(spec.indexOf('@') + 1)) : true)).at(0)
    if (entry === undefined) throw new AgoraError('E1448', `${spec} is not installed`)
    return entry
  }
}
