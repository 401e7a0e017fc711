/**
 * Checks one verification envelope from a peer, cheapest first, so a flood
 * or junk costs no signature check:
 *   size and envelope shape (E111, E110) → signer = gossip author (E1215)
 *   → kind (E113) → payload schema
 *   (E1210) → per-signer rate limit (E1211) → Lamport time above the last
 *   one seen from that signer on that thread (E1212) → an ATTEST in the
 *   thread's current epoch (E1213), and a reveal matching its commitment
 *   (E1214) → signature, age, clock skew and replay guard (the envelope
 *   verifier: E112, E115, E116, E114).
 * Only an envelope that passes everything changes what is remembered (the
 * Lamport times, the epoch fence a DECIDE raises, ATTEST commitments), so
 * a forged message cannot move a thread forward or fence anyone off. A
 * DECIDE of an older epoch is not refused here: after a partition heals it
 * is how the other side's decision arrives, and the DecisionBook keeps it
 * as a loser to reconcile. Memory is bounded: at most `maxThreads` threads
 * are remembered (the least recently touched is forgotten first), each with
 * at most MAX_PER_THREAD signers' times and commitments.
 */
import { AgoraError } from '../errors.ts'
import { decodeEnvelope, parseEnvelope, type Envelope, type EnvelopeVerifier } from '../identity/index.ts'
import { KeyedRateLimiter } from '../p2p/index.ts'
import { attestCommitment, VERIFY_KINDS, VERIFY_SCHEMAS, type VerifyKind, type VerifyPayload } from './messages.ts'
import { setBounded } from './bounded.ts'

export interface VerifyValidatorComponents {
  /** Signature, time window and the persisted replay guard. */
  envelopes: Pick<EnvelopeVerifier, 'verify'>
}

export interface VerifyValidatorInit {
  /** Messages per second one signer may send (a burst of as many). */
  perSignerPerSecond?: number
  maxThreads?: number
  now?: () => number
}

export interface Accepted<K extends VerifyKind = VerifyKind> {
  kind: K
  envelope: Envelope
  payload: VerifyPayload<K>
}

interface ThreadState {
  /** The epoch fence: the highest epoch of an accepted DECIDE. */
  epoch: number
  /** signer → the last Lamport time accepted from it. */
  lamport: Map<string, number>
  /** `verifier subtask worker epoch` → the commitment of its ATTEST. */
  commitments: Map<string, string>
}

const DEFAULT_PER_SIGNER_PER_SECOND = 50
const DEFAULT_MAX_THREADS = 100_000
/** Signers' Lamport times and ATTEST commitments one thread keeps at most (the oldest forgotten first). */
const MAX_PER_THREAD = 4096
const KINDS: ReadonlySet<string> = new Set(VERIFY_KINDS)

export class VerifyValidator {
  private readonly envelopes: Pick<EnvelopeVerifier, 'verify'>
  private readonly limiter: KeyedRateLimiter
  private readonly maxThreads: number
  private readonly now: () => number
  private readonly threads = new Map<string, ThreadState>()

  constructor (components: VerifyValidatorComponents, init: VerifyValidatorInit = {}) {
    this.envelopes = components.envelopes
    this.now = init.now ?? Date.now
    const perSecond = init.perSignerPerSecond ?? DEFAULT_PER_SIGNER_PER_SECOND
    this.limiter = new KeyedRateLimiter({ perSecond, burst: perSecond, now: this.now })
    this.maxThreads = init.maxThreads ?? DEFAULT_MAX_THREADS
  }

