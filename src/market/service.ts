/**
 * The market service (docs/market.md): the books (ledger, escrow, payer and
 * payee), contracts, the /agora/market/1 protocol and the timers behind
 * them, behind one `MarketApi`. Built from a few components and the
 * `market` config section; `start()` loads the books (posting the grant on
 * the first start), repairs contracts from them, serves the protocol and
 * starts the expiry and payment timers; `stop()` undoes that and writes
 * what is pending.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { formatCredits, type Micro } from './amount.ts'
import { MarketParts, type MarketServiceComponents, type MarketServiceInit } from './parts.ts'
import { contractOfHold, MARKET_DEFAULTS } from './constants.ts'
import { captureKey } from './ledger/index.ts'
import { publicContract, type ContractRecord } from './contracts/repository.ts'
import { differences, localView, peerBalanceOf, viewFromWire, walletOf } from './wallet.ts'
import { credits } from './metrics.ts'
import { addBounded } from '../verify/bounded.ts'
import { publicNeed, publicProposal, type Need, type NeedState, type Proposal } from './auction/public.ts'
import type { NeedInput } from './auction/buyer.ts'
import type { VoidInput } from './payments/void.ts'
import type { BalanceView, CaptureInput, Contract, ContractState, DirectRequest, MarketApi, PaySource, PeerBalance, RejectReason, Wallet, WalletEntry } from './types.ts'

export type { MarketServiceComponents, MarketServiceInit } from './parts.ts'

/** Auction contracts remembered as a job's own at most. */
const MAX_RESERVED = 10_000

export class MarketService implements MarketApi {
  private readonly p: MarketParts
  private started = false
  private shutdown = new AbortController()
  private walletTimer: NodeJS.Immediate | undefined
  /** Requests this node is making (stop waits for them to end: they write their outcome). */
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly undo: Array<() => void> = []
  /** Contracts auctions made for jobs (in memory: after a restart any job may draw on them). */
  private readonly reserved = new Set<string>()

  constructor (components: MarketServiceComponents, init: MarketServiceInit = {}) {
    this.p = new MarketParts(components, init, {
      signal: () => this.shutdown.signal,
      walletChanged: () => { this.walletChanged() }
    })
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    const p = this.p
    p.ledger.start()
    p.repair()
    p.notifier.refresh()
    this.undo.push(p.escrow.onExpired((hold, released) => {
      p.metrics?.refunded.inc(credits(released))
      const id = contractOfHold(hold.id)
      const contract = id === undefined ? undefined : p.contracts.get(id)
      if (contract !== undefined) p.expiry.expire(contract)
      this.walletChanged()
    }))
    p.escrow.start()
    p.expiry.start()
    await p.reqresp.handle(p.protocol, p.handler)
    p.needsNetwork?.start()
    p.needs.start()
    p.sender.start()
    p.voidSender.start()
    this.walletChanged()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.shutdown.abort(new AgoraError('E504', 'the market is stopping'))
    const p = this.p
    p.needsNetwork?.stop()
    p.needs.stop()
    await p.reqresp.unhandle(p.protocol.id)
    await Promise.allSettled([...this.inflight])
    p.sender.stop()
    p.voidSender.stop()
    p.seller.stop()
    p.expiry.stop()
    p.escrow.stop()
    for (const fn of this.undo.splice(0)) fn()
    if (this.walletTimer !== undefined) clearImmediate(this.walletTimer)
    this.walletTimer = undefined
    try {
      p.ledger.stop()
    } catch (err) {
      p.log.error({ err: messageOf(err) }, 'writing the books at stop failed')
    }
  }

  // ---- wallet

  wallet (): Wallet {
    return walletOf(this.p.books)
  }

  history (query: { limit?: number, before?: number, account?: string } = {}): WalletEntry[] {
    return this.p.ledger.history(query)
  }

  setLimit (peer: string, limit: Micro | null): PeerBalance {
    this.p.limits.set(peer, limit, this.p.now())
    return peerBalanceOf(this.p.books, peer)
  }

