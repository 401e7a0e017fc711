/**
 * The buyer's side of direct requests: send a signed REQUEST against a
 * peer's offer, ask again while the seller's operator has not decided,
 * check the answer, and only then hold the credits.
 *
 * The seller's ACCEPT is checked before anything is booked: the verifier
 * (kind, addressed to us, age, signature, replay guard), signed by the
 * seller we asked (E1117), and its quote against the request (quote.ts
 * `checkQuote`: E1117 / E1118 / E1113). Then the hold of `maxTotal` is
 * placed; when the wallet cannot cover it the request fails with E1101 and
 * the buyer tells the seller nothing — the seller's copy expires unused.
 * A REJECT ends the request with E1114 carrying the reason.
 */
import { AgoraError, isAgoraError } from '../errors.ts'
import { signEnvelope, type Envelope, type EnvelopeKind, type NodeIdentity } from '../identity/index.ts'
import { formatCredits, MAX_MICRO, type Micro } from './amount.ts'
import { contractHoldId, MARKET_DEFAULTS, newMarketId } from './constants.ts'
import { endedByBuyer, room } from './contracts/state.ts'
import { assertAmount } from './ledger/index.ts'
import { MAX_QUANTITY } from './protocol/constants.ts'
import { isSenderFault } from './protocol/handlers.ts'
import { problemOf } from './protocol/problem.ts'
import { checkQuote, quoteOf, soleWhat, unitPriceOf, type AskedTerms, type Quote } from './protocol/quote.ts'
import { acceptPayloadSchema, rejectPayloadSchema, type MarketRequest, type MarketResponse } from './protocol/schema.ts'
import type { ContractNotifier } from './contracts/notifier.ts'
import type { ContractRecord, ContractsRepository } from './contracts/repository.ts'
import type { MarketMetrics } from './metrics.ts'
import type { Offer } from '../offers/index.ts'
import type { DirectRequest, PaySource } from './types.ts'

export interface BuyerComponents {
  identity: NodeIdentity
  contracts: ContractsRepository
  /** A valid offer by id. */
  offer: (offerId: string) => Offer | undefined
  /** One /agora/market/1 request to a peer. */
  send: (peer: string, request: MarketRequest, signal: AbortSignal) => Promise<MarketResponse>
  /** The EnvelopeVerifier's checks, replay guard included. */
  verify: (envelope: Envelope, kinds: readonly EnvelopeKind[]) => Envelope
  hold: (holdId: string, amount: Micro, options: { expiresAt: number, ref: string }) => void
  release: (holdId: string) => void
  durable: () => Promise<void>
  notifier: ContractNotifier
  /** A seller's answer refused because of the seller. */
  refused: (peer: string, err: AgoraError) => void
  metrics: MarketMetrics | undefined
}

export interface BuyerInit {
  requestTtlMs?: number
  /** Transport failures retried before E1116. */
  attempts?: number
  now?: () => number
}

/** A seller answering "pending" faster than this is asked again only after it (no busy loop). */
const MIN_POLL_MS = 1000

export class Buyer {
  private readonly c: BuyerComponents
  private readonly requestTtlMs: number
  private readonly attempts: number
  private readonly now: () => number
  /** Requests waiting for a seller's operator, by contract id: cancel() aborts them. */
  private readonly polls = new Map<string, AbortController>()

  constructor (components: BuyerComponents, init: BuyerInit = {}) {
    this.c = components
    this.requestTtlMs = init.requestTtlMs ?? MARKET_DEFAULTS.requestTtlMs
    this.attempts = init.attempts ?? 3
    this.now = init.now ?? Date.now
  }

