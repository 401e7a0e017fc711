/**
 * The seller's side of the open auction: a NEED from the gossip is answered
 * with a PROPOSE straight to its buyer when this node would take the work —
 * its offer runs the task type at a price within the budget, the buyer
 * passes the access rules and its credit limit has room for the whole
 * need. The proposal is the offer's posted unit price: the buyer's REQUEST
 * after a DECIDE meets the same policy as any direct request.
 *
 * A flood costs little: proposals go out at most `proposalsPerSecond`
 * (the gossip validator's per-signer rate limit comes first), each to a
 * buyer once per need, and a need whose deadline leaves no time is skipped.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import { signEnvelope, type Envelope, type NodeIdentity } from '../../identity/index.ts'
import { TokenBucket } from '../../p2p/index.ts'
import { formatCredits, parseCredits, type Micro } from '../amount.ts'
import { unitPriceOf } from '../protocol/quote.ts'
import { addBounded } from '../../verify/bounded.ts'
import type { AgoraEvents } from '../../events.ts'
import type { Logger } from '../../observability/logger.ts'
import type { Offer } from '../../offers/index.ts'
import type { VerifyPayload } from '../../verify/messages.ts'

export interface AuctionSellerComponents {
  identity: NodeIdentity
  /** This node's valid offer. */
  offer: () => Offer | undefined
  /** The access rules' refusal of a peer, if any. */
  trust: (peer: string) => AgoraError | undefined
  /** Throws E1102 when the buyer's credit limit has no room for `amount`. */
  admit: (buyer: string, amount: Micro) => void
  /** Send a PROPOSE to its buyer (/agora/market/1). */
  send: (buyer: string, envelope: Envelope) => Promise<void>
  events: Pick<AgoraEvents, 'emit'>
  log: Logger
}

export interface AuctionSellerInit {
  proposalsPerSecond?: number
  /** Time a task of the type takes here, for the ETA (default 1 s). */
  taskMs?: (taskType: string) => number
  now?: () => number
}

export type NeedAnswer = 'proposed' | 'own' | 'no-offer' | 'over-budget' | 'too-late' | 'trust' | 'credit' | 'rate' | 'repeated'

/** Needs remembered as answered (so a re-delivered NEED is not answered twice). */
const MAX_ANSWERED = 10_000
/** A need closing sooner than this gets no proposal: it would arrive too late. */
const MIN_TIME_LEFT_MS = 100
const DEFAULT_PROPOSALS_PER_SECOND = 20

export class AuctionSeller {
  private readonly c: AuctionSellerComponents
  private readonly bucket: TokenBucket
  private readonly taskMs: (taskType: string) => number
  private readonly now: () => number
  private readonly answered = new Set<string>()

  constructor (components: AuctionSellerComponents, init: AuctionSellerInit = {}) {
    this.c = components
    this.now = init.now ?? Date.now
    const perSecond = init.proposalsPerSecond ?? DEFAULT_PROPOSALS_PER_SECOND
    this.bucket = new TokenBucket({ perSecond, burst: perSecond, now: this.now })
    this.taskMs = init.taskMs ?? (() => 1000)
  }

  /** A checked NEED from `buyer`: propose, or say why not. */
  onNeed (buyer: string, need: VerifyPayload<'NEED'>): NeedAnswer {
    if (buyer === this.c.identity.peerIdString) return 'own'
    if (this.answered.has(need.thread)) return 'repeated'
    const offer = this.c.offer()
    const unitPrice = offer === undefined || !offer.taskTypes.includes(need.taskType) ? undefined : unitPriceOf(offer, need.taskType)
    if (offer === undefined || unitPrice === undefined) return 'no-offer'
    const total = BigInt(unitPrice) * BigInt(need.quantity)
    if (total > BigInt(parseCredits(need.budget, 'budget'))) return 'over-budget'
    if (need.deadline - this.now() < MIN_TIME_LEFT_MS) return 'too-late'
    if (this.c.trust(buyer) !== undefined) return 'trust'
    try {
      this.c.admit(buyer, Number(total))
    } catch (err) {
      if (err instanceof AgoraError && err.code === 'E1102') return 'credit'
      throw err
    }
    if (!this.bucket.take()) return 'rate'
    addBounded(this.answered, need.thread, MAX_ANSWERED)
    const capacity = Math.max(1, Math.min(need.quantity, offer.capacity.slotsTotal))
    const etaMs = Math.ceil(need.quantity / capacity) * Math.max(1, Math.round(this.taskMs(need.taskType)))
    const payload = { thread: need.thread, epoch: 0, lamport: 1, unitPrice: formatCredits(unitPrice), etaMs, capacity }
    const envelope = signEnvelope(this.c.identity, { kind: 'PROPOSE', payload, to: buyer }, this.now())
    this.c.send(buyer, envelope).then(
      () => { this.c.events.emit('need:proposed', { thread: need.thread, buyer, unitPrice: payload.unitPrice }) },
      err => { this.c.log.debug({ buyer, thread: need.thread, err: messageOf(err) }, 'proposal not delivered') }
    )
    return 'proposed'
  }

  /** A buyer's DECIDE on a need this node proposed for: who won. */
  onDecide (buyer: string, decide: VerifyPayload<'DECIDE'>): void {
    if (!this.answered.has(decide.thread)) return
    this.c.events.emit('need:awarded', { thread: decide.thread, buyer, winner: decide.result, won: decide.result === this.c.identity.peerIdString, epoch: decide.epoch })
  }
}
