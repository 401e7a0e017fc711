/**
 * Publishing: a file or a folder on this node's disk becomes a signed
 * package. Validate the request, import the files (importer.ts), build the
 * manifest (publisher = this node, previous = the highest earlier version
 * this node knows), sign it, store its DAG-CBOR block, pin the package so
 * no collection takes a publisher's own blocks, hand it to the catalogue
 * (which applies the ownership and immutability rules), gossip it, and
 * provide its roots on the DHT.
 *
 * Publishing name@version again with the same content is a no-op that
 * answers the CID already published; with other content it is refused
 * (E1411): a published version never changes.
 */
import type { GraphWalkerFactory } from '@helia/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import semver from 'semver'
import canonicalize from 'canonicalize'
import { z } from 'zod'
import { AgoraError } from '../errors.ts'
import type { Envelope, NodeIdentity } from '../identity/index.ts'
import type { WritableStorage } from 'ipfs-unixfs-importer'
import { importPlan, planImport, type ImportLimits } from './importer.ts'
import { manifestSchema, type Manifest } from './manifest.ts'
import { signPackage } from './package-envelope.ts'
import { leafSkippingWalker } from './pin-walker.ts'
import { refusePrivatePath } from './private-paths.ts'
import type { PublishInit, PublishResult, TransferProgress } from './types.ts'

/** A version of a name the catalogue holds (part 1's StoredPackage has these fields). */
export interface KnownVersion {
  cid: string
  manifest: Manifest
}

export interface PublishComponents {
  identity: NodeIdentity
  /** Where the files' and the manifest's blocks go (Helia's blockstore). */
  blockstore: WritableStorage
  /** Helia's pins. */
  pins: {
    add(cid: CID, options?: { walker?: GraphWalkerFactory }): AsyncIterable<unknown>
    isPinned(cid: CID): Promise<boolean>
  }
  /** Every version of a name this node knows (part 1's PackageRepository.versions). */
  versions: (name: string) => KnownVersion[]
  /** Part 1's PackageCatalog. */
  catalog: {
    accept(envelope: unknown, from: string | 'local'): Promise<unknown>
    announce(envelope: Envelope): Promise<number>
  }
  /** Provide roots on the DHT, in the background (provider.ts). */
  provide: (cids: CID[]) => void
}

export type PublishLimits = ImportLimits & {
  /** The node's data dir: publish refuses to read it (private-paths.ts). */
  dataDir?: string
}

const peerIdSchema = z.string().min(1).max(128).refine(value => {
  try { peerIdFromString(value); return true } catch { return false }
}, 'a peer id such as 12D3KooW…')

/** What `publish` accepts: the manifest's own rules for every field it shares. */
export const publishInitSchema = manifestSchema.pick({
  name: true, version: true, kind: true, description: true, license: true, tags: true, dependencies: true, compat: true
}).extend({
  path: z.string().min(1).max(4096),
  owners: z.array(peerIdSchema).min(1).max(16).optional()
}).strict()

export type PublishRequest = z.infer<typeof publishInitSchema>

/** Check a publish request; E1435 names the first bad field. */
export function parsePublishInit (init: unknown): PublishRequest {
  const parsed = publishInitSchema.safeParse(init)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? 'request' : issue.path.join('.')
  throw new AgoraError('E1435', `bad publish request: ${field}`, {
    why: issue?.message ?? 'invalid',
    details: { field, issues: parsed.error.issues.map(i => ({ path: i.path.join('.'), message: i.message })) }
  })
}

export async function publish (
  c: PublishComponents,
  limits: PublishLimits,
  init: PublishInit,
  onProgress?: (progress: TransferProgress) => void,
  now: () => number = Date.now
): Promise<PublishResult> {
  const request = parsePublishInit(init)
  if (limits.dataDir !== undefined) await refusePrivatePath(request.path, limits.dataDir)
  const report = (phase: TransferProgress['phase'], bytes: number, totalBytes: number): void => {
    onProgress?.({ operation: 'publish', name: request.name, phase, bytes, totalBytes, providers: 0 })
  }
  const plan = await planImport(request.path, limits)
  report('import', 0, plan.totalBytes)
  const imported = await importPlan(c.blockstore, plan, { onProgress: (bytes, total) => { report('import', bytes, total) } })

  const known = c.versions(request.name)
  const previous = highestBefore(known, request.version)
  const manifest = manifestSchema.parse({
    v: 1,
    name: request.name,
    version: request.version,
    kind: request.kind,
    description: request.description,
    license: request.license,
    tags: [...new Set(request.tags)],
    created: now(),
    publisher: c.identity.peerIdString,
    files: imported.files,
    dependencies: request.dependencies,
    ...(request.compat === undefined ? {} : { compat: request.compat }),
    ...(previous === undefined ? {} : { previous: previous.cid }),
    ...(request.owners === undefined ? {} : { owners: request.owners })
  })

  const same = known.find(v => v.manifest.version === request.version)
  if (same !== undefined) {
    if (sameContent(same.manifest, manifest)) {
      report('done', imported.totalBytes, imported.totalBytes)
      return { cid: same.cid, manifest: same.manifest, size: imported.totalBytes, recipients: 0 }
    }
    throw new AgoraError('E1411', `${request.name}@${request.version} is published already, with other content`, {
      details: { cid: same.cid }
    })
  }

  const { envelope, cid, bytes } = await signPackage(c.identity, manifest)
  await c.blockstore.put(cid, bytes)
  // refusals (a name another key owns…) come before the pin: a refused package's blocks stay collectable
  await c.catalog.accept(envelope, 'local')
  // the manifest links every file root: one recursive pin holds the whole package
  if (!await c.pins.isPinned(cid)) {
    for await (const _ of c.pins.add(cid, { walker: leafSkippingWalker() })) { /* every block of the package, leaves unread */ }
  }
  const recipients = await c.catalog.announce(envelope)
  c.provide([cid, ...manifest.files.map(file => CID.parse(file.cid))])
  report('done', imported.totalBytes, imported.totalBytes)
  return { cid: cid.toString(), manifest, size: imported.totalBytes, recipients }
}

/** The known version of the highest semver below `version`. */
function highestBefore (known: KnownVersion[], version: string): KnownVersion | undefined {
  let best: KnownVersion | undefined
  for (const v of known) {
    if (!semver.lt(v.manifest.version, version)) continue
    if (best === undefined || semver.gt(v.manifest.version, best.manifest.version)) best = v
  }
  return best
}

/** Equal but for `created` (and `previous`, which depends on what this node learned since); key order never matters. */
function sameContent (a: Manifest, b: Manifest): boolean {
  const strip = ({ created: _c, previous: _p, ...rest }: Manifest): unknown => rest
  return canonicalize(strip(a)) === canonicalize(strip(b))
}
