/**
 * `network.bootstrap` and `network.psk` in the config file, changed the way
 * `agora config set` changes them (comments kept, the whole file validated
 * before the atomic write). Only the file's own values are read and
 * written: an AGORA_* variable overriding them is the caller's to mention.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { AgoraError, messageOf } from '../errors.ts'
import { defaultConfig, defaultConfigPath, findConfigFile, loadConfig, setConfigValue, type AgoraConfig } from '../config/index.ts'
import { readSwarmKey, swarmKeyFromHex, swarmKeyHex } from '../p2p/swarm-key.ts'
import { parseBootstrapAddress, peerIdOf } from './bootstrap-address.ts'
import { JOINED_SWARM_KEY_FILE } from './constants.ts'

/** The file `agora config set` would write: --config, else the one in use, else the per-user file. */
export function configFileToEdit (configOption: string | undefined): string {
  return configOption !== undefined ? resolve(configOption) : findConfigFile() ?? defaultConfigPath()
}

/** The config as the file alone makes it (defaults where it says nothing); defaults when there is no file yet. */
export function fileConfig (file: string): AgoraConfig {
  if (!existsSync(file)) return defaultConfig()
  return loadConfig({ configFile: file, env: {} }).config
}

export interface BootstrapAddResult {
  file: string
  /** Addresses new to the list, in order. */
  added: string[]
  /** Addresses that were in it already. */
  present: string[]
  /** The list as written. */
  bootstrap: string[]
}

/** Add bootstrap addresses to the file's list, each once; E1315 for one that is not a bootstrap address (nothing is written then). */
export function addBootstrapPeers (file: string, addresses: readonly string[]): BootstrapAddResult {
  const wanted = addresses.map(address => parseBootstrapAddress(address).address)
  const current = fileConfig(file).network.bootstrap
  const added: string[] = []
  const present: string[] = []
  for (const address of wanted) {
    if (current.includes(address) || added.includes(address)) present.push(address)
    else added.push(address)
  }
  const bootstrap = [...current, ...added]
  if (added.length > 0) setConfigValue(file, 'network.bootstrap', JSON.stringify(bootstrap))
  return { file, added, present, bootstrap }
}

export interface BootstrapRemoveResult {
  file: string
  removed: string[]
  bootstrap: string[]
}

/** Remove the entries equal to `target`, or every entry of the peer `target` names; E1316 when none matches. */
export function removeBootstrapPeer (file: string, target: string): BootstrapRemoveResult {
  const wanted = target.trim()
  const current = fileConfig(file).network.bootstrap
  const matches = (entry: string): boolean => entry === wanted || peerIdOfEntry(entry) === wanted
  const removed = current.filter(matches)
  if (removed.length === 0) {
    throw new AgoraError('E1316', `${wanted} is not in the bootstrap list of ${file}`, { why: current.length === 0 ? 'the list is empty' : `it holds ${current.length} other peer${current.length === 1 ? '' : 's'}` })
  }
  const bootstrap = current.filter(entry => !matches(entry))
  setConfigValue(file, 'network.bootstrap', JSON.stringify(bootstrap))
  return { file, removed, bootstrap }
}

export interface SwarmKeyJoinResult {
  /** The swarm key file network.psk names. */
  path: string
  /** Whether the config changed: a running node needs a restart to use the key. */
  changed: boolean
}

/**
 * Make the config use the private network's swarm key `hex`: written to
 * `<dataDir>/swarm.key` (mode 0600) and named in network.psk. Nothing to do
 * when it uses that key already; E1318 when it uses another one.
 */
export function joinSwarmKey (file: string, dataDir: string, hex: string): SwarmKeyJoinResult {
  const configured = fileConfig(file).network.psk
  if (configured !== '') {
    if (swarmKeyHex(readSwarmKey(configured)) === hex) return { path: configured, changed: false }
    throw new AgoraError('E1318', 'this node belongs to another private network', { why: `network.psk in ${file} names ${configured}, which holds another swarm key than the invite's` })
  }
  const path = join(dataDir, JOINED_SWARM_KEY_FILE)
  if (existsSync(path) && swarmKeyHex(readFileSync(path, 'utf8')) !== hex) {
    throw new AgoraError('E1318', `${path} holds another swarm key than the invite's`, { why: 'it is not named in network.psk, but it is not ours to overwrite', hint: `move ${path} aside, then join again` })
  }
  try {
    // joining before the first start: the data dir may not exist yet (the node makes it 0700 too)
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(path, swarmKeyFromHex(hex), { mode: 0o600 })
  } catch (err) {
    throw new AgoraError('E305', `cannot write the swarm key to ${path}`, { why: messageOf(err), cause: err })
  }
  setConfigValue(file, 'network.psk', path)
  return { path, changed: true }
}

function peerIdOfEntry (entry: string): string | undefined {
  try {
    return peerIdOf(entry)
  } catch {
    return undefined // an entry that is no multiaddr matches only by its text
  }
}
