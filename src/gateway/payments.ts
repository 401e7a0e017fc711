/**
 * How the gateway pays a peer for a request (docs/market.md, "Jobs and the
 * gateway"), the buyer's side; the seller's is remote/charge.ts. Paid per
 * request, like a job's subtask: an attempt that goes to a peer whose offer
 * asks a price first holds the most it can cost — the offer's prices × the
 * prompt estimate and `max_tokens` (or `market.gatewayHoldTokens`) — or
 * draws on an accepted contract with that peer for the model that has room.
 * The request carries the receipt id and that most, so the server can check
 * its credit limit and cap its price. When the answer completes, the price
 * the server claims is captured if it is within both the hold and what the
 * offer's prices make of the usage it reports; a server that claims more is
 * not paid and loses reputation. Whatever happens, the attempt's own hold is
 * released when the attempt ends (release is idempotent, and a hold left by a
 * crash expires by itself a little after the request's longest time).
 * Local providers and free offers touch nothing.
 */
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { formatCredits, type Micro } from '../market/amount.ts'
import { priceOwed } from './metering/metering.ts'
import { isFree } from './remote/charge.ts'
import type { Candidate } from './candidates.ts'
import type { CallPayment } from './remote/encode.ts'
import type { MarketApi } from '../market/types.ts'
import type { Logger } from '../observability/logger.ts'
import type { Prices } from '../offers/prices.ts'
import type { PeerBook } from '../peers/index.ts'
import type { Usage } from '../providers/index.ts'

/** What the gateway needs of the market (its buyer side). */
export type GatewayMarket = Pick<MarketApi, 'hold' | 'capture' | 'release' | 'contractFor'>

/** How long a hold outlives the request's total timeout (a hold left by a crash then expires by itself). */
export const HOLD_MARGIN_MS = 60_000

/** One attempt at a paid peer. */
export interface PaidAttempt {
  /** `infer:<requestId>#<attempt>`: the receipt id, and the attempt's own hold. */
  receiptId: string
  /** Where the price is taken from: the attempt's own hold, an accepted contract's, or nowhere (it can cost nothing). */
  source: 'own' | 'contract' | 'none'
  holdId: string
  seller: string
  model: string
  prices: Prices
  /** The most it may cost: the hold, and what the server may charge at most. */
  maxPrice: Micro
}

export interface GatewayPaymentsComponents {
  market?: GatewayMarket | undefined
  peerBook: Pick<PeerBook, 'record'>
  log: Logger
}

export interface GatewayPaymentsInit {
  /** Completion tokens a chat request without max_tokens holds for. */
  holdTokens: number
  /** The request's longest time (gateway.timeouts.totalMs): holds expire a little after it. */
  totalMs: number
  now: () => number
}

/** What an attempt is: its request, its number, and the most tokens it may use. */
export interface AttemptInput {
  requestId: string
  attempt: number
  promptTokens: number
  /** The request's max_tokens (chat); embeddings have no completion. */
  maxTokens?: number | undefined
  op: 'chat' | 'embeddings'
}

export class GatewayPayments {
  private readonly c: GatewayPaymentsComponents
  private readonly init: GatewayPaymentsInit

  constructor (components: GatewayPaymentsComponents, init: GatewayPaymentsInit) {
    this.c = components
    this.init = init
  }

  /**
   * Before an attempt goes to `candidate`: how it is paid; undefined when
   * nothing is to be paid (no market, a local provider, a free offer).
   * E1101 when the wallet cannot cover the hold: that candidate cannot be paid.
   */
  open (candidate: Candidate, input: AttemptInput): PaidAttempt | undefined {
    const market = this.c.market
    if (market === undefined || candidate.route !== 'remote' || isFree(candidate.prices)) return undefined
    const completionTokens = input.op === 'chat' ? input.maxTokens ?? this.init.holdTokens : 0
    const maxPrice = priceOwed(candidate.prices, { promptTokens: input.promptTokens, completionTokens })
    const receiptId = `infer:${input.requestId}#${input.attempt}`
    const paid: PaidAttempt = { receiptId, source: 'none', holdId: receiptId, seller: candidate.server, model: candidate.model, prices: candidate.prices, maxPrice }
    if (maxPrice === 0) return paid
    const contract = market.contractFor(candidate.server, candidate.model, maxPrice)
    if (contract !== undefined) return { ...paid, source: 'contract', holdId: contract.holdId }
    market.hold(receiptId, maxPrice, { ref: `infer:${input.requestId}`, expiresAt: this.init.now() + this.init.totalMs + HOLD_MARGIN_MS })
    return { ...paid, source: 'own' }
  }

  /** What the request to the peer carries. */
  payment (paid: PaidAttempt | undefined): CallPayment | undefined {
    return paid === undefined ? undefined : { receiptId: paid.receiptId, maxPrice: paid.maxPrice }
  }

  /**
   * The answer completed with `usage` and the server claims `claimed`:
   * capture it when it is within the hold and the offer's prices for that
   * usage. Answers what was captured (0 when nothing was). Never throws: the
   * answer is the client's either way.
   */
  capture (paid: PaidAttempt, claimed: Micro | undefined, usage: Usage): Micro {
    // a server that claims nothing is owed nothing
    if (claimed === undefined || claimed === 0) return 0
    const implied = priceOwed(paid.prices, usage)
    if (claimed > paid.maxPrice || claimed > implied) {
      this.c.peerBook.record(paid.seller, 'invalid')
      this.c.log.warn({ peer: paid.seller, receiptId: paid.receiptId, claimed: formatCredits(claimed), maxPrice: formatCredits(paid.maxPrice), implied: formatCredits(implied) },
        'a peer claimed more than its offer allows for a request; it is not paid')
      return 0
    }
    try {
      this.captureFrom(paid, claimed)
      return claimed
    } catch (err) {
      this.c.log.error({ peer: paid.seller, receiptId: paid.receiptId, amount: formatCredits(claimed), err: messageOf(err) }, 'cannot capture the price of a request')
      return 0
    }
  }

  /** The attempt ended, however: its own hold's rest goes back (idempotent; a contract's hold stays with its contract). */
  close (paid: PaidAttempt | undefined): void {
    if (paid?.source !== 'own') return
    try {
      this.c.market?.release(paid.holdId)
    } catch (err) {
      // the hold then expires by itself
      this.c.log.error({ holdId: paid.holdId, err: messageOf(err) }, 'cannot release the hold of a request')
    }
  }

  private captureFrom (paid: PaidAttempt, amount: Micro): void {
    const market = this.c.market
    if (market === undefined) return
    if (paid.source === 'none') throw new AgoraError('E1104', `nothing was held for ${paid.receiptId}`)
    const input = { receiptId: paid.receiptId, seller: paid.seller, amount }
    try {
      market.capture({ holdId: paid.holdId, ...input })
    } catch (err) {
      // a contract that requests at the same time used up: the price comes from a hold of its own
      if (paid.source !== 'contract' || !isAgoraError(err, 'E1104')) throw err
      market.hold(paid.receiptId, amount, { ref: paid.receiptId, expiresAt: this.init.now() + HOLD_MARGIN_MS })
      try {
        market.capture({ holdId: paid.receiptId, ...input })
      } finally {
        market.release(paid.receiptId)
      }
    }
  }
}
