/**
 * The buyer's side of the open auction (docs/market.md "Auctions"): a NEED
 * is gossiped on /agora/needs/1; sellers answer with a PROPOSE straight to
 * this node (/agora/market/1, `propose`); the buyer ranks the proposals
 * (score.ts) and DECIDEs — and a decision is a market contract: the
 * winner is sent a REQUEST at its proposed unit price, and the hold is
 * placed when it accepts. A winner that refuses or cannot be reached is
 * followed by the next best, each under a new epoch (a new DECIDE).
 *
 * A proposal is refused after the deadline (E1131), above the budget
 * (E1132), for a need that is not open or not ours (E1133), without a valid
 * offer of that seller for the task type (E1115). `auto` needs are decided
 * at their deadline; `manual` ones by `decide` (any time while open).
 * A need caught deciding by a stop fails at the next start: a contract its
 * decision made stands on its own (listed, paid for, refunded at expiry).
 */
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { signEnvelope, type Envelope, type EnvelopeKind, type NodeIdentity } from '../../identity/index.ts'
import { proposeSchema } from '../../verify/messages.ts'
import { formatCredits, parseCredits, type Micro } from '../amount.ts'
import { newMarketId } from '../constants.ts'
import { problemOf } from '../protocol/problem.ts'
import { MAX_QUANTITY } from '../protocol/constants.ts'
import { unitPriceOf } from '../protocol/quote.ts'
import { rankProposals, type RankedProposal, type SellerFacts } from './score.ts'
import type { AgoraEvents } from '../../events.ts'
import type { Logger } from '../../observability/logger.ts'
import type { Offer } from '../../offers/index.ts'
import type { ContractRecord } from '../contracts/repository.ts'
import type { DirectRequest } from '../types.ts'
import type { NeedRecord, NeedsRepository, NeedState, ProposalRecord } from './repository.ts'

export interface NeedInput {
  taskType: string
  quantity: number
  budget: Micro
  /** Proposals are taken until then (epoch ms). */
  deadline: number
  decide?: 'auto' | 'manual'
  /** When the decision's contract expires (default: the market's request lifetime from the decision). */
  contractExpiresAt?: number
}

export interface AuctionBuyerComponents {
  identity: NodeIdentity
  repo: NeedsRepository
  /** Gossip a NEED or DECIDE on /agora/needs/1. */
  publish: (envelope: Envelope) => Promise<void>
  /** The EnvelopeVerifier's checks (addressed to us, age, signature, replay guard). */
  verify: (envelope: Envelope, kinds: readonly EnvelopeKind[]) => Envelope
  /** The seller's valid offer, if it serves `taskType`. */
  offerOf: (seller: string, taskType: string) => Offer | undefined
  facts: (seller: string) => SellerFacts
  /** A direct request to the winner (the Buyer's). */
  request: (request: DirectRequest, signal: AbortSignal) => Promise<ContractRecord>
  events: Pick<AgoraEvents, 'emit'>
  log: Logger
}

export interface AuctionBuyerInit {
  now?: () => number
  /** Longest proposal window a need may ask (default 1 day). */
  maxWindowMs?: number
  /** Proposals kept per need at most (default 256). */
  maxProposals?: number
}

const DEFAULT_MAX_WINDOW_MS = 24 * 3600_000
/** Proposals tried, best first, before a decision gives up… */
const MAX_DECIDE_TRIES = 3
/** …each given this long to become a contract (a seller whose operator decides by hand may take longer: decide it with --seller). */
const DECIDE_TRY_MS = 30_000
const DEFAULT_MAX_PROPOSALS = 256
const MAX_TASK_TYPE = 128

export class AuctionBuyer {
  private readonly c: AuctionBuyerComponents
  private readonly now: () => number
  private readonly maxWindowMs: number
  private readonly maxProposals: number
  private readonly timers = new Map<string, NodeJS.Timeout>()
  /** Decisions running, by need id (a second decide of the same need joins the first). */
  private readonly deciding = new Map<string, Promise<NeedRecord>>()
  private readonly waiters = new Map<string, Set<(need: NeedRecord) => void>>()
  /** Contract lifetimes asked for by `need` (a job's), by need id; the default otherwise. */
  private readonly contractExpiry = new Map<string, number>()
  private shutdown = new AbortController()

  constructor (components: AuctionBuyerComponents, init: AuctionBuyerInit = {}) {
    this.c = components
    this.now = init.now ?? Date.now
    this.maxWindowMs = init.maxWindowMs ?? DEFAULT_MAX_WINDOW_MS
    this.maxProposals = init.maxProposals ?? DEFAULT_MAX_PROPOSALS
  }

