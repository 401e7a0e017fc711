/**
 * NEEDs and DECIDEs over gossip (/agora/needs/1). Incoming messages are
 * checked in gossipsub's topic validator, before they are forwarded: the
 * VerifyValidator's checks (signer = gossip author, schema, a per-signer
 * rate limit, rising Lamport times, signature, age, replay guard), only
 * NEED and DECIDE on this topic, and the thread must be the signer's own
 * (`<signer>/need/<id>`) — nobody can decide another buyer's need. A need
 * must close within the window a buyer may ask. A sender's fault is
 * rejected (its gossip score falls), a stale or rate-limited message
 * ignored. This node's own messages take the same checks before they go.
 */
import { isAgoraError, messageOf } from '../../errors.ts'
import { encodeEnvelope, type Envelope, type EnvelopeVerifier } from '../../identity/index.ts'
import { NEEDS_TOPIC, type Gossip, type GossipVerdict } from '../../p2p/index.ts'
import { VerifyValidator } from '../../verify/validator.ts'
import type { Logger } from '../../observability/logger.ts'
import type { VerifyPayload } from '../../verify/messages.ts'

export interface NeedsNetworkComponents {
  gossip: Pick<Gossip, 'subscribe' | 'validate' | 'publish'>
  envelopes: Pick<EnvelopeVerifier, 'verify'>
  log: Logger
  onNeed: (buyer: string, need: VerifyPayload<'NEED'>) => void
  onDecide: (buyer: string, decide: VerifyPayload<'DECIDE'>) => void
}

export interface NeedsNetworkInit {
  /** NEEDs and DECIDEs one signer may gossip per second (a burst of twice as many). */
  perSignerPerSecond?: number
  /** Furthest deadline a NEED may carry. */
  maxWindowMs: number
  now?: () => number
}

/** Codes that mean "not now" rather than "this sender misbehaves". */
const IGNORED = new Set(['E1211', 'E1212', 'E114', 'E115', 'E116'])

export class NeedsNetwork {
  private readonly c: NeedsNetworkComponents
  private readonly validator: VerifyValidator
  private readonly maxWindowMs: number
  private readonly now: () => number
  private readonly undo: Array<() => void> = []

  constructor (components: NeedsNetworkComponents, init: NeedsNetworkInit) {
    this.c = components
    this.now = init.now ?? Date.now
    this.maxWindowMs = init.maxWindowMs
    this.validator = new VerifyValidator({ envelopes: components.envelopes }, { perSignerPerSecond: init.perSignerPerSecond ?? 2, maxThreads: 10_000, now: this.now })
  }

  start (): void {
    this.undo.push(this.c.gossip.validate(NEEDS_TOPIC, ({ data, from }) => this.received(data, from)))
    this.undo.push(this.c.gossip.subscribe(NEEDS_TOPIC, () => {}))
  }

  stop (): void {
    for (const fn of this.undo.splice(0)) fn()
  }

  /** Check our own NEED or DECIDE like a peer's, then gossip it (nobody listening yet is not an error). */
  async publish (envelope: Envelope): Promise<void> {
    this.validator.accept(envelope, { own: true })
    try {
      await this.c.gossip.publish(NEEDS_TOPIC, encodeEnvelope(envelope))
    } catch (err) {
      if (!isAgoraError(err, 'E210')) throw err
    }
  }

  /** The topic validator: the verdict on one message, its effect applied when accepted. */
  received (data: Uint8Array, author: string): GossipVerdict {
    try {
      const accepted = this.validator.accept(data, { author })
      const thread = (accepted.payload as { thread: string }).thread
      if (!thread.startsWith(`${author}/need/`)) return 'reject'
      if (accepted.kind === 'NEED') {
        const need = accepted.payload as VerifyPayload<'NEED'>
        if (need.deadline - this.now() > this.maxWindowMs) return 'reject'
        if (need.deadline <= this.now()) return 'ignore'
        this.safely(() => { this.c.onNeed(author, need) })
        return 'accept'
      }
      if (accepted.kind === 'DECIDE') {
        this.safely(() => { this.c.onDecide(author, accepted.payload as VerifyPayload<'DECIDE'>) })
        return 'accept'
      }
      return 'reject'
    } catch (err) {
      if (isAgoraError(err) && IGNORED.has(err.code)) return 'ignore'
      this.c.log.debug({ author, err: messageOf(err) }, 'need message refused')
      return 'reject'
    }
  }

  /** A checked message's effect: its failure is ours, not the sender's, and does not change the verdict. */
  private safely (fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.c.log.warn({ err: messageOf(err) }, 'acting on a need message failed')
    }
  }
}
