/**
 * Checks one OFFER or WITHDRAW envelope from a peer, the same way whether it
 * came by gossip or in an anti-entropy page. Cheap checks first, so
 * duplicates (common in sync) and junk cost no signature check:
 *   sender banned (E808) → size (E801) → JSON, envelope and payload schema,
 *   kind OFFER or WITHDRAW (E800) → envelope from = offer node = gossip
 *   sender (E803) → timestamp and expiry: not expired (E804), not beyond
 *   ttl + skew (E805) → Lamport: lower is stale (E806), equal a duplicate
 *   (dropped quietly) → signature (E802) → per-origin rate limit (E807);
 *   on gossip, whose author gossipsub authenticated, the rate limit comes
 *   before the signature check, so a flood costs no verification; in a
 *   sync round, a node met before in the round is a duplicate at once.
 * No replay guard: re-gossiped and synced offers are legitimately seen
 * again; the per-origin Lamport is the replay protection.
 */
import { AgoraError, messageOf, type ErrorCode } from '../errors.ts'
import { parseEnvelope, verifySignatureOnly, type Envelope } from '../identity/index.ts'
import { KeyedRateLimiter } from '../p2p/index.ts'
import { offerSchema, withdrawSchema, type Offer } from './schema.ts'
import type { OfferEntry, OfferTable } from './table.ts'

export type RejectReason = 'banned' | 'oversized' | 'malformed' | 'sender' | 'expired' | 'clock' | 'stale' | 'signature' | 'rate-limited'

/** The error code of each rejection. */
export const REJECT_CODES: Record<RejectReason, ErrorCode> = {
  malformed: 'E800',
  oversized: 'E801',
  signature: 'E802',
  sender: 'E803',
  expired: 'E804',
  clock: 'E805',
  stale: 'E806',
  'rate-limited': 'E807',
  banned: 'E808'
}

export interface IncomingOffer {
  /** The envelope as bytes (gossip) or JSON text (an anti-entropy page). */
  data: Uint8Array | string
  via: 'gossip' | 'sync'
  /** The peer that handed it to us: gossip propagation source or sync responder. */
  peer: string
  /** Gossip only: the author gossipsub authenticated (must be the origin). */
  author?: string
  /**
   * Sync only: the origins already met in this anti-entropy round. A table
   * holds one entry per node, so an honest round brings each origin once;
   * a second envelope of one is dropped as a duplicate before any signature
   * check (a responder serving one node's offers over and over made us
   * verify every copy).
   */
  round?: Set<string>
}

export type Verdict =
  | { status: 'ok', entry: OfferEntry }
  | { status: 'duplicate', origin: string }
  | {
    status: 'rejected'
    reason: RejectReason
    error: AgoraError
    /** The peer to count the rejection against, if it is to blame. */
    blame: string | undefined
  }

export interface OfferValidatorComponents {
  table: Pick<OfferTable, 'compare'>
}

export interface OfferValidatorInit {
  maxOfferBytes: number
  ttlMs: number
  maxSkewMs: number
  perOriginPerMinute: number
  now?: () => number
}

const decoder = new TextDecoder('utf-8', { fatal: true })

export class OfferValidator {
  private readonly table: Pick<OfferTable, 'compare'>
  private readonly maxOfferBytes: number
  private readonly ttlMs: number
  private readonly maxSkewMs: number
  private readonly now: () => number
  private readonly limiter: KeyedRateLimiter

  constructor (components: OfferValidatorComponents, init: OfferValidatorInit) {
    this.table = components.table
    this.maxOfferBytes = init.maxOfferBytes
    this.ttlMs = init.ttlMs
    this.maxSkewMs = init.maxSkewMs
    this.now = init.now ?? Date.now
    const perMinute = Math.max(1, init.perOriginPerMinute)
    this.limiter = new KeyedRateLimiter({
      perSecond: perMinute / 60,
      // ten seconds' worth, at least two: an announcement right after a change is normal
      burst: Math.max(2, Math.ceil(perMinute / 6)),
      now: this.now,
      maxKeys: 20_000
    })
  }