  /**
   * Resume: auto needs get their timers back; one caught deciding by a stop
   * fails; an open one whose deadline passed while the node was down
   * expires — its proposals were made for then, and a job that put it out
   * did not survive the stop.
   */
  start (): void {
    this.shutdown = new AbortController()
    const now = this.now()
    for (const need of this.c.repo.unfinished()) {
      if (need.state === 'deciding') this.end(need, 'deciding', 'failed', 'interrupted by a restart while deciding')
      else if (need.deadline <= now) this.end(need, 'open', 'expired', 'the node was down at its deadline')
      else this.schedule(need)
    }
  }

  stop (): void {
    this.shutdown.abort(new AgoraError('E504', 'the market is stopping'))
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }

  /** Put out a NEED: stored, gossiped, decided at the deadline unless `manual`. */
  async need (input: NeedInput): Promise<NeedRecord> {
    const now = this.now()
    checkNeed(input, now, this.maxWindowMs)
    const self = this.c.identity.peerIdString
    const id = newMarketId()
    const thread = `${self}/need/${id}`
    const payload = { thread, epoch: 0, lamport: 1, taskType: input.taskType, quantity: input.quantity, budget: formatCredits(input.budget), deadline: input.deadline }
    const envelope = signEnvelope(this.c.identity, { kind: 'NEED', payload }, now)
    const need: NeedRecord = {
      id, thread, taskType: input.taskType, quantity: input.quantity, budget: input.budget, deadline: input.deadline, decideMode: input.decide ?? 'auto',
      state: 'open', epoch: 0, seller: null, contractId: null, reason: null, envelope: JSON.stringify(envelope), createdAt: now, updatedAt: now
    }
    this.c.repo.insert(need)
    if (input.contractExpiresAt !== undefined) this.contractExpiry.set(id, input.contractExpiresAt)
    this.c.events.emit('need:created', { needId: id, taskType: need.taskType, quantity: need.quantity, budget: payload.budget, deadline: need.deadline })
    try {
      await this.c.publish(envelope)
    } catch (err) {
      // nobody heard it: it ends here, with why
      this.end(need, 'open', 'failed', `the NEED could not be gossiped: ${isAgoraError(err) ? err.what : messageOf(err)}`)
      throw err
    }
    this.schedule(need)
    return need
  }

  /** A seller's PROPOSE: checked, then kept (a later one from the same seller replaces its earlier one). */
  onPropose (seller: string, envelope: Envelope): ProposalRecord {
    this.c.verify(envelope, ['PROPOSE'])
    const parsed = proposeSchema.safeParse(envelope.payload)
    if (!parsed.success) throw new AgoraError('E1117', 'malformed PROPOSE payload', { why: problemOf(parsed.error) })
    const p = parsed.data
    const need = this.c.repo.byThread(p.thread)
    if (need === undefined) throw new AgoraError('E1133', `no need ${p.thread} of this node`, { details: { thread: p.thread } })
    const now = this.now()
    if (need.state !== 'open') throw new AgoraError('E1133', `need ${need.id} is ${need.state}`, { why: 'it takes no more proposals', details: { needId: need.id } })
    if (now > need.deadline) throw new AgoraError('E1131', `proposal for need ${need.id} after its deadline`, { why: `the deadline was ${new Date(need.deadline).toISOString()}`, details: { needId: need.id } })
    const unitPrice = parseCredits(p.unitPrice, 'unitPrice')
    const total = BigInt(unitPrice) * BigInt(need.quantity)
    if (total > BigInt(need.budget)) {
      throw new AgoraError('E1132', `proposal for need ${need.id} above its budget`, { why: `${p.unitPrice} × ${need.quantity} = ${formatCredits(total)} > ${formatCredits(need.budget)} credits`, details: { needId: need.id } })
    }
    const offer = this.c.offerOf(seller, need.taskType)
    const posted = offer === undefined ? undefined : unitPriceOf(offer, need.taskType)
    // not the seller's fault when its offer has not reached us yet, or just expired here: E1133, not counted against it
    if (offer === undefined || posted === undefined) throw new AgoraError('E1133', `${seller} has no valid offer for ${need.taskType} here`, { why: 'a proposal is bought through the seller\'s offer' })
    // a decision becomes a REQUEST the seller's policy quotes at its posted price: any other price could never become a contract
    if (unitPrice !== posted) throw new AgoraError('E1133', `proposal at ${p.unitPrice} for need ${need.id}`, { why: `the seller's offer asks ${formatCredits(posted)} a task; a proposal is its posted price` })
    const known = this.c.repo.proposals(need.id)
    if (known.length >= this.maxProposals && !known.some(k => k.seller === seller)) throw new AgoraError('E1133', `need ${need.id} has ${this.maxProposals} proposals already`)
    const record: ProposalRecord = {
      needId: need.id, seller, offerId: offer.id, unitPrice, etaMs: p.etaMs, capacity: p.capacity, lamport: p.lamport, state: 'open', reason: null, envelope: JSON.stringify(envelope), receivedAt: now
    }
    if (this.c.repo.propose(record)) this.c.events.emit('need:proposal', { needId: need.id, seller, unitPrice: p.unitPrice, etaMs: p.etaMs, capacity: p.capacity })
    return record
  }

