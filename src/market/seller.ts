/**
 * The seller's side of direct requests. A REQUEST is decided by policy
 * (quote.ts `decide`): in auto mode at once, in manual mode it is queued as
 * a proposed contract (at most `maxPending`; more are rejected for
 * capacity) for the operator's `accept` / `reject`.
 *
 * The buyer waits for a manual decision by asking again — a freshly signed
 * REQUEST with the same payload: the first ask is answered `pending` at
 * once, each later one is held up to `pendingWaitMs` and answered with the
 * decision as soon as it is made, or `pending`. Every answer is signed when sent (a fresh ACCEPT or REJECT for
 * the same contract), so it is always within the buyer's age window.
 *
 * Auto-rejected requests are answered and counted, not stored: a peer
 * sending many cannot fill the table. A contract the buyer cannot fund
 * stays accepted here, unused, until it expires: the seller cannot tell it
 * from one the buyer has not drawn on yet, and its room counts toward that
 * buyer's exposure until then (which is what the limit is for).
 */
import { AgoraError } from '../errors.ts'
import { signEnvelope, type Envelope, type NodeIdentity } from '../identity/index.ts'
import { MARKET_DEFAULTS, newMarketId } from './constants.ts'
import { assertMove } from './contracts/state.ts'
import { askedTerms, decide, quotePayload, sameTerms, type AskedTerms } from './protocol/quote.ts'
import { requestPayloadSchema, type MarketResponse, type RequestPayload } from './protocol/schema.ts'
import type { CreditPolicy } from './contracts/credit.ts'
import type { ContractNotifier } from './contracts/notifier.ts'
import type { ContractRecord, ContractsRepository } from './contracts/repository.ts'
import type { MarketMetrics } from './metrics.ts'
import type { Offer } from '../offers/index.ts'
import type { RejectReason } from './types.ts'

export interface SellerComponents {
  identity: NodeIdentity
  contracts: ContractsRepository
  credit: Pick<CreditPolicy, 'admit'>
  /** This node's valid offer. */
  offer: () => Offer | undefined
  /** The access rules' refusal of a peer (trust mode, bans), if any. */
  trust: (peer: string) => AgoraError | undefined
  notifier: ContractNotifier
  metrics: MarketMetrics | undefined
}

export interface SellerInit {
  acceptMode?: 'auto' | 'manual'
  maxPending?: number
  pendingWaitMs?: number
  maxContractTtlMs?: number
  now?: () => number
}

export class Seller {
  private readonly c: SellerComponents
  private readonly acceptMode: 'auto' | 'manual'
  private readonly maxPending: number
  private readonly pendingWaitMs: number
  private readonly maxContractTtlMs: number
  private readonly now: () => number
  /** Polls waiting for the operator, per contract. */
  private readonly waiters = new Map<string, Set<() => void>>()

  constructor (components: SellerComponents, init: SellerInit = {}) {
    this.c = components
    this.acceptMode = init.acceptMode ?? MARKET_DEFAULTS.acceptMode
    this.maxPending = init.maxPending ?? MARKET_DEFAULTS.maxPending
    this.pendingWaitMs = init.pendingWaitMs ?? MARKET_DEFAULTS.pendingWaitMs
    this.maxContractTtlMs = init.maxContractTtlMs ?? MARKET_DEFAULTS.maxContractTtlMs
    this.now = init.now ?? Date.now
  }

  /** Answer a verified REQUEST from `buyer`. */
  async onRequest (buyer: string, payload: RequestPayload, envelope: Envelope, signal: AbortSignal): Promise<MarketResponse> {
    const asked = askedTerms(payload)
    const known = this.c.contracts.byRequest('seller', buyer, asked.requestId)
    if (known !== undefined) {
      if (!sameTerms(asked, termsOf(known))) {
        throw new AgoraError('E1117', `request ${asked.requestId} asked again with other terms`, { why: 'a request id names one request; send a new one to change its terms' })
      }
      return await this.answer(known, signal)
    }
    const now = this.now()
    const verdict = decide({
      asked,
      buyer,
      offer: this.c.offer(),
      now,
      maxTtlMs: this.maxContractTtlMs,
      trustRefusal: this.c.trust(buyer),
      admit: amount => { this.c.credit.admit(buyer, amount) }
    })
    if (!verdict.accept) return this.rejectNow(buyer, asked.requestId, verdict.reason, verdict.message)
    const manual = this.acceptMode === 'manual'
    if (manual && this.c.contracts.countPending() >= this.maxPending) {
      return this.rejectNow(buyer, asked.requestId, 'capacity', `${this.maxPending} requests wait for the operator already`)
    }
    const record: ContractRecord = {
      id: newMarketId(),
      role: 'seller',
      buyer,
      seller: this.c.identity.peerIdString,
      requestId: asked.requestId,
      offerId: asked.offerId,
      what: asked.what,
      quantity: asked.quantity,
      unitPrice: verdict.terms.unitPrice,
      maxTotal: verdict.terms.maxTotal,
      captured: 0,
      expiresAt: verdict.terms.expiresAt,
      state: manual ? 'proposed' : 'accepted',
      reason: null,
      holdId: null,
      signed: JSON.stringify(envelope),
      createdAt: now,
      updatedAt: now
    }
    if (!this.c.contracts.insert(record)) throw new AgoraError('E1117', `request ${asked.requestId} is being decided already`)
    this.c.metrics?.requests.inc({ role: 'seller', outcome: manual ? 'pending' : 'accepted' })
    this.c.notifier.moved(record, undefined)
    // a new pending request is answered at once (the buyer learns its contract id); polls of it wait
    return manual ? { type: 'pending', contractId: record.id } : this.acceptance(record)
  }

