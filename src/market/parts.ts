/**
 * The market service's parts, built once from its components and config,
 * and the glue between them: the protocol handler's dependencies, the
 * verification of envelopes, blame, the seller's contract bookkeeping and
 * the start-up repair of buyer contracts from the escrow's books.
 */
import { AgoraError } from '../errors.ts'
import { formatCredits, parseCredits, type Micro } from './amount.ts'
import { Buyer } from './buyer.ts'
import { MARKET_DEFAULTS } from './constants.ts'
import { CreditPolicy } from './contracts/credit.ts'
import { ContractExpiry } from './contracts/expiry.ts'
import { LimitsRepository } from './contracts/limits.ts'
import { ContractNotifier } from './contracts/notifier.ts'
import { ContractsRepository, type ContractRecord } from './contracts/repository.ts'
import { endedByBuyer, room } from './contracts/state.ts'
import { Escrow } from './escrow/index.ts'
import { Ledger, payable, receivable } from './ledger/index.ts'
import { createMarketMetrics, credits, type MarketMetrics } from './metrics.ts'
import { PaymentSender } from './payment-sender.ts'
import { VoidSender } from './void-sender.ts'
import { SentVoids } from './payments/voids-sent.ts'
import { Payee, Payer, paymentPayloadSchema } from './payments/index.ts'
import { createMarketHandler } from './protocol/handlers.ts'
import { createMarketProtocol, type MarketProtocol } from './protocol/protocol.ts'
import { Seller } from './seller.ts'
import { AuctionBuyer } from './auction/buyer.ts'
import { NeedsNetwork } from './auction/network.ts'
import { NeedsRepository } from './auction/repository.ts'
import { AuctionSeller } from './auction/seller.ts'
import { localView, viewToWire, type WalletBooks } from './wallet.ts'
import type { AgoraConfig } from '../config/schema.ts'
import type { AgoraEvents } from '../events.ts'
import type { Envelope, EnvelopeKind, EnvelopeVerifier, NodeIdentity } from '../identity/index.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { OfferService } from '../offers/index.ts'
import type { Gossip } from '../p2p/index.ts'
import type { PeerBook } from '../peers/index.ts'
import type { RateLimit, ReqResp, UnaryHandler } from '../protocols/index.ts'
import type { Database } from '../store/index.ts'
import type { MarketRequest, MarketResponse } from './protocol/schema.ts'
import type { Registry } from 'prom-client'

