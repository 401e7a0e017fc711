/**
 * Results are identified by the sha256 (hex) of their canonical JSON
 * (RFC 8785, the `canonicalize` package, as the identity room signs).
 */
import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'
import { AgoraError, messageOf } from '../../errors.ts'

/** The canonical JSON of `value`; E1048 when it has none (undefined, a function, a cycle, a BigInt…). */
export function canonicalJson (value: unknown): string {
  let text: string | undefined
  try {
    text = canonicalize(value)
  } catch (err) {
    throw new AgoraError('E1048', 'the result has no canonical JSON form', { why: messageOf(err), cause: err })
  }
  if (text === undefined) throw new AgoraError('E1048', 'the result has no canonical JSON form', { why: 'it is undefined (or not a JSON value)' })
  return text
}

export function sha256Hex (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** sha256 (hex) of the result's canonical JSON. */
export function resultHash (value: unknown): string {
  return sha256Hex(canonicalJson(value))
}
