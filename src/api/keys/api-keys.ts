/**
 * API keys for the OpenAI-compatible API (/v1). A key is `agk_` and 32
 * random base64url characters, shown once at creation; the store keeps its
 * SHA-256 and its first characters (the prefix, for display and lookup).
 * Verifying looks the prefix up and compares hashes in constant time;
 * verified hashes are cached so a busy client costs one hash per request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { AgoraError } from '../../errors.ts'
import type { Database } from '../../store/index.ts'
import type { ApiKeyEntry, CreatedKeyResponse as CreatedApiKey } from '../../client/schemas.ts'

export const API_KEY_PREFIX = 'agk_'
/** Characters of a key kept for display and lookup ('agk_' + 8). */
export const KEY_PREFIX_LENGTH = 12
const KEY_NAME = /^[\w.@-]{1,64}$/
/** A key id: 8 hex digits. A name shaped like one would make `revoke <id or name>` ambiguous. */
const KEY_ID = /^[0-9a-f]{8}$/

export interface ApiKeysComponents {
  db: Database
}

export interface ApiKeysInit {
  /** Write last_used_at at most this often per key (ms). */
  touchIntervalMs?: number
  /** Verified keys remembered in memory. */
  cacheSize?: number
  now?: () => number
}

/** A key as listed (never the secret), and a new key with its secret, shown once: shapes shared with the client. */
export type { ApiKeyEntry, CreatedKeyResponse as CreatedApiKey } from '../../client/schemas.ts'

interface Row {
  id: string
  name: string
  hash: Uint8Array
  prefix: string
  created_at: number
  last_used_at: number | null
  revoked_at: number | null
}

export class ApiKeys {
  private readonly db: Database
  private readonly touchIntervalMs: number
  private readonly cacheSize: number
  private readonly now: () => number
  /** sha256 hex of a verified secret → key id (insertion order = age). */
  private readonly verified = new Map<string, string>()
  /** key id → last time last_used_at was written. */
  private readonly touched = new Map<string, number>()

  constructor (components: ApiKeysComponents, init: ApiKeysInit = {}) {
    this.db = components.db
    this.touchIntervalMs = init.touchIntervalMs ?? 60_000
    this.cacheSize = init.cacheSize ?? 1024
    this.now = init.now ?? Date.now
  }

  /** Make a key; the returned secret is the only copy. */
  create (name: string): CreatedApiKey {
    if (!KEY_NAME.test(name)) {
      throw new AgoraError('E502', `invalid key name '${name}'`, { why: 'use 1 to 64 letters, digits, `.`, `_`, `-` or `@`' })
    }
    if (KEY_ID.test(name)) throw new AgoraError('E502', `invalid key name '${name}'`, { why: 'it looks like a key id (8 hex digits), and keys are revoked by id or by name' })
    if (this.findActive(name) !== undefined) throw new AgoraError('E963', `an API key named '${name}' exists`)
    const key = API_KEY_PREFIX + randomBytes(24).toString('base64url')
    const id = randomBytes(4).toString('hex')
    this.db.prepare('INSERT INTO api_keys (id, name, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, name, sha256(key), key.slice(0, KEY_PREFIX_LENGTH), this.now())
    return { id, name, key }
  }

  /** Every key, active first, newest first. */
  list (): ApiKeyEntry[] {
    const rows = this.db.prepare('SELECT * FROM api_keys ORDER BY revoked_at IS NOT NULL, created_at DESC, id').all() as unknown as Row[]
    return rows.map(toEntry)
  }

  /**
   * Revoke by id or by the name of an active key; revoking twice is harmless.
   * An active key wins over a revoked one with that id. E505 when there is
   * no such key.
   */
  revoke (idOrName: string): ApiKeyEntry {
    const byId = this.byId(idOrName)
    const row = (byId?.revoked_at === null ? byId : undefined) ?? this.findActive(idOrName) ?? byId
    if (row === undefined) throw new AgoraError('E505', `no API key '${idOrName}'`)
    if (row.revoked_at === null) {
      const at = this.now()
      this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(at, row.id)
      row.revoked_at = at
    }
    for (const [hash, id] of this.verified) if (id === row.id) this.verified.delete(hash)
    this.touched.delete(row.id)
    return toEntry(row)
  }

  /** The id of the active key with this secret, or undefined. */
  verify (secret: string): string | undefined {
    if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 256) return undefined
    const hash = sha256(secret)
    const hex = hash.toString('hex')
    let id = this.verified.get(hex)
    if (id === undefined) {
      const rows = this.db.prepare('SELECT id, hash FROM api_keys WHERE prefix = ? AND revoked_at IS NULL')
        .all(secret.slice(0, KEY_PREFIX_LENGTH)) as unknown as Array<Pick<Row, 'id' | 'hash'>>
      id = rows.find(row => row.hash.length === hash.length && timingSafeEqual(row.hash, hash))?.id
      if (id === undefined) return undefined
      this.remember(hex, id)
    }
    this.touch(id)
    return id
  }

  private remember (hex: string, id: string): void {
    if (this.verified.size >= this.cacheSize) {
      const oldest = this.verified.keys().next()
      if (oldest.done !== true) this.verified.delete(oldest.value)
    }
    this.verified.set(hex, id)
  }

  private touch (id: string): void {
    const now = this.now()
    if (now - (this.touched.get(id) ?? -Infinity) < this.touchIntervalMs) return
    this.touched.set(id, now)
    this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(now, id)
  }

  private byId (id: string): Row | undefined {
    return this.db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as unknown as Row | undefined
  }

  private findActive (name: string): Row | undefined {
    return this.db.prepare('SELECT * FROM api_keys WHERE name = ? AND revoked_at IS NULL').get(name) as unknown as Row | undefined
  }
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

function toEntry (row: Row): ApiKeyEntry {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at }
}
