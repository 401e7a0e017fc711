/**
 * The config file's format version: a top-level `version` key. It is file
 * metadata, not a setting: no env variable or flag sets it, `config set`
 * does not touch it, and only `agora config migrate` raises it. A file
 * without it was written before versions existed and reads as version 1.
 */
import { AgoraError } from '../errors.ts'

/** The format version this agora writes and reads. Raise it with a new step in migrate.ts. */
export const CONFIG_VERSION = 1

/** The top-level key that holds it. */
export const VERSION_KEY = 'version'

/** A file's version as written: 0 when it has none (older than versions). */
export function fileVersionOf (data: Record<string, unknown>): number | undefined {
  const value = data[VERSION_KEY]
  if (value === undefined || value === null) return 0
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined
}

/** E1330 when the file was written by a newer agora: its keys may mean something this one does not know. */
export function assertKnownVersion (data: Record<string, unknown>, file: string): void {
  const version = fileVersionOf(data)
  if (version === undefined || version <= CONFIG_VERSION) return
  throw new AgoraError('E1330', `config file ${file} has version ${version}, newer than this agora knows (${CONFIG_VERSION})`, {
    why: 'it was written or migrated by a newer agora; its keys may mean something this one would misread',
    details: { file, version, known: CONFIG_VERSION }
  })
}