export interface MarketServiceComponents {
  db: Database
  identity: NodeIdentity
  reqresp: Pick<ReqResp, 'handle' | 'unhandle' | 'request'>
  /** The node's verifier (persisted replay guard) for REQUEST, ACCEPT and REJECT. */
  envelopes: Pick<EnvelopeVerifier, 'verify'>
  peerBook: Pick<PeerBook, 'record' | 'isTrusted' | 'isBanned' | 'view'>
  offers: Pick<OfferService, 'local' | 'get'>
  /** Needs and decisions of the open auction (/agora/needs/1); without it this node neither puts out nor answers NEEDs. */
  gossip?: Pick<Gossip, 'subscribe' | 'validate' | 'publish'> | undefined
  /** The access rules (trust mode, bans); without them only banned peers are refused. */
  access?: { admitPeer: (peerId: string) => AgoraError | undefined } | undefined
  events: Pick<AgoraEvents, 'emit'>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

/** The `market` config section (amounts as config writes them) and the knobs tests and benchmarks turn. */
export type MarketServiceInit = Partial<AgoraConfig['market']> & {
  now?: () => number
  pendingWaitMs?: number
  maxContractTtlMs?: number
  expirySweepMs?: number
  /** How often the escrow looks for expired holds (default 1 s). */
  holdSweepMs?: number
  paymentRetryMinMs?: number
  paymentRetryMaxMs?: number
  paymentTimeoutMs?: number
  /** The ledger's commit durability: FULL unless a benchmark measures the difference. */
  synchronous?: 'FULL' | 'NORMAL'
  /** Per-peer rate limit on /agora/market/1 (default MARKET_RATE_LIMIT). */
  rateLimit?: RateLimit
}

export interface ServiceHooks {
  signal: () => AbortSignal
  walletChanged: () => void
}

/** Buyers the credit-used gauge keeps a series for (the most recently active). */
const MAX_GAUGED_BUYERS = 256

export class MarketParts {
  private readonly gaugedBuyers = new Set<string>()
  readonly self: string
  readonly now: () => number
  readonly log: Logger
  readonly metrics: MarketMetrics | undefined
  readonly events: Pick<AgoraEvents, 'emit'>
  readonly reqresp: MarketServiceComponents['reqresp']
  readonly protocol: MarketProtocol
  readonly maxListed = MARKET_DEFAULTS.maxListed
  readonly ledger: Ledger
  readonly payer: Payer
  readonly payee: Payee
  readonly escrow: Escrow
  readonly contracts: ContractsRepository
  readonly limits: LimitsRepository
  readonly credit: CreditPolicy
  readonly notifier: ContractNotifier
  readonly seller: Seller
  readonly buyer: Buyer
  readonly expiry: ContractExpiry
  readonly sender: PaymentSender
  readonly voids: SentVoids
  readonly voidSender: VoidSender
  readonly books: WalletBooks
  readonly handler: UnaryHandler<MarketRequest, MarketResponse>
  readonly needs: AuctionBuyer
  readonly proposer: AuctionSeller
  readonly needsNetwork: NeedsNetwork | undefined
  private readonly c: MarketServiceComponents
  private readonly hooks: ServiceHooks