  get (id: string): NeedRecord {
    const need = this.c.repo.get(id)
    if (need === undefined) throw new AgoraError('E1130', `no need ${id}`, { details: { needId: id } })
    return need
  }

  list (query: { state?: NeedState, limit?: number }, max: number): NeedRecord[] {
    return this.c.repo.list({ ...(query.state === undefined ? {} : { state: query.state }), limit: Math.min(Math.max(1, query.limit ?? 100), max) })
  }

  /** A need's proposals, best first. */
  ranked (id: string): RankedProposal[] {
    const need = this.get(id)
    return rankProposals(this.c.repo.proposals(id), need.quantity, this.c.facts)
  }

  /** Decide now: the named seller's proposal, or the best; resolves with the need decided (its contract made), or throws E1134. */
  async decide (id: string, seller?: string): Promise<NeedRecord> {
    const running = this.deciding.get(id)
    if (running !== undefined) return await running
    const deciding = this.run(id, seller).finally(() => this.deciding.delete(id))
    this.deciding.set(id, deciding)
    return await deciding
  }

  cancel (id: string): NeedRecord {
    const need = this.get(id)
    if (need.state !== 'open') throw new AgoraError('E1135', `need ${id} is ${need.state}`, { why: 'only an open need can be cancelled' })
    return this.end(need, 'open', 'cancelled', 'cancelled by the buyer')
  }

  /** Resolves once the need is decided or ended (an auto need at its deadline). */
  async settled (id: string, signal: AbortSignal): Promise<NeedRecord> {
    const need = this.get(id)
    if (!['open', 'deciding'].includes(need.state)) return need
    return await new Promise<NeedRecord>((resolve, reject) => {
      let set = this.waiters.get(id)
      if (set === undefined) this.waiters.set(id, set = new Set())
      const waiting = set
      const done = (ended: NeedRecord): void => { signal.removeEventListener('abort', aborted); waiting.delete(done); resolve(ended) }
      const aborted = (): void => { waiting.delete(done); reject(signal.reason) }
      signal.addEventListener('abort', aborted, { once: true })
      waiting.add(done)
    })
  }

