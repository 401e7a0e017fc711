/**
 * Reading and changing single keys: `agora config get` / `set` / `init`.
 * Edits go through yaml's Document API so comments and layout survive, the
 * whole file is validated before anything is written, and writes are
 * atomic (temporary file + rename).
 */
import { chmodSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { parseDocument, isScalar } from 'yaml'
import type { Document } from 'yaml'
import { AgoraError, messageOf } from '../errors.ts'
import type { AgoraConfig } from './schema.ts'
import { coerceRaw } from './coerce.ts'
import { leafSpec, sectionSpec } from './keys.ts'
import { getPath } from './merge.ts'
import { isFile, parseConfigText, readConfigFile } from './sources.ts'
import { renderDefaultConfig } from './template.ts'
import { keyHint, resolveLayers, suggestKey } from './validate.ts'

/** The value at a dotted key (a leaf such as `api.port`, or a section such as `network.dht`). Unknown key → E301. */
export function getConfigValue (config: AgoraConfig, dottedKey: string): unknown {
  if (leafSpec(dottedKey) === undefined && sectionSpec(dottedKey) === undefined) throw unknownKey(dottedKey)
  return getPath(config, dottedKey.split('.'))
}

export interface SetConfigResult {
  file: string
  key: string
  /** The value written, after parsing by the key's type. */
  value: unknown
  /** Whether the file was created. */
  created: boolean
  /** The env var that would override this value. */
  env: string
}

/**
 * Set one key in a config file, parsing `rawValue` by the key's type
 * (lists as JSON `["/ip4/…"]` or comma-separated). The file is created
 * (with its directory) when missing. Comments are kept. The whole file is
 * validated first: a bad value throws E300 and leaves the file untouched.
 */
export function setConfigValue (file: string, dottedKey: string, rawValue: string): SetConfigResult {
  const leaf = leafSpec(dottedKey)
  if (leaf === undefined) {
    const section = sectionSpec(dottedKey)
    if (section !== undefined) {
      throw new AgoraError('E301', `'${dottedKey}' is a section, not a key`, { why: keyHint(dottedKey), hint: 'set one key at a time, e.g. `agora config set api.port 8145`' })
    }
    throw unknownKey(dottedKey)
  }
  const exists = isFile(file)
  const doc = exists ? readConfigFile(file).doc : parseDocument('# Agora configuration: `agora config init --path <file>` writes every key with its description\n')
  const value = coerceRaw(leaf, rawValue)
  const node = doc.getIn(leaf.path, true)
  try {
    fillEmptySections(doc, leaf.path)
    if (isScalar(node) && !Array.isArray(value)) {
      node.value = value
      // a number or boolean must not keep the quotes of the string it replaces
      if (typeof value !== 'string') node.type = undefined
    } else {
      doc.setIn(leaf.path, value)
    }
  } catch (err) {
    throw new AgoraError('E300', `cannot set '${dottedKey}' in ${file}`, { why: messageOf(err), hint: `make '${leaf.path.slice(0, -1).join('.')}' a map of keys in the file`, cause: err })
  }
  const text = doc.toString()
  resolveLayers([parseConfigText(text, file).layer])
  writeFileAtomic(file, text)
  return { file, key: leaf.key, value, created: !exists, env: leaf.env }
}

/** Write the commented default config to `file`; an existing file → E304 unless `force`. */
export function initConfigFile (file: string, options: { force?: boolean } = {}): string {
  if (isFile(file) && options.force !== true) throw new AgoraError('E304', `config file already exists: ${file}`)
  writeFileAtomic(file, renderDefaultConfig())
  return file
}

/** Write via a temporary file in the same directory and rename, keeping the old file's mode. */
export function writeFileAtomic (file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`
  try {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(tmp, text, { encoding: 'utf8', flag: 'wx' })
    if (isFile(file)) chmodSync(tmp, statSync(file).mode & 0o777)
    renameSync(tmp, file)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw new AgoraError('E305', `cannot write config file ${file}`, { why: messageOf(err), cause: err })
  }
}

/** `api:` with every key commented out is a null scalar: make it a map so a key can go in. */
export function fillEmptySections (doc: Document, path: readonly string[]): void {
  for (let i = 1; i < path.length; i++) {
    const prefix = path.slice(0, i)
    const node = doc.getIn(prefix, true)
    if (!isScalar(node) || node.value !== null) continue
    const map = doc.createNode({})
    map.commentBefore = node.commentBefore
    map.comment = node.comment
    doc.setIn(prefix, map)
  }
}

function unknownKey (key: string): AgoraError {
  const suggestion = suggestKey(key)
  return new AgoraError('E301', `unknown config key '${key}'`, {
    why: suggestion !== undefined ? `did you mean '${suggestion}'?` : 'no config key has this name',
    hint: 'see every key with `agora config show --sources`',
    details: { key, ...(suggestion !== undefined ? { suggestion } : {}) }
  })
}
