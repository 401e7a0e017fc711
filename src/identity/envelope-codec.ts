/**
 * The signed envelope's one schema, its wire codec (JSON in UTF-8) and the
 * domain-separated bytes a signature covers:
 *   UTF-8 `agora:v1:<kind>` + 0x00 + RFC 8785 canonical JSON of
 *   {v, kind, from, to?, ts, nonce, payload}.
 */
import canonicalize from 'canonicalize'
import { z } from 'zod'
import { AgoraError, messageOf } from '../errors.ts'
import { DEFAULT_MAX_ENVELOPE_BYTES, ENVELOPE_VERSION, SIGNING_DOMAIN } from './constants.ts'

/** Every kind of application message. */
export const ENVELOPE_KINDS = [
  'OFFER', 'WITHDRAW', 'NEED', 'PROPOSE', 'REQUEST', 'ACCEPT', 'REJECT', 'CONTRACT',
  'CLAIM', 'COMMIT', 'ATTEST', 'DECIDE', 'FINALIZE', 'RECEIPT', 'CHALLENGE', 'INVALIDATE',
  'RECONCILE', 'YIELD', 'PACKAGE', 'RATING', 'CHECKPOINT', 'INFO', 'PAYMENT', 'VOID'
] as const

export type EnvelopeKind = typeof ENVELOPE_KINDS[number]

/** An Ed25519 peer id in base58btc: identity multihash, always `12D3KooW` + 44 characters. */
const peerIdField = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected an Ed25519 peer id (12D3KooW…)')

export const envelopeSchema = z.object({
  /** Format version. */
  v: z.literal(ENVELOPE_VERSION),
  kind: z.enum(ENVELOPE_KINDS),
  /** Signer's peer id. */
  from: peerIdField,
  /** Addressee's peer id, for messages meant for one node. */
  to: peerIdField.optional(),
  /** Milliseconds since the epoch, by the signer's clock. */
  ts: z.number().int().nonnegative(),
  /** 16 random bytes, base64url without padding. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected 16 bytes in base64url'),
  /** Any JSON value; its meaning depends on `kind`. */
  payload: z.unknown().refine(value => value !== undefined, 'required'),
  /** Ed25519 signature (64 bytes), base64url without padding. */
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected a 64-byte signature in base64url')
}).strict()

export type Envelope = z.infer<typeof envelopeSchema>

/** The fields a signature covers (all but `sig`). */
export type UnsignedEnvelope = Omit<Envelope, 'sig'>

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeEnvelope (envelope: Envelope): Uint8Array {
  return encoder.encode(JSON.stringify(envelope))
}

/** Bytes → envelope: size first (E111), then UTF-8, JSON and schema (E110). */
export function decodeEnvelope (bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_ENVELOPE_BYTES): Envelope {
  if (bytes.byteLength > maxBytes) {
    throw new AgoraError('E111', 'envelope too large', { why: `${bytes.byteLength} bytes, the limit is ${maxBytes}`, details: { size: bytes.byteLength, maxBytes } })
  }
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new AgoraError('E110', 'malformed envelope', { why: `not JSON in UTF-8: ${messageOf(err)}`, cause: err })
  }
  return parseEnvelope(value)
}

/** Check a value against the schema; E110 naming the first bad field. */
export function parseEnvelope (value: unknown): Envelope {
  const result = envelopeSchema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? '(envelope)' : issue.path.map(String).join('.')
  const unknownKeys = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : undefined
  throw new AgoraError('E110', `malformed envelope: field ${unknownKeys ?? field}`, {
    why: unknownKeys === undefined ? issue?.message ?? 'invalid' : 'unknown field',
    details: { field: unknownKeys ?? field }
  })
}

/** The bytes a signature covers. E110 when the payload has no canonical JSON form. */
export function signingBytes (fields: UnsignedEnvelope): Uint8Array {
  const { v, kind, from, to, ts, nonce, payload } = fields
  let body: string | undefined
  try {
    body = canonicalize(to === undefined ? { v, kind, from, ts, nonce, payload } : { v, kind, from, to, ts, nonce, payload })
  } catch (err) {
    throw new AgoraError('E110', 'malformed envelope: field payload', { why: `no canonical JSON form: ${messageOf(err)}`, details: { field: 'payload' }, cause: err })
  }
  if (body === undefined) {
    throw new AgoraError('E110', 'malformed envelope: field payload', { why: 'no canonical JSON form', details: { field: 'payload' } })
  }
  // the domain, a 0x00 separator, then the canonical body
  return encoder.encode(SIGNING_DOMAIN + kind + '\u0000' + body)
}