  async reconcile (peer: string, options: { signal?: AbortSignal } = {}): Promise<{ local: BalanceView, remote: BalanceView, differences: string[] }> {
    this.assertRunning()
    const signal = AbortSignal.any([this.untilStopped(options.signal), AbortSignal.timeout(MARKET_DEFAULTS.paymentTimeoutMs)])
    const answer = await this.p.reqresp.request(peer, this.p.protocol, { type: 'balance' }, { signal })
    if (answer.type !== 'balance') throw this.p.refusedBy(peer, new AgoraError('E1117', `${peer} answered a balance request with ${answer.type}`))
    if (answer.view.peer !== this.p.self) throw this.p.refusedBy(peer, new AgoraError('E1117', `${peer} sent its view of another pair`, { why: `it names ${answer.view.peer}` }))
    const remote = viewFromWire(answer.view)
    const local = localView(this.p.books, peer)
    return { local, remote, differences: differences(local, remote, peer) }
  }

  // ---- contracts

  contracts (query: { state?: ContractState, role?: 'buyer' | 'seller', limit?: number } = {}): Contract[] {
    return this.p.contracts.list(query, this.p.maxListed).map(publicContract)
  }

  contract (id: string): Contract {
    return publicContract(this.record(id))
  }

  async request (request: DirectRequest, options: { signal?: AbortSignal } = {}): Promise<Contract> {
    this.assertRunning()
    return publicContract(await this.tracked(this.p.buyer.request(request, this.untilStopped(options.signal))))
  }

  pending (): Contract[] {
    return this.p.contracts.pending().map(publicContract)
  }

  async accept (contractId: string): Promise<Contract> {
    return publicContract(this.p.seller.accept(contractId))
  }

  async reject (contractId: string, reason: RejectReason = 'declined'): Promise<Contract> {
    return publicContract(this.p.seller.reject(contractId, reason))
  }

  async cancel (contractId: string): Promise<Contract> {
    const record = this.record(contractId)
    if (record.role === 'seller') {
      if (record.state !== 'accepted') throw new AgoraError('E1112', `contract ${contractId} is ${record.state}`, { why: record.state === 'proposed' ? 'reject a pending request instead' : 'only an accepted contract can be cancelled' })
      return publicContract(this.p.seller.cancel(record))
    }
    if (record.state !== 'accepted' && record.state !== 'proposed') throw new AgoraError('E1112', `contract ${contractId} is ${record.state} already`)
    const ended = this.p.buyer.cancel(record)
    await this.p.ledger.durable()
    this.walletChanged()
    return publicContract(ended)
  }

  // ---- the open auction (buyer side; the seller side answers NEEDs by itself)

  async need (input: NeedInput): Promise<Need> {
    this.assertRunning()
    return publicNeed(await this.p.needs.need(input))
  }

  needs (query: { state?: NeedState, limit?: number } = {}): Need[] {
    return this.p.needs.list(query, this.p.maxListed).map(publicNeed)
  }

  needView (id: string): { need: Need, proposals: Proposal[] } {
    return { need: publicNeed(this.p.needs.get(id)), proposals: this.p.needs.ranked(id).map(publicProposal) }
  }

  async decideNeed (id: string, seller?: string): Promise<Need> {
    this.assertRunning()
    return publicNeed(await this.tracked(this.p.needs.decide(id, seller)))
  }

  cancelNeed (id: string): Need {
    return publicNeed(this.p.needs.cancel(id))
  }

  async auction (input: NeedInput, options: { signal?: AbortSignal } = {}): Promise<Need> {
    this.assertRunning()
    const need = await this.p.needs.need({ ...input, decide: 'auto' })
    let ended
    try {
      ended = await this.p.needs.settled(need.id, this.untilStopped(options.signal))
    } catch (err) {
      // given up on (stopping, or the caller went away): no decision for nobody to use
      try {
        this.p.needs.cancel(need.id)
      } catch {
        // decided or ended meanwhile
      }
      throw err
    }
    if (ended.state !== 'decided') {
      throw new AgoraError('E1134', `the auction for ${input.taskType} was not decided`, { why: ended.reason ?? ended.state, details: { needId: need.id } })
    }
    // this contract pays for the job that asked, not for whoever else buys from that seller
    if (ended.contractId !== null) addBounded(this.reserved, ended.contractId, MAX_RESERVED)
    this.walletChanged()
    return publicNeed(ended)
  }

  // ---- buyer side of jobs and the gateway

  hold (holdId: string, amount: Micro, options: { expiresAt?: number, ref?: string } = {}): void {
    this.p.escrow.hold(holdId, amount, options)
    this.walletChanged()
  }