  async request (request: DirectRequest, signal: AbortSignal): Promise<ContractRecord> {
    const self = this.c.identity.peerIdString
    assertAmount(request.maxUnitPrice, 'maxUnitPrice')
    if (!Number.isSafeInteger(request.quantity) || request.quantity < 1 || request.quantity > MAX_QUANTITY) {
      throw new AgoraError('E502', `invalid quantity: ${String(request.quantity)}`, { why: `a whole number from 1 to ${MAX_QUANTITY}` })
    }
    const offer = this.c.offer(request.offerId)
    if (offer === undefined) throw new AgoraError('E1115', `no valid offer ${request.offerId}`, { details: { offerId: request.offerId } })
    if (offer.node === self) throw new AgoraError('E1115', `offer ${request.offerId} is this node's own`, { why: 'a node does not buy from itself' })
    const what = request.what ?? soleWhat(offer)
    if (what === undefined) throw new AgoraError('E1115', `say what to buy from offer ${offer.id}`, { why: `it serves ${[...offer.taskTypes, ...offer.models.map(m => m.name)].join(', ') || 'nothing'}` })
    if (unitPriceOf(offer, what) === undefined) throw new AgoraError('E1115', `offer ${offer.id} does not serve ${what}`)
    const now = this.now()
    const expiresAt = request.expiresAt ?? now + this.requestTtlMs
    if (expiresAt <= now) throw new AgoraError('E1113', 'the request expires before it is sent')
    const asked: AskedTerms = { requestId: newMarketId(), offerId: offer.id, what, quantity: request.quantity, maxUnitPrice: request.maxUnitPrice, expiresAt }
    const deadline = AbortSignal.timeout(expiresAt - now)
    const cancelled = new AbortController()
    const combined = AbortSignal.any([signal, deadline, cancelled.signal])
    let proposed: ContractRecord | undefined
    try {
      for (let failures = 0; ;) {
        const started = this.now()
        let response: MarketResponse
        try {
          response = await this.c.send(offer.node, { type: 'request', envelope: this.requestEnvelope(asked, offer.node) }, combined)
        } catch (err) {
          if (combined.aborted) throw err
          if (!isTransportFailure(err) || ++failures >= this.attempts) throw unreachable(offer.node, err)
          await pause(250 * 2 ** failures, combined)
          continue
        }
        if (response.type === 'decision') return await this.decided(response.envelope, asked, offer.node, proposed)
        if (response.type !== 'pending') throw this.blame(offer.node, new AgoraError('E1117', `the seller answered a request with ${response.type}`))
        failures = 0
        if (proposed === undefined) {
          // the first answer comes at once; the next polls are held by the seller
          proposed = this.proposed(asked, offer.node, response.contractId)
          this.polls.set(proposed.id, cancelled)
          continue
        }
        if (proposed.id !== response.contractId) throw this.blame(offer.node, new AgoraError('E1117', 'the seller changed the contract id of a pending request'))
        const elapsed = this.now() - started
        if (elapsed < MIN_POLL_MS) await pause(MIN_POLL_MS - elapsed, combined)
      }
    } catch (err) {
      if (proposed !== undefined) this.abandoned(proposed, deadline.aborted ? 'expired' : 'cancelled')
      if (deadline.aborted && !signal.aborted) throw new AgoraError('E1113', `request ${asked.requestId} expired before the seller decided`, { details: { seller: offer.node } })
      if (cancelled.signal.aborted && !signal.aborted) throw new AgoraError('E1112', `request ${asked.requestId} was cancelled`)
      throw err
    } finally {
      if (proposed !== undefined) this.polls.delete(proposed.id)
    }
  }

  /** End an accepted contract early (the rest of its hold goes back), or give up a pending request. */
  cancel (record: ContractRecord): ContractRecord {
    if (record.state === 'proposed') {
      this.polls.get(record.id)?.abort()
      return this.abandoned(record, 'cancelled')
    }
    if (record.holdId !== null) this.c.release(record.holdId)
    return this.move(record, endedByBuyer(record.captured))
  }

