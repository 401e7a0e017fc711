/**
 * Invites: one copy-pasteable line that lets a node off the LAN join.
 *
 *   agora-invite:1:<base64url of the JSON { v, peer, addrs, iat, exp, psk?, sig }>
 *
 * `sig` is the inviting node's Ed25519 signature over `agora:invite:1`, a
 * NUL byte and the RFC 8785 canonical JSON of the other fields; it is
 * checked against the key the peer id embeds, so an invite cannot be
 * altered or issued in another node's name. Reading an invite checks, in
 * order: prefix, size, base64url, JSON, schema (E1310) → signature (E1311)
 * → expiry (E1312).
 */
import { verify as cryptoVerify } from 'node:crypto'
import canonicalize from 'canonicalize'
import { z } from 'zod'
import { AgoraError, messageOf } from '../errors.ts'
import { peerIdToPublicKey } from '../identity/public-keys.ts'
import type { NodeIdentity } from '../identity/keys.ts'
import { bootstrapAddressProblem, peerIdOf } from './bootstrap-address.ts'
import { INVITE_PREFIX, INVITE_SIGNING_DOMAIN, MAX_INVITE_ADDRESSES, MAX_INVITE_CHARS } from './constants.ts'

const peerIdField = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected an Ed25519 peer id (12D3KooW…)')

/** The signed fields of an invite. */
export const inviteBodySchema = z.object({
  v: z.literal(1),
  /** The inviting node: the signer, and the peer every address ends with. */
  peer: peerIdField,
  /** Where to dial it: full multiaddrs ending in /p2p/<peer>. */
  addrs: z.array(z.string().min(1).max(512)).min(1).max(MAX_INVITE_ADDRESSES),
  /** Issued and expires at, in ms since the epoch. */
  iat: z.number().int().nonnegative(),
  exp: z.number().int().positive(),
  /** The private network's swarm key (64 hex digits), when the invite carries it. */
  psk: z.string().regex(/^[0-9a-f]{64}$/, 'expected a 32-byte swarm key in hex').optional()
}).strict()

const signedInviteSchema = inviteBodySchema.extend({
  /** Ed25519 signature (64 bytes), base64url without padding. */
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected a 64-byte signature in base64url')
}).strict()

type InviteBody = z.infer<typeof inviteBodySchema>

/** An invite that checked out. */
export interface Invite {
  peerId: string
  addresses: string[]
  issuedAt: number
  expiresAt: number
  /** The swarm key (64 hex digits) of a private network, when included. */
  psk?: string
}

export interface SignInviteInit {
  addresses: readonly string[]
  expiresAt: number
  psk?: string
  now?: number
}

/** Sign an invite as `identity`; the addresses must end in its own /p2p/ id. */
export function signInvite (identity: Pick<NodeIdentity, 'peerIdString' | 'sign'>, init: SignInviteInit): string {
  const body: InviteBody = inviteBodySchema.parse({
    v: 1,
    peer: identity.peerIdString,
    addrs: [...init.addresses],
    iat: init.now ?? Date.now(),
    exp: init.expiresAt,
    ...(init.psk === undefined ? {} : { psk: init.psk })
  })
  const sig = Buffer.from(identity.sign(signingBytes(body))).toString('base64url')
  return INVITE_PREFIX + Buffer.from(JSON.stringify({ ...body, sig }), 'utf8').toString('base64url')
}

/** Decode and check an invite; E1310 (malformed), E1311 (signature) or E1312 (expired). */
export function readInvite (text: string, now: number = Date.now()): Invite {
  const signed = decodeInvite(text)
  const { sig, ...body } = signed
  if (!signatureHolds(body, sig)) {
    throw new AgoraError('E1311', 'the invite\'s signature does not check out', { why: `it was altered, or not signed by ${body.peer}, the node it names` })
  }
  if (body.exp <= now) {
    throw new AgoraError('E1312', `the invite expired at ${new Date(body.exp).toISOString()}`, { why: `${agoText(now - body.exp)} ago; it was issued at ${new Date(body.iat).toISOString()}`, details: { expiresAt: body.exp } })
  }
  return { peerId: body.peer, addresses: body.addrs, issuedAt: body.iat, expiresAt: body.exp, ...(body.psk === undefined ? {} : { psk: body.psk }) }
}

/** Prefix, size, base64url, JSON, schema and addresses; E1310 naming what is wrong. */
function decodeInvite (raw: string): z.infer<typeof signedInviteSchema> {
  const text = raw.trim()
  if (text.length > MAX_INVITE_CHARS) throw malformed(`it is ${text.length} characters long; an invite has at most ${MAX_INVITE_CHARS}`)
  if (!text.startsWith(INVITE_PREFIX)) {
    throw malformed(text.startsWith('agora-invite:') ? 'it is of another format version than this agora reads (1)' : `it does not start with ${INVITE_PREFIX}`)
  }
  const encoded = text.slice(INVITE_PREFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw malformed('after the prefix comes base64url text only (letters, digits, - and _)')
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64url')))
  } catch (err) {
    throw malformed(`its body is not JSON: ${messageOf(err)} (was it cut short?)`)
  }
  const result = signedInviteSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const field = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.map(String).join('.')
    throw malformed(`field ${field}: ${issue?.message ?? 'invalid'}`)
  }
  for (const address of result.data.addrs) {
    const problem = bootstrapAddressProblem(address)
    if (problem !== undefined) throw malformed(`address ${address}: ${problem}`)
    if (peerIdOf(address) !== result.data.peer) throw malformed(`address ${address} is another peer's than the inviting node's, ${result.data.peer}`)
  }
  return result.data
}

function signatureHolds (body: InviteBody, sig: string): boolean {
  try {
    return cryptoVerify(null, signingBytes(body), peerIdToPublicKey(body.peer), Buffer.from(sig, 'base64url'))
  } catch {
    return false // a peer id that decodes to no Ed25519 key verifies nothing
  }
}

function signingBytes (body: InviteBody): Uint8Array {
  return new TextEncoder().encode(INVITE_SIGNING_DOMAIN + '\u0000' + (canonicalize(body) ?? ''))
}

function malformed (why: string): AgoraError {
  return new AgoraError('E1310', 'this is not a valid invite', { why })
}

/** "3 h 20 min", "2 d 4 h", "45 s": how long ago, for a person. */
function agoText (ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min`
  const h = Math.floor(min / 60)
  if (h < 48) return `${h} h ${min % 60} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}