  /** Operator: accept a pending request (its credit limit is checked again: E1102). */
  accept (contractId: string): ContractRecord {
    const record = this.pendingOne(contractId, 'accepted')
    this.c.credit.admit(record.buyer, record.maxTotal)
    return this.move(record, 'accepted')
  }

  /** Operator: reject a pending request. */
  reject (contractId: string, reason: RejectReason): ContractRecord {
    return this.move(this.pendingOne(contractId, 'rejected'), 'rejected', reason)
  }

  /** Withdraw from an accepted contract (it serves nothing more; not told to the buyer, whose hold ends at expiry). */
  cancel (record: ContractRecord): ContractRecord {
    return this.move(record, 'cancelled')
  }

  /** A contract changed elsewhere (expiry): wake the polls waiting on it. */
  wake (contractId: string): void {
    const waiting = this.waiters.get(contractId)
    if (waiting === undefined) return
    this.waiters.delete(contractId)
    for (const resolve of waiting) resolve()
  }

  /** Answer every waiting poll now (the node is stopping). */
  stop (): void {
    for (const id of [...this.waiters.keys()]) this.wake(id)
  }

  private pendingOne (contractId: string, to: 'accepted' | 'rejected'): ContractRecord {
    const record = this.c.contracts.get(contractId)
    if (record === undefined) throw new AgoraError('E1110', `no contract ${contractId}`)
    if (record.role !== 'seller') throw new AgoraError('E1111', `contract ${contractId} is one this node buys`, { why: 'only its seller accepts or rejects it' })
    assertMove(record, to)
    if (record.expiresAt <= this.now()) throw new AgoraError('E1113', `request ${record.requestId} expired`, { details: { contractId } })
    return record
  }

  private move (record: ContractRecord, to: 'accepted' | 'rejected' | 'cancelled', reason?: RejectReason): ContractRecord {
    assertMove(record, to)
    const now = this.now()
    if (!this.c.contracts.move(record.id, record.state, to, now, { reason: reason ?? null })) {
      // moved meanwhile (expiry): refused from the state it is in now
      const current = this.c.contracts.get(record.id) ?? record
      throw new AgoraError('E1112', `contract ${record.id} cannot become ${to}`, { why: `it is ${current.state}`, details: { contractId: record.id, state: current.state, to } })
    }
    const moved: ContractRecord = { ...record, state: to, reason: reason ?? record.reason, updatedAt: now }
    if (to === 'accepted' || to === 'rejected') this.c.metrics?.requests.inc({ role: 'seller', outcome: to === 'accepted' ? 'accepted' : reason ?? 'declined' })
    this.c.notifier.moved(moved, record.state)
    this.wake(record.id)
    return moved
  }

  /** The answer a (re-)asked request gets now; a pending one waits a while for the operator. */
  private async answer (record: ContractRecord, signal: AbortSignal): Promise<MarketResponse> {
    let current = record
    if (current.state === 'proposed') {
      const waitMs = Math.min(this.pendingWaitMs, current.expiresAt - this.now())
      if (waitMs > 0) await this.waitFor(current.id, waitMs, signal)
      current = this.c.contracts.get(record.id) ?? current
    }
    switch (current.state) {
      case 'proposed': return { type: 'pending', contractId: current.id }
      case 'accepted': return this.acceptance(current)
      case 'rejected': return this.rejection(current.buyer, current.requestId, current.reason ?? 'declined', undefined, current.id)
      case 'expired': return this.rejection(current.buyer, current.requestId, 'expired', 'the request expired before it was used', current.id)
      default: return this.rejection(current.buyer, current.requestId, 'declined', `the contract is ${current.state}`, current.id)
    }
  }

  private async waitFor (contractId: string, ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>(resolve => {
      let set = this.waiters.get(contractId)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(contractId, set)
      }
      const waiting = set
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        waiting.delete(done)
        if (waiting.size === 0 && this.waiters.get(contractId) === waiting) this.waiters.delete(contractId)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, { once: true })
      waiting.add(done)
    })
  }

  private acceptance (record: ContractRecord): MarketResponse {
    const payload = quotePayload({
      contractId: record.id,
      requestId: record.requestId,
      buyer: record.buyer,
      seller: record.seller,
      offerId: record.offerId,
      what: record.what,
      quantity: record.quantity,
      unitPrice: record.unitPrice,
      maxTotal: record.maxTotal,
      expiresAt: record.expiresAt
    })
    return { type: 'decision', envelope: signEnvelope(this.c.identity, { kind: 'ACCEPT', payload, to: record.buyer }, this.now()) }
  }

  private rejectNow (buyer: string, requestId: string, reason: RejectReason, message: string): MarketResponse {
    this.c.metrics?.requests.inc({ role: 'seller', outcome: reason })
    return this.rejection(buyer, requestId, reason, message)
  }

  private rejection (buyer: string, requestId: string, reason: RejectReason, message?: string, contractId?: string): MarketResponse {
    const payload = {
      requestId,
      reason,
      ...(contractId === undefined ? {} : { contractId }),
      ...(message === undefined ? {} : { message: message.slice(0, 256) })
    }
    return { type: 'decision', envelope: signEnvelope(this.c.identity, { kind: 'REJECT', payload, to: buyer }, this.now()) }
  }
}

/** The terms a stored contract was asked with (its signed REQUEST). */
function termsOf (record: ContractRecord): AskedTerms {
  const payload = requestPayloadSchema.parse((JSON.parse(record.signed ?? '{}') as { payload?: unknown }).payload)
  return askedTerms(payload)
}