  /** An accepted contract with `seller` for `what` with room for `amount` (the soonest to expire first): one of `only` when given, never one of `exclude`. */
  contractFor (seller: string, what: string, amount: Micro, only?: ReadonlySet<string>, exclude?: ReadonlySet<string>): PaySource | undefined {
    const now = this.now()
    const found = this.c.contracts.accepted('buyer', seller).find(c => c.what === what && c.expiresAt > now && room(c) >= amount && c.holdId !== null &&
      (only === undefined || only.has(c.id)) && exclude?.has(c.id) !== true)
    return found?.holdId == null ? undefined : { holdId: found.holdId }
  }

  /** A capture drew `amount` from the contract's hold: count it; a contract used up is settled. */
  captured (contractId: string, amount: Micro): void {
    const record = this.c.contracts.get(contractId)
    if (record === undefined || record.role !== 'buyer' || !this.c.contracts.addCaptured(contractId, amount, this.now())) return
    if (record.captured + amount < record.maxTotal) return
    if (record.holdId !== null) this.c.release(record.holdId)
    this.move({ ...record, captured: record.maxTotal }, 'settled')
  }

  private async decided (envelope: Envelope, asked: AskedTerms, seller: string, proposed: ContractRecord | undefined): Promise<ContractRecord> {
    let quote: Quote
    try {
      this.c.verify(envelope, ['ACCEPT', 'REJECT'])
      if (envelope.from !== seller) throw new AgoraError('E1117', `a ${envelope.kind} signed by another node`, { why: `from ${envelope.from}, the seller is ${seller}` })
      if (envelope.kind === 'REJECT') throw this.rejected(envelope, asked, seller, proposed)
      const parsed = acceptPayloadSchema.safeParse(envelope.payload)
      if (!parsed.success) throw new AgoraError('E1117', 'malformed ACCEPT payload', { why: problemOf(parsed.error) })
      quote = checkQuote(quoteOf(parsed.data), asked, { buyer: this.c.identity.peerIdString, seller }, this.now())
      const known = this.c.contracts.get(quote.contractId)
      if (known !== undefined && known.id !== proposed?.id) throw new AgoraError('E1117', `contract id ${quote.contractId} is taken already`, { why: 'the seller reused a contract id' })
      if (proposed !== undefined && proposed.id !== quote.contractId) throw new AgoraError('E1117', 'the ACCEPT names another contract than the pending one')
    } catch (err) {
      if (isSenderFault(err)) this.blame(seller, err)
      throw err
    }
    const holdId = contractHoldId(quote.contractId)
    try {
      this.c.hold(holdId, quote.maxTotal, { expiresAt: quote.expiresAt, ref: quote.contractId })
    } catch (err) {
      if (proposed !== undefined) this.abandoned(proposed, 'cancelled')
      throw err
    }
    const now = this.now()
    const { contractId, ...terms } = quote
    const record: ContractRecord = {
      ...terms, id: contractId, role: 'buyer', captured: 0, state: 'accepted', reason: null, holdId, signed: JSON.stringify(envelope), createdAt: proposed?.createdAt ?? now, updatedAt: now
    }
    const stored = proposed === undefined ? this.c.contracts.insert(record) : this.c.contracts.move(record.id, 'proposed', 'accepted', now, { holdId, signed: record.signed ?? undefined })
    if (!stored) {
      this.c.release(holdId)
      throw new AgoraError('E1112', `contract ${quote.contractId} changed while it was accepted`)
    }
    this.c.metrics?.requests.inc({ role: 'buyer', outcome: 'accepted' })
    await this.c.durable()
    this.c.notifier.moved(record, proposed?.state)
    return record
  }

