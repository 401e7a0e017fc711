/**
 * Turning `agora pkg` flags into the packages API's bodies and queries:
 * paths resolved against the CLI's working directory (the node does not
 * know it), comma lists, `name=range` dependencies, durations; then checked
 * with the route's own schema, so a bad value is refused here naming the
 * flag (E1473), a bad spec with E1472, before anything is sent.
 */
import { resolve } from 'node:path'
import { AgoraError } from '../errors.ts'
import { parseDuration } from './jobs-args.ts'
import type { ExportBody, PublishBody, SearchQueryInput } from '../client/packages-schemas.ts'
import type { z } from 'zod'

export interface PublishFlags {
  name: string
  /** `--version` (renamed by packageVersionArgv); checked here, so a missing one is named as the user writes it. */
  packageVersion?: string
  kind: string
  description?: string
  license?: string
  tags?: string
  dep: string[]
  owner: string[]
  engine?: string
  baseModel?: string
  quantisation?: string
  contextLength?: string
}

export interface SearchFlags {
  kind?: string
  limit?: string
  timeout?: string
  local?: boolean
}

export interface ExportFlags {
  car?: string
  ollama?: boolean
  model?: string
  modelsDir?: string
}

/**
 * `agora pkg publish … --version 1.2.0`: the package's version, not agora's.
 * The program reads `--version` wherever it stands, so after `pkg publish`
 * it becomes `--package-version` before commander sees it.
 */
export function packageVersionArgv (argv: string[]): string[] {
  const words: number[] = []
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i] as string
    if (arg === '--') break
    if (arg === '-d' || arg === '--data-dir' || arg === '-c' || arg === '--config') { i++; continue }
    if (!arg.startsWith('-')) words.push(i)
  }
  const [noun, verb] = words
  if (noun === undefined || verb === undefined || argv[noun] !== 'pkg' || argv[verb] !== 'publish') return argv
  // after `--` every word is an operand (a path may be named --version)
  const end = argv.indexOf('--', verb)
  return argv.map((arg, i) => {
    if (i <= verb || (end !== -1 && i > end)) return arg
    if (arg === '--version') return '--package-version'
    return arg.startsWith('--version=') ? `--package-version=${arg.slice('--version='.length)}` : arg
  })
}

/** "a, b,c" → ['a', 'b', 'c']. */
export function commaList (text: string): string[] {
  return text.split(',').map(t => t.trim()).filter(t => t !== '')
}

/** `--dep publisher/name=^1.2` (repeatable) → { 'publisher/name': '^1.2' }. */
export function parseDependencies (pairs: string[]): Record<string, string> {
  const dependencies: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new AgoraError('E1473', `--dep takes publisher/name=range, not '${pair}'`, { hint: 'e.g. --dep acme/tokenizer=^1.0' })
    dependencies[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return dependencies
}

/** The publish body: the path made absolute here, the manifest's fields from the flags. */
export async function publishBody (path: string, flags: PublishFlags, cwd = process.cwd()): Promise<PublishBody> {
  if (flags.packageVersion === undefined) throw new AgoraError('E1473', '--version is required', { hint: 'give the package\'s version, e.g. --version 1.2.0' })
  const contextLength = flags.contextLength === undefined ? undefined : Number(flags.contextLength)
  const compat = {
    ...(flags.engine === undefined ? {} : { engine: flags.engine }),
    ...(flags.baseModel === undefined ? {} : { baseModelSha256: flags.baseModel }),
    ...(flags.quantisation === undefined ? {} : { quantisation: flags.quantisation }),
    ...(contextLength === undefined ? {} : { contextLength })
  }
  const body = {
    path: resolve(cwd, path),
    name: flags.name,
    version: flags.packageVersion,
    kind: flags.kind,
    ...(flags.description === undefined ? {} : { description: flags.description }),
    ...(flags.license === undefined ? {} : { license: flags.license }),
    ...(flags.tags === undefined ? {} : { tags: commaList(flags.tags) }),
    ...(flags.dep.length === 0 ? {} : { dependencies: parseDependencies(flags.dep) }),
    ...(Object.keys(compat).length === 0 ? {} : { compat }),
    ...(flags.owner.length === 0 ? {} : { owners: flags.owner })
  }
  const schemas = await import('../client/packages-schemas.ts')
  return checkPkgFlags(schemas.publishBody, body, {
    path: '<path>', name: '--name', version: '--version', kind: '--kind', description: '--description', license: '--license', tags: '--tags',
    dependencies: '--dep', compat: '--engine/--base-model/--quantisation/--context-length', owners: '--owner'
  }, 'publish') as PublishBody
}

/** The search query: words, --kind, --limit, --timeout (a duration: 3s, 500ms). */
export async function searchQuery (words: string[], flags: SearchFlags): Promise<SearchQueryInput> {
  let timeout: number | undefined
  if (flags.timeout !== undefined) {
    timeout = parseDuration(flags.timeout.trim())
    if (timeout === undefined) throw new AgoraError('E1473', `--timeout takes a duration, not '${flags.timeout}'`, { hint: 'e.g. --timeout 3s or --timeout 500ms' })
  }
  const query = {
    q: words.join(' '),
    ...(flags.kind === undefined ? {} : { kind: flags.kind }),
    ...(flags.limit === undefined ? {} : { limit: flags.limit }),
    ...(timeout === undefined ? {} : { timeout: String(Math.round(timeout)) }),
    ...(flags.local === true ? { local: '1' } : {})
  }
  const schemas = await import('../client/packages-schemas.ts')
  checkPkgFlags(schemas.searchQuery, query, { q: '<words>', kind: '--kind', limit: '--limit', timeout: '--timeout', local: '--local' }, 'search')
  return query as SearchQueryInput
}

/** The export body: exactly one of --car <file> (made absolute here) or --ollama. */
export async function exportBody (spec: string, flags: ExportFlags, cwd = process.cwd()): Promise<ExportBody> {
  const car = flags.car !== undefined
  if (car === (flags.ollama === true)) throw new AgoraError('E1474', car ? '--car and --ollama cannot go together' : 'say where to export: --car <file> or --ollama')
  if (car && (flags.model !== undefined || flags.modelsDir !== undefined)) throw new AgoraError('E1474', '--model and --models-dir go with --ollama, not --car')
  const body = car
    ? { spec, car: resolve(cwd, flags.car as string) }
    : { spec, ollama: { ...(flags.model === undefined ? {} : { model: flags.model }), ...(flags.modelsDir === undefined ? {} : { modelsDir: resolve(cwd, flags.modelsDir) }) } }
  const schemas = await import('../client/packages-schemas.ts')
  return checkPkgFlags(schemas.exportBody, body, { spec: '<spec>', car: '--car', ollama: '--ollama' }, 'export') as ExportBody
}

/** A spec argument checked before it is sent (E1472). */
export async function checkSpec (spec: string): Promise<string> {
  const { specProblem } = await import('../client/packages-schemas.ts')
  const problem = specProblem(spec)
  if (problem !== undefined) throw new AgoraError('E1472', `'${spec}' is not a package spec`, { why: problem })
  return spec
}

/** `value` parsed by `schema`; E1472 for the spec, E1473 naming the flag of any other problem. */
function checkPkgFlags<S extends z.ZodType> (schema: S, value: unknown, flags: Record<string, string>, verb: string): z.infer<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = String(issue?.path[0] ?? '')
  const code = field === 'spec' ? 'E1472' : 'E1473'
  throw new AgoraError(code, `${flags[field] ?? field}: ${issue?.message ?? 'invalid'}`, { hint: `see \`agora pkg ${verb} --help\`` })
}
