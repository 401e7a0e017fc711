/** Turns `agora start` flags into the config layer that overrides file and env. */
import { AgoraError } from '../errors.ts'
import type { DeepPartial, AgoraConfig } from '../config/index.ts'

export interface StartFlags {
  apiPort?: string
  apiHost?: string
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  mdns?: boolean
  psk?: string
  dhtFilter?: 'public' | 'private' | 'all'
  logLevel?: AgoraConfig['log']['level']
  logFormat?: AgoraConfig['log']['format']
  /** The global --no-color (false). */
  color?: boolean
  /** The global --debug-safe: debug logs with every secret taken out. */
  debugSafe?: boolean
  trustMode?: AgoraConfig['access']['trustMode']
  discovery?: boolean
}

/** The real flag names, so `config show --sources` and errors name the flag the user typed. */
export const START_FLAG_NAMES: Record<string, string> = {
  'api.port': '--api-port',
  'api.host': '--api-host',
  'network.listen': '--listen',
  'network.announce': '--announce',
  'network.bootstrap': '--bootstrap',
  'network.mdns': '--no-mdns',
  'network.psk': '--psk',
  'network.dht.addressFilter': '--dht-filter',
  'log.level': '--log-level',
  'log.format': '--log-format',
  'log.color': '--no-color',
  'log.safe': '--debug-safe',
  'access.trustMode': '--trust-mode',
  'providers.discovery': '--no-discovery'
}

export function startFlagsToConfig (flags: StartFlags): DeepPartial<AgoraConfig> {
  const api: DeepPartial<AgoraConfig['api']> = {}
  const network: DeepPartial<AgoraConfig['network']> = {}
  const config: DeepPartial<AgoraConfig> = {}
  if (flags.apiPort !== undefined) {
    const port = Number(flags.apiPort)
    // Number('') and Number(' ') are 0: an empty value is no port, not 'any free port'
    if (flags.apiPort.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new AgoraError('E600', `--api-port must be a port number 0..65535, not '${flags.apiPort}'`, { hint: 'use --api-port 0 for any free port' })
    }
    api.port = port
  }
  if (flags.apiHost !== undefined) api.host = flags.apiHost
  if (flags.listen !== undefined) network.listen = flags.listen
  if (flags.announce !== undefined) network.announce = flags.announce
  if (flags.bootstrap !== undefined) network.bootstrap = flags.bootstrap
  if (flags.mdns === false) network.mdns = false
  if (flags.psk !== undefined) network.psk = flags.psk
  if (flags.dhtFilter !== undefined) network.dht = { addressFilter: flags.dhtFilter }
  if (Object.keys(api).length > 0) config.api = api
  if (Object.keys(network).length > 0) config.network = network
  const log: DeepPartial<AgoraConfig['log']> = {}
  if (flags.logLevel !== undefined) log.level = flags.logLevel
  if (flags.logFormat !== undefined) log.format = flags.logFormat
  // commander sets color: true by default (--no-color): only its absence is a choice
  if (flags.color === false) log.color = false
  if (flags.debugSafe === true) {
    log.safe = true
    log.level ??= 'debug'
  }
  if (Object.keys(log).length > 0) config.log = log
  if (flags.trustMode !== undefined) config.access = { trustMode: flags.trustMode }
  if (flags.discovery === false) config.providers = { discovery: false }
  return config
}
