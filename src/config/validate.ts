/**
 * Merging the layers (file → env → flags) over the defaults, validating the
 * result against the schema, and turning each schema issue into a message
 * that names the key, the bad value, where it came from and how to fix it.
 */
import type { z } from 'zod'
import { AgoraError } from '../errors.ts'
import { configSchema } from './schema.ts'
import type { AgoraConfig } from './schema.ts'
import { isSection, leafSpec, leafSpecs, sectionSpec } from './keys.ts'
import type { LeafSpec, SectionSpec } from './keys.ts'
import { deepMerge, getPath, hasPath, isPlainObject } from './merge.ts'
import type { ConfigPath } from './merge.ts'
import type { ConfigLayer } from './sources.ts'
import { nearest } from './suggest.ts'
import type { ConfigIssue, ConfigSource } from './types.ts'

export interface ResolvedConfig {
  config: AgoraConfig
  sources: Record<string, ConfigSource>
}

/** Merge the layers (later ones win), validate, and record where each leaf came from. Throws E300/E301 listing every issue. */
export function resolveLayers (layers: readonly ConfigLayer[]): ResolvedConfig {
  const issues = layers.flatMap(l => l.issues)
  const raw = dropEmptySections(layers.reduce<Record<string, unknown>>((acc, l) => deepMerge(acc, l.data), {}))
  const result = configSchema.safeParse(raw)
  if (!result.success) issues.push(...result.error.issues.flatMap(i => issueOf(i, layers, raw)))
  if (issues.length > 0) throw configError(sortIssues(issues))
  if (!result.success) throw new AgoraError('E300', 'invalid configuration')
  const sources: Record<string, ConfigSource> = {}
  for (const leaf of leafSpecs()) {
    const layer = layerOf(layers, leaf.path)
    const origin = layer?.originOf(leaf.path)
    sources[leaf.key] = layer === undefined ? { source: 'default' } : origin === undefined ? { source: layer.source } : { source: layer.source, origin }
  }
  return { config: result.data, sources }
}

/** One AgoraError for a list of issues: the first in the message, all in `details.issues`. */
export function configError (issues: readonly ConfigIssue[]): AgoraError {
  const [first, ...rest] = issues
  if (first === undefined) return new AgoraError('E300', 'invalid configuration')
  const more = rest.length === 0 ? '' : ` (${rest.length} more: ${rest.map(i => i.message).join('; ')})`
  return new AgoraError(first.code, first.message, { why: first.why + more, hint: first.hint, details: { issues } })
}

/** The nearest valid key (leaf or section) to a misspelt one. */
export function suggestKey (key: string): string | undefined {
  const leaves = leafSpecs()
  const sections = leaves.flatMap(l => l.path.slice(0, -1).map((_, i) => l.path.slice(0, i + 1).join('.')))
  const found = nearest(key, [...leaves.map(l => l.key), ...new Set(sections)])
  if (found !== undefined) return found
  // a right name in the wrong section: `port` or `network.port` → `api.port`
  const name = key.split('.').at(-1)?.toLowerCase()
  return leaves.find(l => l.path.at(-1)?.toLowerCase() === name)?.key
}

/** What a key is for and what it allows, for hints. */
export function keyHint (key: string): string | undefined {
  const leaf = leafSpec(key)
  if (leaf !== undefined) return `${leaf.key}: ${leaf.description}; allowed: ${leaf.allowed}`
  const section = sectionSpec(key)
  if (section !== undefined) return `'${key}' is a section (${section.description}) holding the keys ${childNames(section)}`
  return undefined
}

