/**
 * Where config values come from: the search for the one config file, and
 * the file itself parsed into a layer that knows the line of every key.
 */
import { readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml'
import type { Document } from 'yaml'
import { AgoraError, messageOf } from '../errors.ts'
import { isPlainObject } from './merge.ts'
import type { ConfigPath } from './merge.ts'
import type { ConfigIssue, ConfigSearchInit, ConfigSource } from './types.ts'
import { assertKnownVersion } from './version.ts'

export type { ConfigPath }

/** One source of values (file, env or flags) before merging. */
export interface ConfigLayer {
  source: Exclude<ConfigSource['source'], 'default'>
  /** Nested partial config as written (not yet validated). */
  data: Record<string, unknown>
  /** Where the value at `path` was set: `file:line`, an env var, a flag. */
  originOf: (path: ConfigPath) => string | undefined
  /** Problems found while reading the layer itself. */
  issues: ConfigIssue[]
}

/** The candidate files, in search order (only the `--config` file when one is given). */
export function configSearchPaths (init: ConfigSearchInit = {}): string[] {
  const cwd = init.cwd ?? process.cwd()
  if (init.configFile !== undefined) return [resolve(cwd, init.configFile)]
  return [join(cwd, 'agora.yaml'), defaultConfigPath(init), join(init.etcDir ?? '/etc', 'agora', 'agora.yaml')]
}

/** The per-user file: `$XDG_CONFIG_HOME/agora/agora.yaml` (`~/.config/agora/agora.yaml`). */
export function defaultConfigPath (init: ConfigSearchInit = {}): string {
  const fromEnv = (init.env ?? process.env).XDG_CONFIG_HOME
  // the XDG spec says to ignore a relative XDG_CONFIG_HOME
  const xdg = init.xdgConfigHome ?? (fromEnv !== undefined && isAbsolute(fromEnv) ? fromEnv : join(homedir(), '.config'))
  return join(xdg, 'agora', 'agora.yaml')
}

/** The file in use: the `--config` file (E303 if missing), else the first candidate that exists, else undefined. */
export function findConfigFile (init: ConfigSearchInit = {}): string | undefined {
  const candidates = configSearchPaths(init)
  if (init.configFile !== undefined) {
    const file = candidates[0] ?? init.configFile
    if (!isFile(file)) throw new AgoraError('E303', `config file not found: ${file}`, { why: 'the file given with --config does not exist or is not a file' })
    return file
  }
  return candidates.find(isFile)
}

export function isFile (path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

export interface ParsedConfigFile {
  file: string
  doc: Document
  layer: ConfigLayer
}

/** Read and parse a config file; invalid YAML → E302 with file:line:col. */
export function readConfigFile (file: string): ParsedConfigFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new AgoraError('E303', `cannot read config file ${file}`, { why: messageOf(err), hint: 'check that the file exists and that you may read it', cause: err })
  }
  return parseConfigText(text, file)
}

/** Parse config YAML; `file` names it in messages. */
export function parseConfigText (text: string, file: string): ParsedConfigFile {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: true })
  const first = doc.errors[0]
  if (first !== undefined) {
    const pos = first.linePos?.[0] ?? lineCounter.linePos(first.pos[0])
    const issues: ConfigIssue[] = doc.errors.map(e => {
      const p = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0])
      const why = e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? e.message
      return { code: 'E302', key: '', message: `invalid YAML in ${file}:${p.line}:${p.col}`, why, hint: 'fix the YAML syntax at the line shown', source: 'file', origin: `${file}:${p.line}:${p.col}` }
    })
    throw new AgoraError('E302', `invalid YAML in ${file}:${pos.line}:${pos.col}`, { why: issues[0]?.why, details: { file, issues } })
  }
  const originOf = (path: ConfigPath): string => `${file}:${lineOf(doc, lineCounter, path)}`
  const js: unknown = doc.toJS()
  const issues: ConfigIssue[] = []
  let data: Record<string, unknown> = {}
  if (isPlainObject(js)) {
    data = js
    assertKnownVersion(data, file)
  } else if (js !== null && js !== undefined) {
    issues.push({
      code: 'E300',
      key: '',
      message: `config file ${file} is not a map of sections`,
      why: `it holds ${Array.isArray(js) ? 'a list' : `the ${typeof js} ${JSON.stringify(js)}`}`,
      hint: 'write sections such as `api:` with keys under them; `agora config init` writes a complete example',
      source: 'file',
      origin: `${file}:1`,
      value: js
    })
  }
  return { file, doc, layer: { source: 'file', data, originOf, issues } }
}

/** Line (1-based) of the deepest key or item of `path` present in the document. */
function lineOf (doc: Document, lineCounter: LineCounter, path: ConfigPath): number {
  let node: unknown = doc.contents
  let offset = 0
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(p => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment))
      if (pair === undefined) break
      offset = isScalar(pair.key) ? pair.key.range?.[0] ?? offset : offset
      node = pair.value
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment]
      if (item === undefined) break
      offset = isScalar(item) || isMap(item) || isSeq(item) ? item.range?.[0] ?? offset : offset
      node = item
    } else {
      break
    }
  }
  return lineCounter.linePos(offset).line
}
