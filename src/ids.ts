/**
 * Random ids users type on the command line (offers, contracts, requests,
 * needs): 16 random bytes in base64url, never starting with '-' — the
 * command line would read `agora market request -x…` as an option (a
 * 1-in-64 chance the test suite met, for contracts and then for offers).
 */
import { randomBytes } from 'node:crypto'

export function newCliSafeId (): string {
  const id = randomBytes(16).toString('base64url')
  return id.startsWith('-') ? `A${id.slice(1)}` : id
}
