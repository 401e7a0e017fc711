/**
 * The packages control-API shapes (docs/api.md "Packages"): queries and
 * bodies (zod, checked by the server, typed for the client, and checked by
 * `agora pkg` before a request leaves), the progress events of a streamed
 * publish or install, and the JSON answers, which are the packages room's
 * own shapes (src/packages/types.ts).
 *
 * A spec (`publisher/name`, `publisher/name@<version or range>`, a manifest
 * CID) holds `/` and `@`, so it travels in a query (`?spec=`) or a body,
 * never in a path segment.
 */
import { CID } from 'multiformats/cid'
import semver from 'semver'
import { z } from 'zod'
import type { ErrorBody } from '../errors.ts'
import { PACKAGE_KINDS, PACKAGE_NAME, compatSchema } from '../packages/manifest.ts'
import type { GcResult, InstalledPackage, PackageInfo, PublishResult, SearchResult, TransferProgress, VerifyReport } from '../packages/types.ts'
import { queryNumber } from './schemas.ts'

export type { GcResult, InstalledPackage, PackageInfo, PublishResult, SearchResult, TransferProgress, VerifyReport }

/** Longest search wait a caller may ask for (ms). */
export const MAX_SEARCH_TIMEOUT_MS = 60_000

/** Why `spec` is not a package spec, or undefined when it is one. */
export function specProblem (spec: string): string | undefined {
  if (spec.length === 0 || spec.length > 256) return 'a spec is 1 to 256 characters'
  const at = spec.indexOf('@')
  const name = at < 0 ? spec : spec.slice(0, at)
  if (!name.includes('/')) {
    if (at >= 0) return `'${name}' is not publisher/name`
    try {
      CID.parse(spec)
      return undefined
    } catch {
      return `'${spec}' is neither publisher/name nor a CID`
    }
  }
  if (!PACKAGE_NAME.test(name)) return `'${name}' is not publisher/name in lower-case letters, digits, '.', '_' and '-'`
  if (at === spec.length - 1) return 'nothing follows the @: give a version or a range, or leave the @ out'
  if (at >= 0 && semver.validRange(spec.slice(at + 1)) === null) return `'${spec.slice(at + 1)}' is not a version or a semver range`
  return undefined
}

export const packageSpec = z.string().superRefine((spec, ctx) => {
  const problem = specProblem(spec)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem })
})

const flag = z.enum(['0', '1', 'true', 'false']).transform(v => v === '1' || v === 'true')

/** GET /api/v1/packages/search. */
export const searchQuery = z.object({
  q: z.string().max(256).default(''),
  kind: z.enum(PACKAGE_KINDS).optional(),
  limit: queryNumber(z.number().int().min(1).max(100)).optional(),
  /** How long to wait for peers, ms (default packages.searchTimeoutMs). */
  timeout: queryNumber(z.number().int().min(0).max(MAX_SEARCH_TIMEOUT_MS)).optional(),
  /** 1: the local index only. */
  local: flag.optional()
}).strict()
export type SearchQueryInput = z.input<typeof searchQuery>

/** ?spec= of info, remove; body of pin, unpin. */
export const specQuery = z.object({ spec: packageSpec }).strict()

/** ?progress=1 streams the work's progress as server-sent events. */
export const progressQuery = z.object({ progress: flag.optional() }).strict()

/** POST /api/v1/packages/install. */
export const installBody = z.object({
  spec: packageSpec,
  trustPublisher: z.boolean().optional(),
  pin: z.boolean().optional()
}).strict()
export type InstallBody = z.input<typeof installBody>

const tag = z.string().min(1).max(32)

/** POST /api/v1/packages/publish: a file or folder on the node's disk and the manifest's fields. */
export const publishBody = z.object({
  /** Absolute: the node does not know the caller's working directory. */
  path: z.string().min(1).max(4096).refine(p => p.startsWith('/'), 'an absolute path on the node\'s disk'),
  name: z.string().regex(PACKAGE_NAME, 'publisher/name in lower-case letters, digits, ., _ and -'),
  version: z.string().max(64).refine(v => semver.valid(v) === v, 'a semantic version such as 1.2.0'),
  kind: z.enum(PACKAGE_KINDS),
  description: z.string().max(2000).optional(),
  license: z.string().max(64).optional(),
  tags: z.array(tag).max(32).optional(),
  dependencies: z.record(z.string().regex(PACKAGE_NAME), z.string().max(64).refine(r => semver.validRange(r) !== null, 'a semver range')).optional(),
  compat: compatSchema.optional(),
  owners: z.array(z.string().min(1).max(128)).min(1).max(16).optional()
}).strict()
export type PublishBody = z.input<typeof publishBody>

/** POST /api/v1/packages/verify: one package, or every installed one. */
export const verifyBody = z.object({ spec: packageSpec.optional() }).strict()

const absolutePath = z.string().min(1).max(4096).refine(p => p.startsWith('/'), 'an absolute path on the node\'s disk')

/** POST /api/v1/packages/export: a CAR file, or into Ollama's model store (exactly one). */
export const exportBody = z.object({
  spec: packageSpec,
  car: absolutePath.optional(),
  ollama: z.object({
    model: z.string().min(1).max(128).optional(),
    modelsDir: absolutePath.optional()
  }).strict().optional()
}).strict().refine(b => (b.car === undefined) !== (b.ollama === undefined), { message: 'give exactly one of car or ollama', path: ['car'] })
export type ExportBody = z.input<typeof exportBody>

/** POST /api/v1/packages/import. */
export const importBody = z.object({ path: absolutePath, trustPublisher: z.boolean().optional() }).strict()
export type ImportBody = z.input<typeof importBody>

export interface ExportCarJson { cid: string, bytes: number, blocks: number }
export interface ExportOllamaJson { model: string, modelsDir: string }
export type ExportJson = { car: ExportCarJson } | { ollama: ExportOllamaJson }
export interface ImportJson { cid: string, name: string, version: string, blocks: number }

export interface StreamOptions {
  /** Called with each progress event; without it the call answers once, at the end. */
  onProgress?: (progress: TransferProgress) => void
  /** Give up when the stream is silent this long (ms); default the client's timeout. */
  idleTimeoutMs?: number
  signal?: AbortSignal
}

/** One server-sent event of a streamed publish or install: progress, then the result or an error. */
export type ProgressEvent<R> =
  | { type: 'progress', progress: TransferProgress }
  | { type: 'result', result: R }
  | { type: 'error', error: ErrorBody }
