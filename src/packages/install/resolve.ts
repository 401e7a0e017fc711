/**
 * From a spec to the packages to install, dependencies first: each one
 * resolved through the catalogue (name, name@version, name@range, manifest
 * CID), its signed envelope checked again, its publisher's reputation
 * weighed against packages.minPublisherReputation, the whole plan's size
 * against packages.maxPackageBytes.
 */
import { CID } from 'multiformats/cid'
import { AgoraError } from '../../errors.ts'
import type { Envelope } from '../../identity/index.ts'
import { decodeManifest, packageSize, type Manifest } from '../manifest.ts'
import { openPackage } from '../package-envelope.ts'
import { INSTALL_DEFAULTS } from './constants.ts'
import { readBlock } from './read-block.ts'

/** A package the catalogue holds (part 1's StoredPackage). */
export interface CataloguedPackage {
  cid: string
  manifest: Manifest
  envelope: Envelope
  bytes: Uint8Array
  receivedAt: number
}

/** What installs need of the catalogue (part 1's PackageRepository has it). */
export interface PackageLookup {
  get(cid: string): CataloguedPackage | undefined
  resolve(spec: string): CataloguedPackage | undefined
  providers(cid: string): string[]
}

export interface ResolveComponents {
  packages: PackageLookup
  /** Reputation of a peer, 0..1 (the PeerBook). */
  reputation: (peerId: string) => number
  /** This node's peer id: its own packages need no reputation. */
  self: string
  /** For a manifest CID the catalogue does not know: is the block out there at all? */
  blockstore?: { get(cid: CID, options?: { signal?: AbortSignal }): AsyncIterable<Uint8Array> | Iterable<Uint8Array> }
}

export interface ResolveLimits {
  minPublisherReputation: number
  maxPackageBytes: number
  maxManifestBytes: number
  manifestFetchMs?: number
}

export interface ResolveOptions {
  trustPublisher?: boolean
  signal?: AbortSignal
}

/** The packages to install, dependencies before their dependents; the spec's own package last. */
export async function resolvePlan (c: ResolveComponents, limits: ResolveLimits, spec: string, options: ResolveOptions = {}): Promise<CataloguedPackage[]> {
  const root = await resolveRoot(c, limits, spec, options.signal)
  const plan: CataloguedPackage[] = []
  const done = new Set<string>()
  const walk = async (pkg: CataloguedPackage, path: string[]): Promise<void> => {
    if (done.has(pkg.cid)) return
    if (path.includes(pkg.manifest.name)) {
      throw new AgoraError('E1444', 'dependency cycle', { why: [...path, pkg.manifest.name].join(' → ') })
    }
    await check(c, limits, pkg, options.trustPublisher === true)
    for (const [name, range] of Object.entries(pkg.manifest.dependencies)) {
      const dep = c.packages.resolve(`${name}@${range}`)
      if (dep === undefined) {
        throw new AgoraError('E1445', `dependency ${name}@${range} of ${pkg.manifest.name}@${pkg.manifest.version} not found`, { why: 'no version this node knows satisfies the range' })
      }
      await walk(dep, [...path, pkg.manifest.name])
    }
    done.add(pkg.cid)
    plan.push(pkg)
  }
  await walk(root, [])
  const total = plan.reduce((sum, pkg) => sum + packageSize(pkg.manifest), 0)
  if (total > limits.maxPackageBytes) {
    throw new AgoraError('E1443', `${root.manifest.name}@${root.manifest.version} is too big`, { why: `${total} bytes with its dependencies, packages.maxPackageBytes is ${limits.maxPackageBytes}` })
  }
  return plan
}

async function resolveRoot (c: ResolveComponents, limits: ResolveLimits, spec: string, signal?: AbortSignal): Promise<CataloguedPackage> {
  const found = c.packages.resolve(spec)
  if (found !== undefined) return found
  const cid = parseCid(spec)
  if (cid === undefined || c.blockstore === undefined) {
    throw new AgoraError('E1440', `no package matches ${spec}`, { why: 'this node knows no such name, version or manifest CID' })
  }
  // A manifest CID we have no envelope for: look for the block, to say which is missing.
  const timeout = AbortSignal.timeout(limits.manifestFetchMs ?? INSTALL_DEFAULTS.manifestFetchMs)
  let manifest: Manifest
  try {
    manifest = await decodeManifest(await readBlock(c.blockstore, cid, { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) }), cid)
  } catch (err) {
    throw new AgoraError('E1440', `no package matches ${spec}`, { why: 'no peer sent a manifest with that CID', cause: err })
  }
  throw new AgoraError('E1441', `${manifest.name}@${manifest.version} (${spec}) has no signed PACKAGE envelope here`, { why: 'the manifest was found, but not its publisher\'s signed announcement' })
}

/** The signature again (a stored envelope could have been altered on disk), the publisher's reputation. */
async function check (c: ResolveComponents, limits: ResolveLimits, pkg: CataloguedPackage, trustPublisher: boolean): Promise<void> {
  const opened = await openPackage(pkg.envelope, { maxManifestBytes: limits.maxManifestBytes })
  if (opened.cid.toString() !== pkg.cid) {
    throw new AgoraError('E1405', 'tampered manifest', { why: `the envelope names ${opened.cid.toString()}, the catalogue row ${pkg.cid}` })
  }
  const publisher = opened.manifest.publisher
  if (trustPublisher || publisher === c.self) return
  const reputation = c.reputation(publisher)
  if (reputation < limits.minPublisherReputation) {
    throw new AgoraError('E1442', `publisher of ${opened.manifest.name}@${opened.manifest.version} is not trusted enough`, {
      why: `${publisher} has reputation ${reputation.toFixed(2)}, under packages.minPublisherReputation ${limits.minPublisherReputation}; pass --trust-publisher to install it anyway`,
      details: { publisher, reputation, minPublisherReputation: limits.minPublisherReputation }
    })
  }
}

function parseCid (spec: string): CID | undefined {
  try { return CID.parse(spec) } catch { return undefined }
}
