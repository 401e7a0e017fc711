/**
 * The shapes the packages room shares with the API, the CLI and its own
 * parts: what a search finds, what publish and install report, what is
 * installed. The PACKAGE envelope's payload is `PackagePayload`.
 */
import type { Manifest, PackageKind } from './manifest.ts'

/** Payload of a PACKAGE envelope: the manifest's DAG-CBOR bytes (base64url) and their CID. */
export interface PackagePayload {
  cid: string
  manifest: string
}

/** One package version as search and info show it. */
export interface PackageSummary {
  /** Manifest CID. */
  cid: string
  name: string
  version: string
  kind: PackageKind
  description: string
  tags: string[]
  license: string
  publisher: string
  /** Sum of the file sizes, bytes. */
  size: number
  created: number
  /** Peers known to hold its blocks (this node counts when it does). */
  providers: number
  /** The publisher's reputation as this node sees it, 0..1. */
  publisherReputation: number
}

export interface SearchQuery {
  text: string
  kind?: PackageKind
  /** Most results (default 20, at most 100). */
  limit?: number
  /** How long to wait for peers (default packages.searchTimeoutMs). */
  timeoutMs?: number
  /** Local index only: no peer is asked. */
  localOnly?: boolean
  /** Every matching version, not only the newest of each name. */
  allVersions?: boolean
}

export interface SearchResult {
  results: Array<PackageSummary & { score: number }>
  peersAsked: number
  peersAnswered: number
  elapsedMs: number
}

export interface PublishInit {
  /** A file or a folder on this node's disk. */
  path: string
  name: string
  version: string
  kind: PackageKind
  description?: string
  license?: string
  tags?: string[]
  dependencies?: Record<string, string>
  compat?: Manifest['compat']
  owners?: string[]
}

export interface PublishResult {
  cid: string
  manifest: Manifest
  size: number
  /** Peers the PACKAGE envelope reached by gossip (0 alone). */
  recipients: number
}

/** Progress of a publish or an install, for bars and `package:progress` events. */
export interface TransferProgress {
  operation: 'publish' | 'install'
  name: string
  phase: 'resolve' | 'import' | 'fetch' | 'write' | 'done'
  bytes: number
  totalBytes: number
  /** Peers blocks came from so far (install). */
  providers: number
}

export interface InstallInit {
  /** `publisher/name`, `publisher/name@<version or range>` or a manifest CID. */
  spec: string
  /** Install even when the publisher's reputation is under packages.minPublisherReputation. */
  trustPublisher?: boolean
  /** Keep it out of cache collection. */
  pin?: boolean
  signal?: AbortSignal
  onProgress?: (progress: TransferProgress) => void
}

export type InstallState = 'fetching' | 'installed'

export interface InstalledPackage {
  cid: string
  name: string
  version: string
  /** Where its files are. */
  dir: string
  size: number
  pinned: boolean
  state: InstallState
  installedAt: number | null
  usedAt: number
}

export interface VerifyReport {
  cid: string
  name: string
  version: string
  ok: boolean
  /** Files whose bytes no longer hash to the manifest's sha256 (or are missing). */
  bad: string[]
}

export interface GcResult {
  removed: Array<{ name: string, version: string, size: number }>
  freedBytes: number
}

export interface PackageInfo {
  summary: PackageSummary
  manifest: Manifest
  /** The signed PACKAGE envelope, as received (evidence of who published it). */
  envelope: unknown
  installed: InstalledPackage | undefined
  /** Every version of the name this node knows, newest first. */
  versions: string[]
}

/**
 * What the API and the CLI call: the packages room's front door
 * (`PackageService` in service.ts implements it). A `spec` is
 * `publisher/name`, `publisher/name@<version or range>` or a manifest CID.
 */
export interface PackageApi {
  publish(init: PublishInit, onProgress?: (progress: TransferProgress) => void): Promise<PublishResult>
  search(query: SearchQuery): Promise<SearchResult>
  info(spec: string): Promise<PackageInfo>
  install(init: InstallInit): Promise<InstalledPackage>
  list(): InstalledPackage[]
  /** Re-hash what is installed (one package, or all). */
  verify(spec?: string): Promise<VerifyReport[]>
  remove(spec: string): Promise<InstalledPackage>
  pin(spec: string, pinned: boolean): InstalledPackage | Promise<InstalledPackage>
  /** Collect unpinned packages, least recently used first, until the cache is under packages.cacheBytes. */
  gc(): Promise<GcResult>
  /** A CARv1 of the package (manifest, its envelope, every file block) written to `out` on the node's disk. */
  exportCar(spec: string, out: string): Promise<{ cid: string, bytes: number, blocks: number }>
  /** Blocks of a CAR (each checked against its CID) and its package, as if installed from peers. */
  importCar(path: string, options?: { trustPublisher?: boolean, signal?: AbortSignal }): Promise<{ cid: string, name: string, version: string, blocks: number }>
  /** An installed model package into Ollama's model store, so `ollama run <model>` finds it. */
  exportOllama(spec: string, init: { modelsDir?: string, model?: string }): Promise<{ model: string, modelsDir: string }>
}
