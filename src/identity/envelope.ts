/**
 * Signing and verifying envelopes. Verification order: size (E111) → shape
 * (E110) → expected kind (E113) → addressee (E117) → age (E115) and future
 * skew (E116) → signature (E112) → replay (E114). The nonce is recorded only
 * after the signature checks out, so forged messages cannot fill the guard.
 */
import { randomBytes, verify as cryptoVerify } from 'node:crypto'
import { AgoraError, type ErrorCode } from '../errors.ts'
import type { ReplayRepository } from '../store/index.ts'
import {
  DEFAULT_MAX_AGE_MS, DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_SKEW_MS, ENVELOPE_VERSION, NONCE_BYTES
} from './constants.ts'
import { decodeEnvelope, parseEnvelope, signingBytes, type Envelope, type EnvelopeKind, type UnsignedEnvelope } from './envelope-codec.ts'
import type { NodeIdentity } from './keys.ts'
import { peerIdToPublicKey } from './public-keys.ts'

export interface SignEnvelopeInit {
  kind: EnvelopeKind
  /** Any JSON value (not undefined). */
  payload: Envelope['payload']
  /** Addressee's peer id, for messages meant for one node. */
  to?: string
}

/** Sign a new envelope with a fresh nonce, dated `now`. */
export function signEnvelope (identity: NodeIdentity, init: SignEnvelopeInit, now: number = Date.now()): Envelope {
  const unsigned: UnsignedEnvelope = {
    v: ENVELOPE_VERSION,
    kind: init.kind,
    from: identity.peerIdString,
    ...(init.to === undefined ? {} : { to: init.to }),
    ts: now,
    nonce: randomBytes(NONCE_BYTES).toString('base64url'),
    payload: init.payload
  }
  const sig = Buffer.from(identity.sign(signingBytes(unsigned))).toString('base64url')
  return { ...unsigned, sig }
}

/**
 * Check that `from` signed the envelope, with no replay or clock checks (for
 * re-validating stored messages). Throws E112 (or E110 for a bad `from`).
 */
export function verifySignatureOnly (envelope: Envelope): Envelope {
  const { sig: _sig, ...unsigned } = envelope
  assertSignature(envelope, signingBytes(unsigned))
  return envelope
}

function assertSignature (envelope: Envelope, data: Uint8Array): void {
  const key = peerIdToPublicKey(envelope.from)
  if (!cryptoVerify(null, data, key, Buffer.from(envelope.sig, 'base64url'))) {
    throw new AgoraError('E112', `bad signature on a ${envelope.kind} envelope`, {
      why: `it does not verify with the key of ${envelope.from}`,
      details: { kind: envelope.kind, from: envelope.from }
    })
  }
}

/** The persisted (signer, nonce) guard; `ReplayRepository` from the store. */
export type ReplayGuard = Pick<ReplayRepository, 'remember' | 'prune'>

export interface EnvelopeVerifierComponents {
  replay: ReplayGuard
}

export interface EnvelopeVerifierInit {
  /** This node's peer id: envelopes addressed elsewhere are refused (E117). */
  selfPeerId?: string
  /** Largest envelope accepted, in bytes (default 256 KiB). */
  maxBytes?: number
  /** Oldest envelope accepted, in ms (default 5 min). */
  maxAgeMs?: number
  /** How far in the future a timestamp may be, in ms (default 30 s). */
  maxSkewMs?: number
}

export interface VerifyOptions {
  /** Kind(s) this caller accepts (E113 otherwise); any kind when unset. */
  kind?: EnvelopeKind | readonly EnvelopeKind[]
  /** Clock, in ms since the epoch (default `Date.now()`). */
  now?: number
}

export interface EnvelopeVerifierStats {
  accepted: number
  /** Rejections by error code. */
  rejected: Partial<Record<ErrorCode, number>>
}

export class EnvelopeVerifier {
  private readonly replay: ReplayGuard
  private readonly selfPeerId: string | undefined
  private readonly maxBytes: number
  private readonly maxAgeMs: number
  private readonly maxSkewMs: number
  private accepted = 0
  private readonly rejected = new Map<ErrorCode, number>()

