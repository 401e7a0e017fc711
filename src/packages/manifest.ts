/**
 * The package manifest: what a publisher signs. Stored and exchanged as
 * DAG-CBOR (its CID names the exact version), with file CIDs and the
 * previous version as IPLD links, so a CAR of the manifest can carry the
 * whole package and stock IPLD tools can walk it.
 *
 * In code and JSON the manifest has CIDs as strings; `encodeManifest` /
 * `decodeManifest` convert at the DAG-CBOR edge.
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import semver from 'semver'
import { z } from 'zod'

/** What a package holds; search filters by it. */
export const PACKAGE_KINDS = ['prompt', 'agent', 'tool', 'model', 'adapter', 'dataset', 'eval', 'policy', 'job-template', 'other'] as const
export type PackageKind = typeof PACKAGE_KINDS[number]

/** `publisher/name`: lower-case letters, digits, `.`, `_`, `-`; each part 1–64 characters. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}\/[a-z0-9][a-z0-9._-]{0,63}$/

/** Codecs a file root may have: dag-pb (a chunked file) or raw (one block). */
const FILE_ROOT_CODECS: ReadonlySet<number> = new Set([dagPb.code, raw.code])

function parsedCid (value: string): CID | undefined {
  try { return CID.parse(value) } catch { return undefined }
}

const cidString = z.string().max(128).refine(value => parsedCid(value) !== undefined, 'not a CID')

/*
 * Every block is checked against its CID when fetched, and installs read
 * plain sha256 files: a root with another hash (identity, blake3…) could
 * not be verified the same way, or at all. Refused when the manifest is
 * accepted, not half-way through an install.
 */
const fileRootCid = cidString.refine(value => {
  const cid = parsedCid(value)
  return cid !== undefined && cid.multihash.code === sha256.code && FILE_ROOT_CODECS.has(cid.code)
}, 'a file CID is dag-pb or raw with a sha2-256 hash (the unixfs-v1-2025 profile)')

const manifestCid = cidString.refine(value => {
  const cid = parsedCid(value)
  return cid !== undefined && cid.multihash.code === sha256.code && cid.code === dagCbor.code
}, 'a manifest CID is dag-cbor with a sha2-256 hash')

export const manifestFileSchema = z.object({
  /** Relative path inside the package, `/`-separated, no `..`. */
  path: z.string().min(1).max(1024).refine(p => !p.startsWith('/') && !p.split('/').some(part => part === '..' || part === '.' || part === ''), 'a relative path without . or .. parts'),
  /** UnixFS root of the file (unixfs-v1-2025 profile). */
  cid: fileRootCid,
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Plain sha256 of the bytes, hex (what Ollama and Hugging Face name blobs by). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mediaType: z.string().min(1).max(128)
}).strict()

export const compatSchema = z.object({
  engine: z.string().max(64).optional(),
  baseModelSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  quantisation: z.string().max(32).optional(),
  contextLength: z.number().int().min(1).optional()
}).strict()

export const manifestSchema = z.object({
  /** Format version of the manifest. */
  v: z.literal(1),
  name: z.string().regex(PACKAGE_NAME, 'publisher/name in lower case'),
  version: z.string().max(64).refine(v => semver.valid(v) === v, 'a semantic version such as 1.2.0'),
  kind: z.enum(PACKAGE_KINDS),
  description: z.string().max(2000).default(''),
  license: z.string().max(64).default(''),
  tags: z.array(z.string().regex(/^\S{1,32}$/, 'a tag is 1–32 characters without spaces')).max(32).default([]),
  /** Milliseconds since the epoch, set by the publisher. */
  created: z.number().int().min(0),
  /** Peer id of the key that signs the PACKAGE envelope. */
  publisher: z.string().min(1).max(128),
  files: z.array(manifestFileSchema).min(1).superRefine((files, ctx) => {
    const problem = pathClash(files.map(file => file.path))
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
  }),
  /** Other packages this one needs: name → semver range. */
  dependencies: z.record(z.string().regex(PACKAGE_NAME), z.string().max(64).refine(r => semver.validRange(r) !== null, 'a semver range')).default({}),
  /** For models and adapters: what they run on. */
  compat: compatSchema.optional(),
  /** Manifest CID of the version this one follows. */
  previous: manifestCid.optional(),
  /**
   * The keys (peer ids) that may publish this name from now on; set by a
   * current owner to rotate a key or add a co-publisher. Absent: unchanged.
   */
  owners: z.array(z.string().min(1).max(128)).min(1).max(16).optional()
}).strict()

export type Manifest = z.infer<typeof manifestSchema>
export type ManifestFile = z.infer<typeof manifestFileSchema>

/** DAG-CBOR codec code (0x71) for manifest CIDs. */
export const DAG_CBOR_CODE = dagCbor.code

/** The manifest as DAG-CBOR bytes and their CID (CIDv1, dag-cbor, sha2-256). */
export async function encodeManifest (manifest: Manifest): Promise<{ cid: CID, bytes: Uint8Array }> {
  const node = {
    ...manifest,
    files: manifest.files.map(file => ({ ...file, cid: CID.parse(file.cid) })),
    ...(manifest.previous === undefined ? {} : { previous: CID.parse(manifest.previous) }),
    ...(manifest.compat === undefined ? {} : { compat: stripUndefined(manifest.compat) })
  }
  const bytes = dagCbor.encode(node)
  const cid = CID.createV1(dagCbor.code, await sha256.digest(bytes))
  return { cid, bytes }
}

/**
 * Bytes → manifest, checked against `expected` (the CID the bytes were
 * asked or announced by) and the schema. Throws a ZodError on a bad shape
 * and an Error on a CID mismatch; callers turn them into their own codes.
 */
export async function decodeManifest (bytes: Uint8Array, expected?: CID): Promise<Manifest> {
  if (expected !== undefined) {
    if (expected.code !== dagCbor.code) throw new Error(`manifest CID ${expected.toString()} is not dag-cbor`)
    const digest = await sha256.digest(bytes)
    if (expected.multihash.code !== sha256.code || !equalBytes(digest.bytes, expected.multihash.bytes)) {
      throw new Error(`manifest bytes do not hash to ${expected.toString()}`)
    }
  }
  return decodeManifestBytes(bytes)
}

/** Bytes → manifest with the schema check only, synchronously (for rows already checked when stored). */
export function decodeManifestBytes (bytes: Uint8Array): Manifest {
  const node: unknown = dagCbor.decode(bytes)
  return manifestSchema.parse(linksToStrings(node))
}

function linksToStrings (value: unknown): unknown {
  const cid = CID.asCID(value)
  if (cid !== null) return cid.toString()
  if (Array.isArray(value)) return value.map(linksToStrings)
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, linksToStrings(v)]))
  }
  return value
}

/**
 * Two files at one path, or a file that is also another's folder (`a` and
 * `a/b`), cannot both be installed: one would overwrite or block the other.
 */
function pathClash (paths: readonly string[]): string | undefined {
  const files = new Set<string>()
  for (const path of paths) {
    if (files.has(path)) return `the path ${path} is listed twice`
    files.add(path)
  }
  for (const path of paths) {
    for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
      const folder = path.slice(0, slash)
      if (files.has(folder)) return `${folder} is a file and the folder of ${path}`
    }
  }
  return undefined
}

function stripUndefined<T extends object> (value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

/** Total size of a manifest's files. */
export function packageSize (manifest: Pick<Manifest, 'files'>): number {
  return manifest.files.reduce((sum, file) => sum + file.size, 0)
}