  constructor (components: MarketServiceComponents, init: MarketServiceInit, hooks: ServiceHooks) {
    this.c = components
    this.hooks = hooks
    const { db, identity, logger } = components
    this.self = identity.peerIdString
    this.now = init.now ?? Date.now
    this.log = logger.forComponent('agora:market')
    this.metrics = createMarketMetrics(components.metrics)
    this.events = components.events
    this.reqresp = components.reqresp
    this.protocol = init.rateLimit === undefined ? createMarketProtocol() : createMarketProtocol(init.rateLimit)
    const amount = (value: string | number | undefined, fallback: Micro, key: string): Micro => value === undefined ? fallback : parseCredits(value, `market.${key}`)
    const now = this.now
    this.ledger = new Ledger({ db, logger, metrics: components.metrics }, { grant: amount(init.initialCredits, MARKET_DEFAULTS.initialCredits, 'initialCredits'), synchronous: init.synchronous, now })
    this.payer = new Payer({ db, ledger: this.ledger, identity, logger }, { now })
    this.payee = new Payee({ db, ledger: this.ledger }, { self: this.self, now })
    this.escrow = new Escrow({ ledger: this.ledger, db, logger, owed: this.payer }, { sweepMs: init.holdSweepMs, now })
    this.contracts = new ContractsRepository(db)
    this.limits = new LimitsRepository(db)
    this.credit = new CreditPolicy({
      contracts: this.contracts,
      limits: this.limits,
      books: {
        receivable: peer => this.ledger.balance(receivable(peer)),
        payable: peer => 0 - this.ledger.balance(payable(peer)),
        unpaid: peer => this.payee.unpaid(peer)
      },
      isTrusted: peer => components.peerBook.isTrusted(peer)
    }, {
      creditLimit: amount(init.creditLimit, MARKET_DEFAULTS.creditLimit, 'creditLimit'),
      trustedCreditLimit: amount(init.trustedCreditLimit, MARKET_DEFAULTS.trustedCreditLimit, 'trustedCreditLimit'),
      now
    })
    this.voids = new SentVoids({ db, ledger: this.ledger, identity }, { now })
    this.books = { ledger: this.ledger, payer: this.payer, payee: this.payee, voids: this.voids, credit: this.credit, limits: this.limits }
    this.notifier = new ContractNotifier({ events: components.events, contracts: this.contracts, metrics: this.metrics })
    this.seller = new Seller({
      identity,
      contracts: this.contracts,
      credit: this.credit,
      offer: () => components.offers.local(),
      trust: peer => this.trustRefusal(peer),
      notifier: this.notifier,
      metrics: this.metrics
    }, { acceptMode: init.acceptMode, maxPending: init.maxPending, pendingWaitMs: init.pendingWaitMs, maxContractTtlMs: init.maxContractTtlMs, now })
    this.buyer = new Buyer({
      identity,
      contracts: this.contracts,
      offer: id => components.offers.get(id),
      send: async (peer, request, signal) => await this.reqresp.request(peer, this.protocol, request, { signal }),
      verify: (envelope, kinds) => this.verify(envelope, kinds),
      hold: (holdId, value, options) => { this.escrow.hold(holdId, value, options) },
      release: holdId => { this.release(holdId) },
      durable: async () => { await this.ledger.durable() },
      notifier: this.notifier,
      refused: (peer, err) => { this.refusedBy(peer, err) },
      metrics: this.metrics
    }, { requestTtlMs: init.requestTtlMs, now })
    this.expiry = new ContractExpiry({
      contracts: this.contracts,
      release: holdId => { this.release(holdId, 'expire') },
      expired: (contract, from) => {
        this.notifier.moved(contract, from)
        this.seller.wake(contract.id)
        this.hooks.walletChanged()
      },
      log: this.log
    }, { sweepMs: init.expirySweepMs ?? MARKET_DEFAULTS.expirySweepMs, now })
    this.notifier.onMoved(contract => { if (contract.state === 'proposed' || contract.state === 'accepted') this.expiry.scheduled(contract.expiresAt) })
    this.sender = new PaymentSender({
      payer: this.payer,
      durable: async () => { await this.ledger.durable() },
      send: async (payee, envelope, signal) => {
        const answer = await this.reqresp.request(payee, this.protocol, { type: 'payment', envelope }, { signal })
        if (answer.type !== 'payment') throw this.refusedBy(payee, new AgoraError('E1117', `${payee} answered a payment with ${answer.type}`))
      },
      events: components.events,
      metrics: this.metrics,
      log: this.log
    }, {
      everyReceipts: init.paymentEveryReceipts,
      everyMs: init.paymentEveryMs,
      retryMinMs: init.paymentRetryMinMs,
      retryMaxMs: init.paymentRetryMaxMs,
      timeoutMs: init.paymentTimeoutMs,
      now
    })
    this.voidSender = new VoidSender({
      voids: this.voids,
      durable: async () => { await this.ledger.durable() },
      send: async (payee, envelope, signal) => {
        const answer = await this.reqresp.request(payee, this.protocol, { type: 'void', envelope }, { signal })
        if (answer.type !== 'void') throw this.refusedBy(payee, new AgoraError('E1117', `${payee} answered a VOID with ${answer.type}`))
      },
      log: this.log
    }, { retryMinMs: init.paymentRetryMinMs, retryMaxMs: init.paymentRetryMaxMs, timeoutMs: init.paymentTimeoutMs })
    this.needsNetwork = components.gossip === undefined
      ? undefined
      : new NeedsNetwork({
        gossip: components.gossip,
        envelopes: components.envelopes,
        log: this.log,
        onNeed: (buyer, need) => { this.proposer.onNeed(buyer, need) },
        onDecide: (buyer, decide) => { this.proposer.onDecide(buyer, decide) }
      }, { maxWindowMs: MARKET_DEFAULTS.maxNeedWindowMs, now })
    const gossiped = this.needsNetwork
    this.needs = new AuctionBuyer({
      identity,
      repo: new NeedsRepository(db),
      publish: async envelope => { await gossiped?.publish(envelope) },
      verify: (envelope, kinds) => this.verify(envelope, kinds),
      offerOf: (seller, taskType) => {
        const offer = components.offers.get(seller)
        return offer !== undefined && offer.node === seller && offer.taskTypes.includes(taskType) ? offer : undefined
      },
      facts: seller => {
        const view = components.peerBook.view(seller)
        return { reputation: view?.reputation ?? 0.5, latencyMs: view?.latencyMs ?? null }
      },
      request: async (request, signal) => await this.buyer.request(request, AbortSignal.any([signal, hooks.signal()])),
      events: components.events,
      log: this.log
    }, { now, maxWindowMs: MARKET_DEFAULTS.maxNeedWindowMs })
    this.proposer = new AuctionSeller({
      identity,
      offer: () => components.offers.local(),
      trust: peer => this.trustRefusal(peer),
      admit: (buyer, value) => { this.credit.admit(buyer, value) },
      send: async (buyer, envelope) => {
        const answer = await this.reqresp.request(buyer, this.protocol, { type: 'propose', envelope }, { signal: AbortSignal.any([hooks.signal(), AbortSignal.timeout(MARKET_DEFAULTS.paymentTimeoutMs)]) })
        if (answer.type !== 'proposal') throw new AgoraError('E1117', `${buyer} answered a proposal with ${answer.type}`)
      },
      events: components.events,
      log: this.log
    }, { now })
    this.handler = createMarketHandler({
      self: this.self,
      verify: (envelope, kind) => this.verify(envelope, [kind]),
      onRequest: async (buyer, payload, envelope, signal) => {
        const answer = await this.seller.onRequest(buyer, payload, envelope, AbortSignal.any([signal, hooks.signal()]))
        this.creditUsed(buyer)
        return answer
      },
      onPayment: async (payer, envelope) => { await this.received(payer, envelope) },
      onVoid: async (payer, envelope) => { await this.voidReceived(payer, envelope) },
      onPropose: (seller, envelope) => { this.needs.onPropose(seller, envelope) },
      balance: peer => ({ type: 'balance', view: viewToWire(localView(this.books, peer)) }),
      refused: (peer, err) => { this.refusedBy(peer, err) }
    })
  }