  contractFor (seller: string, what: string, amount: Micro, options: { only?: readonly string[] } = {}): PaySource | undefined {
    return options.only === undefined
      ? this.p.buyer.contractFor(seller, what, amount, undefined, this.reserved)
      : this.p.buyer.contractFor(seller, what, amount, new Set(options.only))
  }

  capture (input: CaptureInput): void {
    if (this.p.escrow.capture(input) !== 'applied') return
    this.p.metrics?.captured.inc(credits(input.amount))
    const contractId = contractOfHold(input.holdId)
    if (contractId !== undefined) this.p.buyer.captured(contractId, input.amount)
    this.p.sender.captured(input.seller)
    this.walletChanged()
  }

  setAside (from: string, to: string, amount: Micro, options: { expiresAt?: number, ref?: string } = {}): void {
    this.p.escrow.setAside(from, to, amount, options)
    const contractId = contractOfHold(from)
    // what leaves a contract's hold counts as drawn from it
    if (contractId !== undefined) this.p.buyer.captured(contractId, amount)
    this.walletChanged()
  }

  captured (receiptId: string): boolean {
    return this.p.ledger.has(captureKey(receiptId))
  }

  release (holdId: string): void {
    const contractId = contractOfHold(holdId)
    const contract = contractId === undefined ? undefined : this.p.contracts.get(contractId)
    // a contract's hold ends with its contract
    if (contract !== undefined && contract.role === 'buyer' && contract.state === 'accepted') {
      this.p.buyer.cancel(contract)
    } else {
      const { amount } = this.p.escrow.release(holdId)
      if (amount > 0) this.p.metrics?.refunded.inc(credits(amount))
    }
    this.walletChanged()
  }

  async durable (): Promise<void> {
    await this.p.ledger.durable()
  }

  async voidPart (input: VoidInput): Promise<void> {
    if (!this.p.voids.add(input)) return
    this.walletChanged()
    await this.p.ledger.durable()
    this.p.voidSender.queued(input.payee)
  }

  // ---- seller side of jobs and the gateway

  admit (buyer: string, amount: Micro, what?: string): () => void {
    try {
      const release = this.p.credit.reserve(buyer, amount, what)
      return () => {
        release()
        this.p.creditUsed(buyer)
      }
    } finally {
      this.p.creditUsed(buyer)
    }
  }

  issue (receipt: { receiptId: string, buyer: string, amount: Micro, what?: string, contractId?: string }): void {
    if (this.p.payee.issue(receipt) !== 'applied') return
    const contract = this.p.sellerContractFor(receipt)
    if (contract !== undefined) this.p.sellerCaptured(contract, receipt.amount)
    this.p.creditUsed(receipt.buyer)
  }

  /** Send what is owed to `payee` now, whatever the payment policy says (tests, operators). */
  flushPayments (payee: string): void {
    this.p.sender.flush(payee)
  }

  private record (id: string): ContractRecord {
    const record = this.p.contracts.get(id)
    if (record === undefined) throw new AgoraError('E1110', `no contract ${id}`, { details: { contractId: id } })
    return record
  }

  /** One wallet:update per turn of the event loop, however many postings it saw. */
  private walletChanged (): void {
    if (this.walletTimer !== undefined || !this.started) return
    this.walletTimer = setImmediate(() => {
      this.walletTimer = undefined
      const summary = this.p.ledger.summary()
      this.p.metrics?.held.set(credits(summary.held))
      this.p.events.emit('wallet:update', {
        balance: formatCredits(summary.balance),
        available: formatCredits(summary.available),
        held: formatCredits(summary.held),
        earned: formatCredits(summary.earned),
        spent: formatCredits(summary.spent)
      })
    })
  }

  /** Work this node is doing for a caller: stop waits for it (it writes its outcome); the wallet moved once it is done. */
  private async tracked<T> (work: Promise<T>): Promise<T> {
    this.inflight.add(work)
    try {
      const done = await work
      this.walletChanged()
      return done
    } finally {
      this.inflight.delete(work)
    }
  }

  /** Aborts when the market stops, or when the caller's signal does. */
  private untilStopped (signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.shutdown.signal : AbortSignal.any([this.shutdown.signal, signal])
  }

  private assertRunning (): void {
    if (!this.started) throw new AgoraError('E504', 'the market is not running')
  }
}
