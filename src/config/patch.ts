/**
 * A change to a running node's config (PATCH /api/v1/config): a JSON merge
 * patch (RFC 7386: objects merge, anything else replaces, null puts a key
 * back to its default) over the effective config, validated whole by the
 * same schema and messages as the loader, listed key by key, and written to
 * the config file with comments kept.
 */
import { isScalar, parseDocument } from 'yaml'
import { AgoraError, messageOf } from '../errors.ts'
import type { AgoraConfig } from './schema.ts'
import { fillEmptySections, writeFileAtomic } from './edit.ts'
import { leafSpecs } from './keys.ts'
import { getPath, isPlainObject } from './merge.ts'
import { isFile, parseConfigText, readConfigFile } from './sources.ts'
import { resolveLayers } from './validate.ts'
import { CONFIG_VERSION, VERSION_KEY } from './version.ts'
import { needsRestart } from './hot-keys.ts'

export { HOT_KEYS, isHotKey, needsRestart } from './hot-keys.ts'
export type { HotKey } from './hot-keys.ts'

export interface ConfigChange {
  /** Dotted leaf key, e.g. `log.level`. */
  key: string
  path: readonly string[]
  before: unknown
  after: unknown
  /** Set to null in the patch: back to its default, and taken out of the file. */
  reset: boolean
  /** Written to the file but used only from the next start. */
  restart: boolean
}

export interface ConfigPatchPlan {
  /** The effective config once every change is in force. */
  config: AgoraConfig
  changes: ConfigChange[]
}

/** Validate `patch` over `current`: the changed keys, or E1332 (not an object, or `version`), E300/E301 as the loader words them. */
export function planConfigPatch (current: AgoraConfig, patch: unknown): ConfigPatchPlan {
  if (!isPlainObject(patch)) throw new AgoraError('E1332', 'a config change is a JSON object of sections', { why: `got ${Array.isArray(patch) ? 'a list' : typeof patch}` })
  if (Object.hasOwn(patch, VERSION_KEY)) throw new AgoraError('E1332', 'the config version cannot be changed at run time', { why: 'it is the file\'s format version, not a setting' })
  const merged = mergePatch(current, patch)
  // one layer, as a file with no line numbers: the loader's messages without a location
  const { config } = resolveLayers([{ source: 'file', data: isPlainObject(merged) ? merged : {}, originOf: () => undefined, issues: [] }])
  return { config, changes: changedKeys(current, config, patch) }
}

/** The leaves that differ between two configs; `patch` says which were reset with null. */
export function changedKeys (before: AgoraConfig, after: AgoraConfig, patch: Record<string, unknown> = {}): ConfigChange[] {
  const changes: ConfigChange[] = []
  for (const leaf of leafSpecs()) {
    const was = getPath(before, leaf.path)
    const now = getPath(after, leaf.path)
    if (JSON.stringify(was) === JSON.stringify(now)) continue
    changes.push({ key: leaf.key, path: leaf.path, before: was, after: now, reset: resetIn(patch, leaf.path), restart: needsRestart(leaf.key, was, now) })
  }
  return changes
}

/**
 * Write the changes to `file` (created, with the current version, when
 * missing): a reset key is taken out, any other set; comments are kept and
 * the result is validated before an atomic write.
 */
export function writeConfigChanges (file: string, changes: readonly ConfigChange[]): void {
  if (changes.length === 0) return
  const doc = isFile(file)
    ? readConfigFile(file).doc
    : parseDocument(`# Agora configuration: \`agora config init --path <file>\` writes every key with its description\n${VERSION_KEY}: ${CONFIG_VERSION}\n`)
  try {
    for (const change of changes) {
      if (change.reset) {
        doc.deleteIn(change.path)
        continue
      }
      fillEmptySections(doc, change.path)
      const node = doc.getIn(change.path, true)
      const scalar = change.after === null || typeof change.after !== 'object'
      if (isScalar(node) && scalar) {
        node.value = change.after
        // a number or boolean must not keep the quotes of the string it replaces
        if (typeof change.after !== 'string') node.type = undefined
      } else {
        doc.setIn(change.path, change.after)
      }
    }
  } catch (err) {
    throw new AgoraError('E305', `cannot change ${file}`, { why: messageOf(err), hint: 'make each section of the file a map of keys', cause: err })
  }
  const text = doc.toString()
  resolveLayers([parseConfigText(text, file).layer])
  writeFileAtomic(file, text)
}

/** A copy fit to show: passwords in URLs (`http://user:pass@host`, e.g. etcd endpoints) replaced. The config holds no other secret: psk is a path, provider keys are env variable names. */
export function redactConfig<T> (value: T): T {
  if (typeof value === 'string') return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:[redacted]@') as T
  if (Array.isArray(value)) return value.map(v => redactConfig(v)) as T
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v)])) as T
  return value
}

/** RFC 7386: objects merge key by key, null removes, anything else replaces. */
function mergePatch (target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

/** Whether the patch sets `path` (or a section holding it) to null. */
function resetIn (patch: Record<string, unknown>, path: readonly string[]): boolean {
  let node: unknown = patch
  for (const segment of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, segment)) return false
    node = node[segment]
    if (node === null) return true
  }
  return false
}
