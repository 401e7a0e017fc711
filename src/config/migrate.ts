/**
 * `agora config migrate`: brings a config file to CONFIG_VERSION through an
 * ordered list of steps, each taking the file from one version to the next
 * (a key renamed, a section moved, a unit changed). Steps edit the YAML
 * document, so comments and layout survive; the old file is kept beside the
 * new one as `<file>.bak-<time>`, as `agora config reset` does.
 */
import { copyFileSync } from 'node:fs'
import { isMap, isScalar } from 'yaml'
import type { Document } from 'yaml'
import { AgoraError, isAgoraError } from '../errors.ts'
import { writeFileAtomic } from './edit.ts'
import { parseConfigText, readConfigFile } from './sources.ts'
import { resolveLayers } from './validate.ts'
import { CONFIG_VERSION, VERSION_KEY, assertKnownVersion, fileVersionOf } from './version.ts'

export interface MigrationStep {
  /** The version a file has once this step ran. */
  to: number
  /** What the step does, for people. */
  title: string
  /** Change the document; one line per change made (the version bump is added by the runner). */
  apply (doc: Document): string[]
}

/**
 * Every step, oldest first; a new format version adds one here and raises
 * CONFIG_VERSION. A later step might be
 * `{ to: 2, title: 'x renamed y', apply: doc => renameKey(doc, ['a', 'x'], ['a', 'y']) }`.
 */
export const MIGRATIONS: readonly MigrationStep[] = [
  { to: 1, title: 'the file says its format version', apply: () => [] }
]

export interface MigrateResult {
  file: string
  from: number
  to: number
  /** One line per change, in order. */
  changes: string[]
  /** Where the old file was kept; undefined when nothing changed or on a dry run. */
  backup: string | undefined
  dryRun: boolean
}

/** Migrate `file` in place (a backup kept); `dryRun` only says what would change. */
export function migrateConfigFile (file: string, options: { dryRun?: boolean, now?: Date, steps?: readonly MigrationStep[] } = {}): MigrateResult {
  const { doc, layer } = readConfigFile(file)
  const from = fileVersionOf(layer.data)
  if (from === undefined) {
    throw new AgoraError('E1331', `config file ${file} has an invalid version: ${JSON.stringify(layer.data[VERSION_KEY])}`, { why: 'version is a whole number, e.g. `version: 1`' })
  }
  const { changes, to } = migrateDocument(doc, from, options.steps ?? MIGRATIONS)
  const dryRun = options.dryRun === true
  if (changes.length === 0 || dryRun) return { file, from, to, changes, backup: undefined, dryRun }
  const text = doc.toString()
  try {
    const parsed = parseConfigText(text, file)
    resolveLayers([parsed.layer])
  } catch (err) {
    if (!isAgoraError(err)) throw err
    throw new AgoraError('E1331', `config file ${file} is not valid once migrated; nothing was written`, { why: `${err.code}: ${err.what}${err.why === undefined ? '' : ` — ${err.why}`}`, cause: err })
  }
  const backup = backupPath(file, options.now)
  copyFileSync(file, backup)
  writeFileAtomic(file, text)
  return { file, from, to, changes, backup, dryRun }
}

/** Run the steps past `from` on `doc`, setting its version after each; the changes made. */
export function migrateDocument (doc: Document, from: number, steps: readonly MigrationStep[]): { changes: string[], to: number } {
  assertKnownVersion({ [VERSION_KEY]: from }, 'the file')
  const changes: string[] = []
  let version = from
  for (const step of steps) {
    if (step.to <= version) continue
    changes.push(...step.apply(doc))
    changes.push(`${VERSION_KEY}: ${version === 0 ? '(none)' : version} → ${step.to} (${step.title})`)
    setVersion(doc, step.to)
    version = step.to
  }
  return { changes, to: Math.max(version, Math.min(from, CONFIG_VERSION)) }
}

/** `<file>.bak-<ISO time with - for : and .>`: the name `config reset` and `config migrate` keep the old file under. */
export function backupPath (file: string, now = new Date()): string {
  return `${file}.bak-${now.toISOString().replace(/[:.]/g, '-')}`
}

/** Move the value at `from` to `to` (a step's helper for renamed keys); the change made, or none. */
export function renameKey (doc: Document, from: readonly string[], to: readonly string[]): string[] {
  if (!doc.hasIn(from)) return []
  const node = doc.getIn(from, true)
  doc.deleteIn(from)
  doc.setIn(to, node)
  return [`${from.join('.')} → ${to.join('.')}`]
}

/** The version key goes first in the file, where people look for it (below the file's header comment). */
function setVersion (doc: Document, version: number): void {
  if (doc.contents === null) doc.contents = doc.createNode({})
  if (doc.has(VERSION_KEY) || !isMap(doc.contents)) {
    doc.set(VERSION_KEY, version)
    return
  }
  const pair = doc.createPair(VERSION_KEY, version)
  // a header comment (up to its last blank line) stays the file's header, above the version
  const first: unknown = doc.contents.items[0]?.key
  if (isScalar(first) && typeof first.commentBefore === 'string' && isScalar(pair.key)) {
    const cut = first.commentBefore.lastIndexOf('\n\n')
    if (cut >= 0) {
      pair.key.commentBefore = first.commentBefore.slice(0, cut)
      first.commentBefore = first.commentBefore.slice(cut + 2)
      first.spaceBefore = true
    }
  }
  doc.contents.items.unshift(pair)
}
