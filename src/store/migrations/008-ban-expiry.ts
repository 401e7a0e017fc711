import type { Migration } from './index.ts'

/**
 * A ban asked for with a duration past the safe integers (a huge
 * durationMs) stored an expiry node:sqlite refuses to read back, so the
 * peers table, and with it the node's start, failed. Such a ban becomes
 * what it meant: a ban without expiry (Number.MAX_SAFE_INTEGER, BAN_FOREVER).
 * New bans are clamped before they are written (PeerBook.banNow).
 */
export const m008BanExpiry: Migration = {
  version: 8,
  name: 'bans: expiries past the safe integers become bans without expiry',
  up: `
    UPDATE peers SET banned_until = 9007199254740991 WHERE banned_until > 9007199254740991;
  `
}