  /**
   * Check `input` (wire bytes or a decoded envelope); the accepted message,
   * or the refusal thrown. `author`: the peer gossip says published it — the
   * signer must be that peer (E1215), checked before anything is remembered.
   * `own`: this node's own message, not held to the per-signer rate.
   */
  accept (input: Uint8Array | Envelope, options: { author?: string, own?: boolean } = {}): Accepted {
    const envelope = input instanceof Uint8Array ? decodeEnvelope(input) : parseEnvelope(input)
    if (options.author !== undefined && envelope.from !== options.author) {
      throw new AgoraError('E1215', `${envelope.kind} signed by ${envelope.from} published by ${options.author}`, { details: { kind: envelope.kind, from: envelope.from, author: options.author } })
    }
    if (!KINDS.has(envelope.kind)) throw new AgoraError('E113', `unexpected ${envelope.kind} envelope`, { why: `verification takes ${VERIFY_KINDS.join(', ')}`, details: { kind: envelope.kind } })
    const kind = envelope.kind as VerifyKind
    const parsed = VERIFY_SCHEMAS[kind].safeParse(envelope.payload)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const field = issue === undefined || issue.path.length === 0 ? '(payload)' : issue.path.map(String).join('.')
      throw new AgoraError('E1210', `malformed ${kind}: field ${field}`, { why: issue?.message ?? 'invalid', details: { kind, field, from: envelope.from } })
    }
    const payload = parsed.data
    if (options.own !== true && !this.limiter.take(envelope.from)) throw new AgoraError('E1211', `too many verification messages from ${envelope.from}`, { details: { kind, from: envelope.from } })
    const state = this.threads.get(payload.thread)
    const last = state?.lamport.get(envelope.from)
    if (last !== undefined && payload.lamport <= last) {
      throw new AgoraError('E1212', `stale ${kind} for thread ${payload.thread}`, { why: `Lamport ${payload.lamport}, the last from ${envelope.from} was ${last}`, details: { kind, thread: payload.thread, from: envelope.from } })
    }
    if (kind === 'ATTEST') this.checkAttest(envelope, payload as VerifyPayload<'ATTEST'>, state)
    this.envelopes.verify(envelope, { kind, now: this.now() })
    this.remember(envelope, kind, payload)
    return { kind, envelope, payload } as Accepted
  }

  /** The thread's epoch fence (0 before any DECIDE). */
  epochOf (thread: string): number {
    return this.threads.get(thread)?.epoch ?? 0
  }

  private checkAttest (envelope: Envelope, p: VerifyPayload<'ATTEST'>, state: ThreadState | undefined): void {
    const fence = state?.epoch ?? 0
    if (p.epoch < fence) {
      throw new AgoraError('E1213', `ATTEST of epoch ${p.epoch} for thread ${p.thread}`, { why: `the thread is at epoch ${fence}`, details: { thread: p.thread, from: envelope.from } })
    }
    if (p.phase === 'reveal') {
      const committed = state?.commitments.get(commitmentKey(envelope.from, p))
      if (committed !== attestCommitment(p.verdict, p.resultHash, p.salt)) {
        throw new AgoraError('E1214', `ATTEST reveal from ${envelope.from} for subtask ${p.subtask}`, {
          why: committed === undefined ? 'no commitment came before it' : 'it does not match the commitment', details: { thread: p.thread, from: envelope.from }
        })
      }
    }
  }

  private remember (envelope: Envelope, kind: VerifyKind, payload: VerifyPayload<VerifyKind>): void {
    let state = this.threads.get(payload.thread)
    // re-inserted: the map's order is the order threads were last touched
    if (state !== undefined) this.threads.delete(payload.thread)
    state ??= { epoch: 0, lamport: new Map(), commitments: new Map() }
    setBounded(this.threads, payload.thread, state, this.maxThreads)
    setBounded(state.lamport, envelope.from, payload.lamport, MAX_PER_THREAD)
    if (kind === 'DECIDE') state.epoch = Math.max(state.epoch, payload.epoch)
    if (kind === 'ATTEST') {
      const p = payload as VerifyPayload<'ATTEST'>
      if (p.phase === 'commit') setBounded(state.commitments, commitmentKey(envelope.from, p), p.commitment, MAX_PER_THREAD)
    }
  }
}

function commitmentKey (verifier: string, p: { subtask: string, worker: string, epoch: number }): string {
  return `${verifier} ${p.subtask} ${p.worker} ${p.epoch}`
}