  /** The verifier's checks, and (whatever its settings) that the envelope is addressed to this node. */
  verify (envelope: Envelope, kinds: readonly EnvelopeKind[]): Envelope {
    if (envelope.to !== this.self) throw new AgoraError('E117', `${envelope.kind} envelope addressed to another node`, { why: `it is for ${envelope.to ?? 'nobody'}` })
    return this.c.envelopes.verify(envelope, { kind: kinds, now: this.now() })
  }

  /** Count a peer's bad message and lower its reputation (a clock problem weighs as a failure, the rest as invalid). */
  refusedBy (peer: string, err: AgoraError): AgoraError {
    this.metrics?.refused.inc({ code: err.code })
    this.c.peerBook.record(peer, err.code === 'E115' || err.code === 'E116' ? 'failure' : 'invalid')
    this.log.debug({ peer, code: err.code, err: err.what, why: err.why }, 'market message refused')
    return err
  }

  /** Release a hold (counted as refunded credits). */
  release (holdId: string, kind: 'release' | 'expire' = 'release'): void {
    const { amount } = this.escrow.release(holdId, kind)
    if (amount > 0) this.metrics?.refunded.inc(credits(amount))
    this.hooks.walletChanged()
  }

  /** Update the credit-used gauge of one buyer. */
  creditUsed (buyer: string): void {
    if (this.metrics === undefined) return
    this.metrics.creditUsed.set({ peer: buyer }, credits(this.credit.exposure(buyer).total))
    // one series per buyer, the most recently active ones only: a busy seller meets buyers without end
    this.gaugedBuyers.delete(buyer)
    this.gaugedBuyers.add(buyer)
    if (this.gaugedBuyers.size > MAX_GAUGED_BUYERS) {
      const oldest = this.gaugedBuyers.values().next().value as string
      this.gaugedBuyers.delete(oldest)
      this.metrics.creditUsed.remove({ peer: oldest })
    }
  }

