/**
 * Loading the configuration: defaults ← the one config file found ←
 * `AGORA_*` env overrides ← command-line flags. Synchronous: it runs once,
 * before anything starts.
 */
import { envLayer } from './env.ts'
import { flagNameOf, leafSpecs } from './keys.ts'
import { isPlainObject } from './merge.ts'
import type { ConfigPath } from './merge.ts'
import { findConfigFile, readConfigFile } from './sources.ts'
import type { ConfigLayer } from './sources.ts'
import type { LoadConfigInit, LoadedConfig } from './types.ts'
import { resolveLayers } from './validate.ts'

/**
 * Load and validate the effective configuration.
 * Throws E303 (the --config file is missing), E302 (invalid YAML), E301
 * (unknown key or AGORA_ variable) or E300 (bad value); each message names
 * the key, the value and its file:line, env var or flag.
 */
export function loadConfig (init: LoadConfigInit = {}): LoadedConfig {
  const file = findConfigFile(init)
  const layers: ConfigLayer[] = []
  if (file !== undefined) layers.push(readConfigFile(file).layer)
  layers.push(envLayer(init.env ?? process.env))
  if (init.flags !== undefined) layers.push(flagLayer(init.flags, init.flagNames ?? {}))
  const { config, sources } = resolveLayers(layers)
  return { config, file, sources }
}

/** Flags as a layer; a flag's origin is its name (`--api-port`). */
function flagLayer (flags: object, names: Record<string, string>): ConfigLayer {
  const leafKeys = new Set(leafSpecs().map(l => l.key))
  const originOf = (path: ConfigPath): string => {
    for (let i = path.length; i > 0; i--) {
      const key = path.slice(0, i).join('.')
      const name = names[key]
      if (name !== undefined) return name
      if (leafKeys.has(key)) return flagNameOf(path.slice(0, i).map(String))
    }
    return flagNameOf(path.map(String))
  }
  return { source: 'flag', data: withoutUndefined(flags), originOf, issues: [] }
}

/** Flags the user did not give arrive as `undefined`: they must not count as set. */
function withoutUndefined (obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue
    out[key] = isPlainObject(value) ? withoutUndefined(value) : value
  }
  return out
}
