/**
 * What every command needs from the command line: the global options
 * (data dir, config file, output format) and a way to reach the daemon.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { AgoraError } from '../errors.ts'

export type OutputFormat = 'table' | 'json' | 'yaml' | 'csv'

export interface GlobalOptions {
  /** Absolute data dir: --data-dir, else AGORA_DATA_DIR, else ~/.agora. */
  dataDir: string
  /** --config file, when given. */
  config: string | undefined
  format: OutputFormat
  quiet: boolean
  color: boolean
  verbose: boolean
}

interface RawGlobals {
  dataDir?: string
  config?: string
  json?: boolean
  yaml?: boolean
  csv?: boolean
  quiet?: boolean
  color?: boolean
  verbose?: boolean
}

export function defaultDataDir (env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.AGORA_DATA_DIR
  return resolve(fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.agora'))
}

/** Read the global options as seen from any (sub)command. */
export function globalOptions (cmd: Command): GlobalOptions {
  const raw = cmd.optsWithGlobals<RawGlobals>()
  const formats = (['json', 'yaml', 'csv'] as const).filter(f => raw[f] === true)
  if (formats.length > 1) throw new AgoraError('E600', `${formats.map(f => `--${f}`).join(' and ')} cannot go together`, { hint: 'pick one output format' })
  const format: OutputFormat = raw.json === true ? 'json' : raw.yaml === true ? 'yaml' : raw.csv === true ? 'csv' : 'table'
  const color = raw.color !== false && process.env.NO_COLOR === undefined && process.stdout.isTTY === true
  return {
    dataDir: raw.dataDir !== undefined ? resolve(raw.dataDir) : defaultDataDir(),
    config: raw.config,
    format,
    quiet: raw.quiet === true,
    color,
    verbose: raw.verbose === true
  }
}