function issueOf (issue: z.core.$ZodIssue, layers: readonly ConfigLayer[], raw: Record<string, unknown>): ConfigIssue[] {
  const path: Array<string | number> = issue.path.map(p => typeof p === 'number' ? p : String(p))
  if (issue.code === 'unrecognized_keys') return issue.keys.map(k => unknownKeyIssue([...path, k], layers, raw))
  const key = path.join('.')
  const value = getPath(raw, path)
  const layer = layerOf(layers, path)
  const origin = layer?.originOf(path)
  const spec = specAt(path)
  const hint = spec === undefined ? 'fix the value as described, then run `agora config validate`' : keyHint(spec.key) ?? ''
  return [{
    code: 'E300',
    key,
    message: `invalid value ${show(value)} for config key '${key}'${where(layer, origin)}`,
    why: issue.message,
    hint,
    value,
    ...(layer !== undefined ? { source: layer.source } : {}),
    ...(origin !== undefined ? { origin } : {})
  }]
}

function unknownKeyIssue (path: ConfigPath, layers: readonly ConfigLayer[], raw: Record<string, unknown>): ConfigIssue {
  const key = path.join('.')
  const layer = layerOf(layers, path)
  const origin = layer?.originOf(path)
  const suggestion = suggestKey(key)
  const parent = path.slice(0, -1).join('.')
  const section = parent === '' ? undefined : sectionSpec(parent)
  const why = suggestion !== undefined
    ? `did you mean '${suggestion}'?`
    : section !== undefined ? `section '${parent}' has the keys ${childNames(section)}` : 'no config key has this name'
  return {
    code: 'E301',
    key,
    message: `unknown config key '${key}'${where(layer, origin)}`,
    why,
    hint: 'remove the key or correct its spelling; `agora config init --path <file>` writes every key with its description',
    value: getPath(raw, path),
    ...(layer !== undefined ? { source: layer.source } : {}),
    ...(origin !== undefined ? { origin } : {}),
    ...(suggestion !== undefined ? { suggestion } : {})
  }
}

/** The deepest leaf or section spec along `path` (array indexes end at the list's leaf). */
function specAt (path: ConfigPath): LeafSpec | SectionSpec | undefined {
  for (let i = path.length; i > 0; i--) {
    const key = path.slice(0, i).join('.')
    const spec = leafSpec(key) ?? sectionSpec(key)
    if (spec !== undefined) return spec
  }
  return undefined
}

/** The last layer (highest precedence) that sets `path`. */
function layerOf (layers: readonly ConfigLayer[], path: ConfigPath): ConfigLayer | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]
    if (layer !== undefined && hasPath(layer.data, path)) return layer
  }
  return undefined
}

function where (layer: ConfigLayer | undefined, origin: string | undefined): string {
  if (layer === undefined || origin === undefined) return ''
  switch (layer.source) {
    case 'file': return ` in ${origin}`
    case 'env': return ` from env ${origin}`
    case 'flag': return ` from flag ${origin}`
  }
}

function childNames (section: SectionSpec): string {
  return section.children.map(c => isSection(c) ? `${c.path.at(-1) ?? ''}.*` : c.path.at(-1) ?? '').join(', ')
}

function show (value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value)
  return text.length > 80 ? text.slice(0, 77) + '...' : text
}

/** `section: null` (a section whose keys are all commented out) means "all defaults". */
function dropEmptySections (obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(obj)) {
    const full = prefix === '' ? key : `${prefix}.${key}`
    const section = sectionSpec(full) !== undefined
    if (value === null && section) continue
    out[key] = isPlainObject(value) && section ? dropEmptySections(value, full) : value
  }
  return out
}

/** File issues first, in line order; then env, then flags. */
function sortIssues (issues: ConfigIssue[]): ConfigIssue[] {
  const order = { file: 0, env: 1, flag: 2 }
  const rank = (i: ConfigIssue): number => i.source === undefined ? 3 : order[i.source]
  const line = (i: ConfigIssue): number => i.source === 'file' ? Number(/:(\d+)(:\d+)?$/.exec(i.origin ?? '')?.[1] ?? 0) : 0
  return [...issues].sort((a, b) => rank(a) - rank(b) || line(a) - line(b))
}
