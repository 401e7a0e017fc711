/**
 * Turning a raw string (an env var, `agora config set <key> <value>`) into
 * a value of the key's type. Coercion is best effort: what does not look
 * like the type is passed on unchanged, so schema validation reports it
 * with the key, the value and where it came from.
 */
import type { LeafSpec } from './keys.ts'

const TRUE = new Set(['true', 'yes', 'on', '1'])
const FALSE = new Set(['false', 'no', 'off', '0'])
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i

export function coerceRaw (leaf: Pick<LeafSpec, 'kind'>, raw: string): unknown {
  const text = raw.trim()
  switch (leaf.kind) {
    case 'number':
      return NUMBER.test(text) ? Number(text) : raw
    case 'boolean': {
      const lower = text.toLowerCase()
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : raw
    }
    case 'array':
      return coerceArray(text, raw)
    case 'map':
      return coerceMap(text, raw)
    case 'enum':
      return text
    case 'string':
      return raw
  }
}

/** `{"text.entities": 2}` (JSON); empty means an empty map. */
function coerceMap (text: string, raw: string): unknown {
  if (text === '') return {}
  try {
    return JSON.parse(text) as unknown
  } catch {
    return raw
  }
}

/** `["/ip4/…", "/ip4/…"]` (JSON) or `/ip4/…,/ip4/…` (comma-separated); empty means an empty list. */
function coerceArray (text: string, raw: string): unknown {
  if (text === '') return []
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text) as unknown
    } catch {
      return raw
    }
  }
  return text.split(',').map(s => s.trim()).filter(s => s !== '')
}
