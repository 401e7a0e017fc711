/**
 * The config schema seen as a flat list of keys: every leaf (`api.port`)
 * with its kind, default, description and what values it allows, plus the
 * sections (`api`, `network.dht`). The loader, the template, the editor and
 * error messages all read the schema through this file.
 */
import { z } from 'zod'
import { configSchema, creditsConfig } from './schema.ts'
import { VERSION_KEY } from './version.ts'

export type LeafKind = 'string' | 'number' | 'boolean' | 'enum' | 'array' | 'map'

export interface LeafSpec {
  /** Dotted key, e.g. `network.dht.addressFilter`. */
  key: string
  path: readonly string[]
  kind: LeafKind
  description: string
  defaultValue: unknown
  /** What the value may be, for humans: "an integer 0..65535". */
  allowed: string
  /** Allowed values of an enum leaf. */
  values?: readonly string[]
  /** Environment variable that overrides it: `AGORA_NETWORK_DHT_ADDRESS_FILTER`. */
  env: string
}

export interface SectionSpec {
  key: string
  path: readonly string[]
  description: string
  /** Direct children, in schema order: leaves and sub-sections. */
  children: ReadonlyArray<LeafSpec | SectionSpec>
}

export function isSection (spec: LeafSpec | SectionSpec): spec is SectionSpec {
  return 'children' in spec
}

let cached: { root: SectionSpec, leaves: Map<string, LeafSpec>, sections: Map<string, SectionSpec> } | undefined

function tables (): NonNullable<typeof cached> {
  if (cached === undefined) {
    const leaves = new Map<string, LeafSpec>()
    const sections = new Map<string, SectionSpec>()
    const root = walkObject(configSchema, [], 'Agora configuration', leaves, sections)
    cached = { root, leaves, sections }
  }
  return cached
}

/** The whole schema as a tree of sections and leaves. */
export function configTree (): SectionSpec {
  return tables().root
}

/** Every dotted leaf key, in schema order. */
export function configKeys (): string[] {
  return [...tables().leaves.keys()]
}

export function leafSpecs (): LeafSpec[] {
  return [...tables().leaves.values()]
}

export function leafSpec (key: string): LeafSpec | undefined {
  return tables().leaves.get(key)
}

export function sectionSpec (key: string): SectionSpec | undefined {
  return tables().sections.get(key)
}

/** `networkDht.addressFilter` → `AGORA_NETWORK_DHT_ADDRESS_FILTER`. */
export function envNameOf (path: readonly string[]): string {
  return 'AGORA_' + path.map(p => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')
}

/** `network.dht.addressFilter` → `--network-dht-address-filter` (the default flag origin). */
export function flagNameOf (path: readonly string[]): string {
  return '--' + path.map(p => p.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()).join('-')
}

function walkObject (schema: z.ZodObject, path: string[], description: string, leaves: Map<string, LeafSpec>, sections: Map<string, SectionSpec>): SectionSpec {
  const children: Array<LeafSpec | SectionSpec> = []
  const section: SectionSpec = { key: path.join('.'), path, description, children }
  if (path.length > 0) sections.set(section.key, section)
  for (const [name, field] of Object.entries(schema.shape)) {
    // the file's format version is metadata, not a setting (version.ts)
    if (path.length === 0 && name === VERSION_KEY) continue
    const childPath = [...path, name]
    const { inner, defaultValue } = unwrapDefault(field)
    const text = field.description ?? inner.description ?? ''
    if (inner instanceof z.ZodObject) {
      children.push(walkObject(inner, childPath, text, leaves, sections))
      continue
    }
    const leaf = leafOf(inner, childPath, text, defaultValue)
    leaves.set(leaf.key, leaf)
    children.push(leaf)
  }
  return section
}

function unwrapDefault (field: z.core.SomeType): { inner: z.ZodType, defaultValue: unknown } {
  let inner = field as z.ZodType
  let defaultValue: unknown
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) {
    if (inner instanceof z.ZodDefault && defaultValue === undefined) defaultValue = structuredClone(inner.def.defaultValue)
    inner = inner.unwrap() as z.ZodType
  }
  return { inner, defaultValue }
}

function leafOf (schema: z.ZodType, path: string[], description: string, defaultValue: unknown): LeafSpec {
  const base = { key: path.join('.'), path, description, defaultValue, env: envNameOf(path) }
  if (schema instanceof z.ZodEnum) {
    const values = schema.options.map(String)
    return { ...base, kind: 'enum', values, allowed: `one of ${values.join(', ')}` }
  }
  if (schema instanceof z.ZodArray) {
    return { ...base, kind: 'array', allowed: `a list of ${plural(allowedOf(schema.element as z.ZodType))}` }
  }
  if (schema instanceof z.ZodRecord) {
    return { ...base, kind: 'map', allowed: `a JSON object of ${plural(allowedOf(schema.valueType as z.ZodType))}, by name` }
  }
  const kind = schema instanceof z.ZodNumber ? 'number' : schema instanceof z.ZodBoolean ? 'boolean' : 'string'
  return { ...base, kind, allowed: allowedOf(schema) }
}

function allowedOf (schema: z.ZodType): string {
  if (schema === creditsConfig) return 'credits: a decimal number, not negative, with at most six decimals (e.g. 0.5 or "0.000001")'
  if (schema instanceof z.ZodBoolean) return 'true or false'
  if (schema instanceof z.ZodNumber) {
    const noun = schema.format !== null && schema.format.includes('int') ? 'an integer' : 'a number'
    const min = schema.minValue !== null && Number.isFinite(schema.minValue) && schema.minValue > Number.MIN_SAFE_INTEGER ? schema.minValue : undefined
    const max = schema.maxValue !== null && Number.isFinite(schema.maxValue) && schema.maxValue < Number.MAX_SAFE_INTEGER ? schema.maxValue : undefined
    if (min !== undefined && max !== undefined) return `${noun} ${min}..${max}`
    if (min !== undefined) return `${noun} >= ${min}`
    if (max !== undefined) return `${noun} <= ${max}`
    return noun
  }
  if (schema instanceof z.ZodString) {
    const min = schema.minLength ?? 0
    const parts = [min === 1 ? 'a non-empty string' : 'a string']
    for (const check of schema.def.checks ?? []) {
      if (check instanceof z.core.$ZodCheckRegex) parts.push(`matching ${String(check._zod.def.pattern)}`)
    }
    if (min > 1) parts.push(`at least ${min} characters`)
    if (schema.maxLength !== null) parts.push(`up to ${schema.maxLength} characters`)
    return parts.join(', ')
  }
  if (schema instanceof z.ZodEnum) return `one of ${schema.options.map(String).join(', ')}`
  return 'a value'
}

function plural (allowed: string): string {
  return allowed.replace(/^an? (non-empty )?(string|integer|number)/, '$1$2s')
}
