/**
 * Carrying out the answers: the config keys through the config room's own
 * editor (`config init` / `config set`), built in a scratch copy and put in
 * place in one rename so a failure leaves the old file as it was; the
 * engines as user providers (through the node when one runs, else its
 * store); the identity through the identity room.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { clientFor, isAlive, readApiInfo } from '../../client/index.ts'
import { initConfigFile, loadConfig, setConfigValue, writeFileAtomic } from '../../config/index.ts'
import { DATA_DIR_FILES } from '../../daemon/data-dir.ts'
import { AgoraError, messageOf } from '../../errors.ts'
import { importIdentityPem, loadOrCreateIdentity } from '../../identity/index.ts'
import { loadSpecs, sameEngine, saveSpecs, validateSpec, type ProviderSpec } from '../../providers/index.ts'
import { openStore } from '../../store/index.ts'
import { configEdits, providerSpecs, type ConfigEdit, type SetupAnswers } from './answers.ts'

export interface WriteSetupInit {
  dataDir: string
  configFile: string
  /** Start from the commented defaults rather than the file that is there. */
  fresh: boolean
}

export interface WriteSetupResult {
  configFile: string
  peerId: string | undefined
  /** Names of the engines added as user providers. */
  providers: string[]
  /** Whether a node runs on the data dir (it reads the config at its next start). */
  nodeRunning: boolean
}

export async function writeSetup (answers: SetupAnswers, init: WriteSetupInit): Promise<WriteSetupResult> {
  const running = runningPid(init.dataDir)
  if (answers.identity.action === 'import' && running !== undefined) {
    throw new AgoraError('E602', `a node is running on ${init.dataDir} (pid ${running})`, { hint: 'stop it with `agora stop` before changing its identity, then run `agora setup` again' })
  }
  writeConfigEdits(init.configFile, configEdits(answers), init.fresh)
  const providers = await saveProviders(providerSpecs(answers), init.dataDir, running !== undefined)
  const peerId = await writeIdentity(answers, init.dataDir)
  return { configFile: init.configFile, peerId, providers, nodeRunning: running !== undefined }
}

/** Applies `edits` to a scratch copy of `file` (or of the defaults) with `config set`'s editor, then renames it into place. */
export function writeConfigEdits (file: string, edits: readonly ConfigEdit[], fresh: boolean): void {
  const scratchDir = mkdtempSync(join(tmpdir(), 'agora-setup-'))
  const scratch = join(scratchDir, 'agora.yaml')
  try {
    if (fresh || !existsSync(file)) initConfigFile(scratch)
    else copyFileSync(file, scratch)
    for (const edit of edits) setConfigValue(scratch, edit.key, edit.value)
    loadConfig({ configFile: scratch, env: {} }) // the whole file, checked once more as the node will read it
    writeFileAtomic(file, readFileSync(scratch, 'utf8'))
  } catch (err) {
    // the user knows the file by its own name, not the scratch copy's
    if (!(err instanceof AgoraError)) throw err
    const named = (text: string | undefined): string | undefined => text?.replaceAll(scratch, file)
    throw new AgoraError(err.code, named(err.what) ?? err.what, { why: named(err.why), hint: named(err.hint), details: err.details, cause: err })
  } finally {
    rmSync(scratchDir, { recursive: true, force: true })
  }
}

async function saveProviders (specs: ProviderSpec[], dataDir: string, nodeRunning: boolean): Promise<string[]> {
  const checked = specs.map(s => validateSpec(s))
  if (checked.length === 0) return []
  if (nodeRunning) {
    // the node holds the list in memory and persists it itself; it serves them at once
    const client = clientFor(dataDir)
    for (const spec of checked) await client.addProvider(spec)
    return checked.map(s => s.name)
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const store = openStore(join(dataDir, DATA_DIR_FILES.store))
  try {
    const kept = loadSpecs(store.kv).specs.filter(old => !checked.some(s => s.name === old.name || sameEngine(s.url, old.url)))
    saveSpecs(store.kv, [...kept, ...checked])
  } finally {
    store.close()
  }
  return checked.map(s => s.name)
}

async function writeIdentity (answers: SetupAnswers, dataDir: string): Promise<string | undefined> {
  const { action, pemFile, replaces } = answers.identity
  if (action === 'keep') return answers.identity.peerId
  if (action === 'create') return (await loadOrCreateIdentity(dataDir)).peerIdString
  if (pemFile === undefined) throw new AgoraError('E1341', 'no PEM file to import')
  let pem: string
  try {
    pem = readFileSync(pemFile, 'utf8')
  } catch (err) {
    throw new AgoraError('E101', `cannot read ${pemFile}`, { why: messageOf(err) })
  }
  return (await importIdentityPem(dataDir, pem, { force: replaces === true })).peerIdString
}

function runningPid (dataDir: string): number | undefined {
  try {
    const pid = readApiInfo(dataDir).info.pid
    return isAlive(pid) ? pid : undefined
  } catch {
    return undefined // no node on this data dir
  }
}