  private async run (id: string, named: string | undefined): Promise<NeedRecord> {
    const need = this.get(id)
    if (need.state !== 'open') throw new AgoraError('E1135', `need ${id} is ${need.state}`, { why: need.state === 'decided' ? `it went to ${need.seller ?? '?'}` : need.reason ?? 'it ended' })
    let candidates = this.ranked(id).filter(p => p.state === 'open')
    if (named !== undefined) {
      candidates = candidates.filter(p => p.seller === named)
      if (candidates.length === 0) throw new AgoraError('E1133', `no open proposal of ${named} for need ${id}`)
    }
    if (!this.c.repo.move(id, 'open', 'deciding', this.now())) return await this.run(id, named)
    this.clearTimer(id)
    let epoch = need.epoch
    // the best few: a decision is not held up for long by sellers that stall or refuse
    candidates = candidates.slice(0, MAX_DECIDE_TRIES)
    for (const proposal of candidates) {
      epoch += 1
      try {
        this.c.repo.setEpoch(id, epoch, this.now())
        await this.announce(need, epoch, proposal.seller)
        const expiresAt = this.contractExpiry.get(id)
        const request = { offerId: proposal.offerId, what: need.taskType, quantity: need.quantity, maxUnitPrice: proposal.unitPrice, ...(expiresAt === undefined ? {} : { expiresAt }) }
        const contract = await this.c.request(request, AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(DECIDE_TRY_MS)]))
        this.c.repo.settle(id, proposal.seller, 'won')
        this.c.repo.loseOpen(id)
        const decided = this.end(need, 'deciding', 'decided', null, { epoch, seller: proposal.seller, contractId: contract.id })
        this.c.events.emit('need:decided', { needId: id, seller: proposal.seller, contractId: contract.id, unitPrice: formatCredits(contract.unitPrice), epoch })
        return decided
      } catch (err) {
        const why = isAgoraError(err) ? err.what : messageOf(err)
        this.c.repo.settle(id, proposal.seller, 'failed', why.slice(0, 256))
        this.c.log.info({ need: id, seller: proposal.seller, err: why }, 'the winner of a need did not become a contract; trying the next')
        // the wallet cannot cover it, or the node is stopping: no other seller will do better
        if (isAgoraError(err, 'E1101') || this.shutdown.signal.aborted) {
          this.end(need, 'deciding', 'failed', why)
          throw err
        }
      }
    }
    const reason = candidates.length === 0 ? 'no seller proposed' : 'no proposal became a contract'
    this.end(need, 'deciding', 'failed', reason)
    throw new AgoraError('E1134', `need ${id} could not be decided: ${reason}`, { details: { needId: id, proposals: candidates.length } })
  }

  /** Gossip the DECIDE of one epoch: sellers learn who won, losers let go. */
  private async announce (need: NeedRecord, epoch: number, seller: string): Promise<void> {
    const payload = { thread: need.thread, epoch, lamport: epoch + 1, result: seller }
    await this.c.publish(signEnvelope(this.c.identity, { kind: 'DECIDE', payload }, this.now()))
  }

  private end (need: NeedRecord, from: 'open' | 'deciding', to: 'decided' | 'failed' | 'expired' | 'cancelled', reason: string | null, fields: { epoch?: number, seller?: string, contractId?: string } = {}): NeedRecord {
    const now = this.now()
    this.clearTimer(need.id)
    this.contractExpiry.delete(need.id)
    if (!this.c.repo.move(need.id, from, to, now, { ...fields, reason })) return this.get(need.id)
    if (to !== 'decided') {
      this.c.repo.loseOpen(need.id)
      this.c.events.emit('need:failed', { needId: need.id, state: to, reason: reason ?? to })
    }
    const ended = this.get(need.id)
    const waiting = this.waiters.get(need.id)
    this.waiters.delete(need.id)
    for (const resolve of waiting ?? []) resolve(ended)
    return ended
  }

  private schedule (need: NeedRecord): void {
    if (need.decideMode !== 'auto' || this.shutdown.signal.aborted) return
    this.clearTimer(need.id)
    const timer = setTimeout(() => {
      this.timers.delete(need.id)
      this.decide(need.id).catch(err => {
        this.c.log.info({ need: need.id, err: messageOf(err) }, 'need not decided at its deadline')
        try {
          const current = this.c.repo.get(need.id)
          // nobody proposed in time: the need expired rather than failed
          if (current?.state === 'failed' && this.c.repo.countProposals(need.id) === 0) this.c.repo.move(need.id, 'failed', 'expired', this.now())
        } catch (storeErr) {
          this.c.log.warn({ need: need.id, err: messageOf(storeErr) }, 'an undecided need could not be marked expired')
        }
      })
    }, Math.max(0, need.deadline - this.now()))
    this.timers.set(need.id, timer)
  }

  private clearTimer (id: string): void {
    const timer = this.timers.get(id)
    if (timer !== undefined) clearTimeout(timer)
    this.timers.delete(id)
  }
}

function checkNeed (input: NeedInput, now: number, maxWindowMs: number): void {
  if (typeof input.taskType !== 'string' || input.taskType.length === 0 || input.taskType.length > MAX_TASK_TYPE) {
    throw new AgoraError('E1136', 'a need names a task type', { why: `1 to ${MAX_TASK_TYPE} characters` })
  }
  if (!Number.isSafeInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_QUANTITY) {
    throw new AgoraError('E1136', `invalid quantity: ${String(input.quantity)}`, { why: `a whole number from 1 to ${MAX_QUANTITY}` })
  }
  if (!Number.isSafeInteger(input.budget) || input.budget <= 0) throw new AgoraError('E1136', 'a need has a budget above zero', { why: `got ${formatCredits(Math.max(0, input.budget))}` })
  if (!Number.isSafeInteger(input.deadline) || input.deadline <= now) throw new AgoraError('E1136', 'the need\'s deadline has passed', { why: 'proposals are taken until the deadline: give one in the future' })
  if (input.deadline - now > maxWindowMs) throw new AgoraError('E1136', 'the need\'s deadline is too far', { why: `at most ${Math.round(maxWindowMs / 60_000)} minutes ahead` })
}