  constructor (components: EnvelopeVerifierComponents, init: EnvelopeVerifierInit = {}) {
    this.replay = components.replay
    this.selfPeerId = init.selfPeerId
    this.maxBytes = init.maxBytes ?? DEFAULT_MAX_ENVELOPE_BYTES
    this.maxAgeMs = init.maxAgeMs ?? DEFAULT_MAX_AGE_MS
    this.maxSkewMs = init.maxSkewMs ?? DEFAULT_MAX_SKEW_MS
  }

  /** Decode wire bytes and verify them; see the module comment for the order. */
  decodeAndVerify (bytes: Uint8Array, options: VerifyOptions = {}): Envelope {
    return this.count(() => this.check(decodeEnvelope(bytes, this.maxBytes), options, false))
  }

  /**
   * Verify an envelope decoded elsewhere. Its shape is checked again, and its
   * size is checked on the signed bytes.
   */
  verify (envelope: Envelope, options: VerifyOptions = {}): Envelope {
    return this.count(() => this.check(parseEnvelope(envelope), options, true))
  }

  /** Forget nonces whose envelopes the time window refuses anyway. */
  pruneExpired (now: number = Date.now()): number {
    return this.replay.prune(now)
  }

  stats (): EnvelopeVerifierStats {
    return { accepted: this.accepted, rejected: Object.fromEntries(this.rejected) }
  }

  private check (envelope: Envelope, options: VerifyOptions, checkSize: boolean): Envelope {
    const expected = options.kind
    if (expected !== undefined && !(typeof expected === 'string' ? expected === envelope.kind : expected.includes(envelope.kind))) {
      throw new AgoraError('E113', `unexpected ${envelope.kind} envelope`, {
        why: `expected ${typeof expected === 'string' ? expected : expected.join(' or ')}`,
        details: { kind: envelope.kind, expected }
      })
    }
    if (envelope.to !== undefined && this.selfPeerId !== undefined && envelope.to !== this.selfPeerId) {
      throw new AgoraError('E117', `${envelope.kind} envelope addressed to another node`, { why: `it is for ${envelope.to}`, details: { to: envelope.to } })
    }
    const now = options.now ?? Date.now()
    if (now - envelope.ts > this.maxAgeMs) {
      throw new AgoraError('E115', `${envelope.kind} envelope too old`, {
        why: `dated ${now - envelope.ts} ms ago, the limit is ${this.maxAgeMs} ms`,
        details: { ts: envelope.ts, now, maxAgeMs: this.maxAgeMs }
      })
    }
    if (envelope.ts - now > this.maxSkewMs) {
      throw new AgoraError('E116', `${envelope.kind} envelope dated in the future`, {
        why: `${envelope.ts - now} ms ahead, the limit is ${this.maxSkewMs} ms`,
        details: { ts: envelope.ts, now, maxSkewMs: this.maxSkewMs }
      })
    }
    this.checkSignature(envelope, checkSize)
    if (!this.replay.remember(envelope.from, envelope.nonce, envelope.ts + this.maxAgeMs + this.maxSkewMs)) {
      throw new AgoraError('E114', `replayed ${envelope.kind} envelope`, {
        why: `nonce ${envelope.nonce} from ${envelope.from} was seen before`,
        details: { from: envelope.from, nonce: envelope.nonce }
      })
    }
    return envelope
  }

  private checkSignature (envelope: Envelope, checkSize: boolean): void {
    const { sig, ...unsigned } = envelope
    const data = signingBytes(unsigned)
    if (checkSize && data.byteLength + sig.length > this.maxBytes) {
      throw new AgoraError('E111', 'envelope too large', { why: `over ${this.maxBytes} bytes`, details: { size: data.byteLength + sig.length, maxBytes: this.maxBytes } })
    }
    assertSignature(envelope, data)
  }

  private count (fn: () => Envelope): Envelope {
    try {
      const envelope = fn()
      this.accepted++
      return envelope
    } catch (err) {
      const code: ErrorCode = err instanceof AgoraError ? err.code : 'E599'
      this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1)
      throw err
    }
  }
}
