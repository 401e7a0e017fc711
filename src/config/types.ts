/** Public types of the config room. */
import type { AgoraConfig } from './schema.ts'

/** Every key optional, at every depth; arrays are replaced whole, never merged. */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K]
}

/** Where one effective value came from. */
export interface ConfigSource {
  source: 'default' | 'file' | 'env' | 'flag'
  /** `/etc/agora/agora.yaml:12`, `AGORA_API_PORT` or `--api-port`; absent for defaults. */
  origin?: string
}

export interface LoadedConfig {
  config: AgoraConfig
  /** The config file used, if any. */
  file: string | undefined
  /** Per dotted leaf key (`api.port`): where its value came from. */
  sources: Record<string, ConfigSource>
}

/** Where to look for the config file. Every field has a default taken from the process. */
export interface ConfigSearchInit {
  /** `--config <file>`: the only file considered when given; relative to `cwd`. */
  configFile?: string
  /** Directory searched for `agora.yaml` (default `process.cwd()`). */
  cwd?: string
  /** Environment (default `process.env`): `XDG_CONFIG_HOME` and `AGORA_*` overrides. */
  env?: NodeJS.ProcessEnv
  /** Default `$XDG_CONFIG_HOME`, else `~/.config`. */
  xdgConfigHome?: string
  /** Default `/etc`; the file searched is `<etcDir>/agora/agora.yaml`. */
  etcDir?: string
}

export interface LoadConfigInit extends ConfigSearchInit {
  /** Values from command-line flags; they beat env and file. */
  flags?: DeepPartial<AgoraConfig>
  /** Flag name per dotted key for `sources` and errors (default `--<section>-<key>` in kebab case). */
  flagNames?: Record<string, string>
}

/** One problem found in a config source (details.issues of an E300/E301/E302 error). */
export interface ConfigIssue {
  code: 'E300' | 'E301' | 'E302'
  /** Dotted key (with array indexes, e.g. `network.listen.0`); empty for whole-file problems. */
  key: string
  message: string
  why: string
  hint: string
  /** The layer the value came from. */
  source?: 'file' | 'env' | 'flag'
  /** `file:line`, env var name or flag. */
  origin?: string
  value?: unknown
  suggestion?: string
}