  /** The E1114 a REJECT ends the request with (the contract kept as rejected). */
  private rejected (envelope: Envelope, asked: AskedTerms, seller: string, proposed: ContractRecord | undefined): AgoraError {
    const parsed = rejectPayloadSchema.safeParse(envelope.payload)
    if (!parsed.success) return new AgoraError('E1117', 'malformed REJECT payload', { why: problemOf(parsed.error) })
    const { reason, message, requestId } = parsed.data
    if (requestId !== asked.requestId) return new AgoraError('E1117', 'the REJECT answers another request', { why: `it names request ${requestId}` })
    const now = this.now()
    let record = proposed
    if (record === undefined) {
      // kept under the seller's contract id when it names a free one, else under one of ours
      record = this.proposedRecord(asked, seller, parsed.data.contractId ?? newMarketId())
      if (!this.c.contracts.insert(record)) {
        record = this.proposedRecord(asked, seller, newMarketId())
        this.c.contracts.insert(record)
      }
    }
    if (this.c.contracts.move(record.id, 'proposed', 'rejected', now, { reason })) this.c.notifier.moved({ ...record, state: 'rejected', reason, updatedAt: now }, proposed?.state)
    this.c.metrics?.requests.inc({ role: 'buyer', outcome: reason })
    return new AgoraError('E1114', `${seller} rejected the request (${reason})`, {
      why: message ?? reason,
      details: { reason, seller, requestId, contractId: record.id }
    })
  }

  private proposed (asked: AskedTerms, seller: string, contractId: string): ContractRecord {
    const record = this.proposedRecord(asked, seller, contractId)
    if (!this.c.contracts.insert(record)) throw this.blame(seller, new AgoraError('E1117', `contract id ${contractId} is taken already`))
    this.c.notifier.moved(record, undefined)
    return record
  }

  private proposedRecord (asked: AskedTerms, seller: string, contractId: string): ContractRecord {
    const now = this.now()
    return {
      id: contractId, role: 'buyer', buyer: this.c.identity.peerIdString, seller, requestId: asked.requestId, offerId: asked.offerId, what: asked.what,
      // until the seller quotes: the most it may cost
      quantity: asked.quantity, unitPrice: asked.maxUnitPrice, maxTotal: Number(min(BigInt(asked.maxUnitPrice) * BigInt(asked.quantity), BigInt(MAX_MICRO))), captured: 0, expiresAt: asked.expiresAt, state: 'proposed', reason: null,
      holdId: null, signed: null, createdAt: now, updatedAt: now
    }
  }

  private abandoned (record: ContractRecord, to: 'expired' | 'cancelled'): ContractRecord {
    const now = this.now()
    if (!this.c.contracts.move(record.id, 'proposed', to, now)) return this.c.contracts.get(record.id) ?? record
    const moved = { ...record, state: to, updatedAt: now }
    this.c.notifier.moved(moved, 'proposed')
    return moved
  }

  private move (record: ContractRecord, to: 'settled' | 'refunded'): ContractRecord {
    const now = this.now()
    if (!this.c.contracts.move(record.id, 'accepted', to, now)) return this.c.contracts.get(record.id) ?? record
    const moved = { ...record, state: to, updatedAt: now }
    this.c.notifier.moved(moved, 'accepted')
    return moved
  }

  private requestEnvelope (asked: AskedTerms, seller: string): Envelope {
    const payload = { ...asked, maxUnitPrice: formatCredits(asked.maxUnitPrice) }
    return signEnvelope(this.c.identity, { kind: 'REQUEST', payload, to: seller }, this.now())
  }

  private blame (seller: string, err: AgoraError): AgoraError {
    this.c.refused(seller, err)
    return err
  }
}

/** A failure of the way there (unreachable, timed out, reset), not an answer of the seller. */
function isTransportFailure (err: unknown): boolean {
  if (!isAgoraError(err)) return false
  // the seller's rate limit says "later", like a failure on the way
  return err.code === 'E206' || (err.details?.remote !== true && ['E202', 'E204', 'E205', 'E207'].includes(err.code))
}

function unreachable (seller: string, err: unknown): unknown {
  if (!isTransportFailure(err)) return err
  return new AgoraError('E1116', `${seller} did not answer the request`, { why: (err as AgoraError).format(), cause: err, details: { seller } })
}

function min (a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

async function pause (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (): void => { clearTimeout(timer); reject(signal.reason) }
    const timer = setTimeout(() => { signal.removeEventListener('abort', done); resolve() }, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