  /** The seller contract a receipt is issued under: the one named, or the buyer's accepted contract for `what` with room. */
  sellerContractFor (receipt: { buyer: string, amount: Micro, what?: string, contractId?: string }): ContractRecord | undefined {
    if (receipt.contractId !== undefined) {
      const named = this.contracts.get(receipt.contractId)
      return named !== undefined && named.role === 'seller' && named.buyer === receipt.buyer && named.state === 'accepted' && room(named) >= receipt.amount ? named : undefined
    }
    return receipt.what === undefined ? undefined : this.credit.contractWithRoom(receipt.buyer, receipt.what, receipt.amount)
  }

  /** A receipt issued under a seller contract: count it; a contract used up is settled. */
  sellerCaptured (contract: ContractRecord, amount: Micro): void {
    const now = this.now()
    if (!this.contracts.addCaptured(contract.id, amount, now)) return
    if (contract.captured + amount < contract.maxTotal) return
    if (this.contracts.move(contract.id, 'accepted', 'settled', now)) this.notifier.moved({ ...contract, captured: contract.maxTotal, state: 'settled', updatedAt: now }, 'accepted')
  }

  /**
   * Buyer contracts after a restart: the ledger is the truth. An accepted
   * contract whose hold is gone (released, or never committed before a
   * crash) ends; one whose hold is open takes its captured amount from it.
   */
  repair (): void {
    const now = this.now()
    for (const contract of this.contracts.allAccepted('buyer')) {
      if (contract.holdId === null || !this.escrow.isOpen(contract.holdId)) {
        const to = contract.expiresAt <= now ? 'expired' : endedByBuyer(contract.captured)
        if (this.contracts.move(contract.id, 'accepted', to, now)) this.log.info({ contractId: contract.id, to }, 'contract without an open hold ended at start')
        continue
      }
      const captured = contract.maxTotal - this.escrow.remaining(contract.holdId)
      if (captured !== contract.captured && captured >= 0) this.contracts.setCaptured(contract.id, captured, now)
    }
  }

  /** A payer's PAYMENT proof: check and book it, then acknowledge once it is on disk. */
  private async received (payer: string, envelope: Envelope): Promise<void> {
    let outcome
    try {
      outcome = this.payee.accept(envelope)
    } catch (err) {
      this.metrics?.payments.inc({ direction: 'received', outcome: 'refused' })
      if (err instanceof AgoraError) {
        const parsed = paymentPayloadSchema.safeParse(envelope.payload)
        // what the refused proof claimed, as far as it could be read
        this.events.emit('payment:refused', {
          payer, payee: this.self, nonce: parsed.success ? parsed.data.nonce : 0, cumulative: parsed.success ? parsed.data.cumulative : formatCredits(0), amount: formatCredits(0), code: err.code, message: err.what
        })
      }
      throw err
    }
    await this.ledger.durable()
    this.metrics?.payments.inc({ direction: 'received', outcome: 'ok' })
    if (outcome.outcome === 'applied') {
      this.events.emit('payment:received', { payer, payee: this.self, nonce: outcome.nonce, cumulative: formatCredits(outcome.cumulative), amount: formatCredits(outcome.amount) })
      this.creditUsed(payer)
      this.hooks.walletChanged()
    }
  }

  /** A payer's VOID: check and book it, then acknowledge once it is on disk. */
  private async voidReceived (payer: string, envelope: Envelope): Promise<void> {
    const outcome = this.payee.applyVoid(envelope)
    await this.ledger.durable()
    if (outcome.outcome !== 'applied') return
    this.log.info({ payer, receiptId: outcome.receiptId, amount: formatCredits(outcome.amount) }, 'part of a receipt voided by its payer')
    this.creditUsed(payer)
    this.hooks.walletChanged()
  }

  private trustRefusal (peer: string): AgoraError | undefined {
    if (this.c.access !== undefined) return this.c.access.admitPeer(peer)
    return this.c.peerBook.isBanned(peer) ? new AgoraError('E902', `peer ${peer} is banned`) : undefined
  }
}
