/**
 * Environment overrides: `AGORA_<SECTION>_<KEY>` in upper snake case, e.g.
 * `AGORA_API_PORT=0`, `AGORA_NETWORK_DHT_ADDRESS_FILTER=private`, lists as
 * `AGORA_NETWORK_BOOTSTRAP=/ip4/…,/ip4/…`. Values are coerced by the key's
 * type. A variable that looks like a config key but is none (a known
 * section prefix, or a near miss of a real name) is an E301; other AGORA_
 * variables belong to someone else and are left alone.
 */
import { coerceRaw } from './coerce.ts'
import { configTree, leafSpecs } from './keys.ts'
import type { LeafSpec } from './keys.ts'
import { setPath } from './merge.ts'
import type { ConfigPath } from './merge.ts'
import type { ConfigLayer } from './sources.ts'
import { nearest } from './suggest.ts'
import type { ConfigIssue } from './types.ts'

/** AGORA_ variables that are not config keys (read elsewhere). */
export const NON_CONFIG_ENV: ReadonlySet<string> = new Set(['AGORA_DATA_DIR', 'AGORA_CLI_MAIN', 'AGORA_API_TOKEN'])

export function envLayer (env: NodeJS.ProcessEnv): ConfigLayer {
  const byName = new Map<string, LeafSpec>(leafSpecs().map(l => [l.env, l]))
  const sectionPrefixes = configTree().children.map(c => `AGORA_${c.path.join('_').toUpperCase()}`)
  const data: Record<string, unknown> = {}
  const origins = new Map<string, string>()
  const issues: ConfigIssue[] = []
  for (const name of Object.keys(env).sort()) {
    const raw = env[name]
    if (!name.startsWith('AGORA_') || raw === undefined || NON_CONFIG_ENV.has(name)) continue
    const leaf = byName.get(name)
    if (leaf !== undefined) {
      setPath(data, leaf.path, coerceRaw(leaf, raw))
      origins.set(leaf.key, name)
      continue
    }
    const suggestion = nearest(name, byName.keys())
    const looksLikeConfig = sectionPrefixes.some(p => name === p || name.startsWith(p + '_'))
    if (suggestion === undefined && !looksLikeConfig) continue
    const suggested = suggestion === undefined ? undefined : byName.get(suggestion)
    issues.push({
      code: 'E301',
      key: '',
      message: `unknown config variable ${name}`,
      why: suggested !== undefined ? `did you mean ${suggested.env} (${suggested.key})?` : 'no config key has this name',
      hint: 'unset it or correct its spelling; `agora config show --sources` lists every key',
      source: 'env',
      origin: name,
      value: raw,
      ...(suggested !== undefined ? { suggestion: suggested.env } : {})
    })
  }
  const originOf = (path: ConfigPath): string | undefined => {
    for (let i = path.length; i > 0; i--) {
      const origin = origins.get(path.slice(0, i).join('.'))
      if (origin !== undefined) return origin
    }
    return undefined
  }
  return { source: 'env', data, originOf, issues }
}
