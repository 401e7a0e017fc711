/** The runtime config routes' JSON (docs/api.md, "Runtime config"). */

/** A config body: sections of keys, as in the file. PATCH merges it (RFC 7386; null puts a key back to its default). */
export type ConfigPatchBody = Record<string, unknown>

export interface ConfigViewJson {
  /** The config in force (passwords in URLs redacted). */
  config: Record<string, unknown>
  /** The config file changes are written to; null when the node runs without one. */
  file: string | null
  /** Dotted keys applied at once when changed, with what applying them does. */
  hot: Record<string, string>
  /** Keys changed at run time that take effect at the next start, with the value written. */
  pendingRestart: Array<{ key: string, value: unknown }>
}

export interface ConfigChangeJson {
  key: string
  before: unknown
  after: unknown
  /** true: in force now; false: written, used from the next start. */
  applied: boolean
}

export interface ConfigPatchJson extends ConfigViewJson {
  /** Keys in force now. */
  applied: string[]
  /** Keys written to the file that need a restart. */
  restart: string[]
  changes: ConfigChangeJson[]
  /** Whether the changes were written to `file` (false without a config file: hot keys last until the node stops). */
  persisted: boolean
  /** Changed keys an env variable or a flag sets at start, so the file's value will not be the one used. */
  overridden: Array<{ key: string, source: string, origin: string | null }>
}
