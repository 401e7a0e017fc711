/**
 * Versioned schema migrations, applied in order at open. Never edit a
 * published migration: add the next one. `version` is stored in
 * SQLite's `user_version`.
 */
import { m001Initial } from './001-initial.ts'

export interface Migration {
  version: number
  name: string
  up: string
}

export const MIGRATIONS: readonly Migration[] = [m001Initial]
