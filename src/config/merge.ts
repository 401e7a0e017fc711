/** Small helpers over nested plain objects addressed by key paths. */

/** A key path: object keys and array indexes. */
export type ConfigPath = ReadonlyArray<string | number>

export function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether `path` is present in `obj` (array indexes included). */
export function hasPath (obj: unknown, path: ConfigPath): boolean {
  let node = obj
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') {
      if (segment >= node.length) return false
      node = node[segment]
    } else if (isPlainObject(node) && Object.hasOwn(node, String(segment))) {
      node = node[String(segment)]
    } else {
      return false
    }
  }
  return true
}

export function getPath (obj: unknown, path: ConfigPath): unknown {
  let node = obj
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment]
    else if (isPlainObject(node) && Object.hasOwn(node, String(segment))) node = node[String(segment)]
    else return undefined
  }
  return node
}

/** Set a value, creating the objects on the way. */
export function setPath (obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = obj
  for (const segment of path.slice(0, -1)) {
    const next = node[segment]
    if (isPlainObject(next)) {
      node = next
    } else {
      const created: Record<string, unknown> = {}
      node[segment] = created
      node = created
    }
  }
  const last = path.at(-1)
  if (last !== undefined) node[last] = value
}

/** Merge `over` into a copy of `base`: objects merge key by key, anything else (arrays included) replaces. */
export function deepMerge (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue
    const current = out[key]
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value
  }
  return out
}