  /** Check one incoming envelope; `isBanned` peers are dropped before any work. Never throws. */
  check (input: IncomingOffer, isBanned: (peer: string) => boolean = () => false): Verdict {
    // blame: true → the peer that handed it to us, false → nobody, a string → that peer
    const reject = (reason: RejectReason, what: string, why: string, blame: boolean | string = true): Verdict => ({
      status: 'rejected',
      reason,
      error: new AgoraError(REJECT_CODES[reason], what, { why, details: { peer: input.peer, via: input.via } }),
      blame: blame === true ? input.peer : blame === false ? undefined : blame
    })

    if (isBanned(input.peer)) return reject('banned', 'offer from a banned peer', `${input.peer} is banned`, false)
    const size = typeof input.data === 'string' ? Buffer.byteLength(input.data) : input.data.byteLength
    if (size > this.maxOfferBytes) return reject('oversized', 'offer too large', `${size} bytes, the limit is ${this.maxOfferBytes}`)

    let raw: string
    let envelope: Envelope
    try {
      raw = typeof input.data === 'string' ? input.data : decoder.decode(input.data)
      envelope = parseEnvelope(JSON.parse(raw))
    } catch (err) {
      return reject('malformed', 'malformed offer envelope', messageOf(err))
    }
    let offer: Offer | undefined
    let offerId: string
    let lamport: number
    if (envelope.kind === 'OFFER') {
      const parsed = offerSchema.safeParse(envelope.payload)
      if (!parsed.success) return reject('malformed', 'malformed offer', issueOf(parsed.error.issues))
      offer = parsed.data
      offerId = offer.id
      lamport = offer.lamport
      if (offer.node !== envelope.from) return reject('sender', 'offer for another node', `signed by ${envelope.from} for ${offer.node}`)
    } else if (envelope.kind === 'WITHDRAW') {
      const parsed = withdrawSchema.safeParse(envelope.payload)
      if (!parsed.success) return reject('malformed', 'malformed withdrawal', issueOf(parsed.error.issues))
      offerId = parsed.data.offerId
      lamport = parsed.data.lamport
    } else {
      return reject('malformed', `unexpected ${envelope.kind} envelope on the offers path`, 'expected OFFER or WITHDRAW')
    }
    const origin = envelope.from
    if (input.author !== undefined && input.author !== origin) {
      return reject('sender', 'offer gossiped by another node', `${input.author} published an offer of ${origin}`)
    }
    if (input.round !== undefined) {
      if (input.round.has(origin)) return { status: 'duplicate', origin }
      input.round.add(origin)
    }

    const now = this.now()
    if (envelope.ts - now > this.maxSkewMs) return reject('clock', 'offer dated in the future', `${envelope.ts - now} ms ahead`)
    // a WITHDRAW lives as long as any offer it replaces could: ttl + skew after it was signed
    const expiresAt = offer?.expiresAt ?? envelope.ts + this.ttlMs + this.maxSkewMs
    if (expiresAt <= now) {
      // just expired may be a race on a slow path; expired by more than the skew is a peer serving junk
      const blame = now - expiresAt > this.maxSkewMs
      return reject('expired', `${envelope.kind === 'OFFER' ? 'offer' : 'withdrawal'} expired`, `${now - expiresAt} ms ago`, blame)
    }
    if (expiresAt - now > this.ttlMs + this.maxSkewMs) {
      return reject('clock', 'offer expiry too far ahead', `expires in ${expiresAt - now} ms, the limit is ${this.ttlMs + this.maxSkewMs} ms`)
    }

    const order = this.table.compare(origin, envelope.kind, lamport, now)
    if (order === 'duplicate') return { status: 'duplicate', origin }
    if (order === 'stale') {
      // in a sync page, an older copy is a race with gossip, not the responder's fault
      return reject('stale', 'stale offer', `Lamport ${lamport} is older than the one held for ${origin}`, input.via === 'gossip')
    }

    // gossip authenticated the author (= origin) already: a flood is cut before our own signature check;
    // otherwise the signature comes first, so forgeries cannot spend an origin's budget
    const authenticated = input.author !== undefined
    if (authenticated && !this.limiter.take(origin)) return this.overLimit(origin, reject)
    try {
      verifySignatureOnly(envelope)
    } catch (err) {
      return reject('signature', 'bad offer signature', messageOf(err))
    }
    if (!authenticated && !this.limiter.take(origin)) return this.overLimit(origin, reject)
    return { status: 'ok', entry: { origin, offerId, lamport, kind: envelope.kind, expiresAt, raw, offer } }
  }

  private overLimit (origin: string, reject: Reject): Verdict {
    return reject('rate-limited', 'too many offers from one node', `${origin} is over offers.perOriginPerMinute`, origin)
  }
}

type Reject = (reason: RejectReason, what: string, why: string, blame?: boolean | string) => Verdict

function issueOf (issues: ReadonlyArray<{ path: PropertyKey[], message: string }>): string {
  const issue = issues[0]
  if (issue === undefined) return 'invalid'
  return `${issue.path.length === 0 ? '(payload)' : issue.path.map(String).join('.')}: ${issue.message}`
}
