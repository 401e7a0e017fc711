/**
 * Admission by credit limit (docs/market.md, Credit limits), seller side.
 * A buyer's exposure at this node is
 *
 *   max(0, receivable − payable + unpaid)   what it owes net: proven by its
 *                                            payment proofs, or receipts this
 *                                            node issued that no proof covers yet
 * + Σ (maxTotal − captured)                 what its accepted contracts here
 *                                            may still take
 *
 * + work admitted and not yet issued          reserved by `reserve` until the
 *                                            receipt is issued (or the work fails)
 *
 * and work worth `amount` is admitted when exposure + amount stays within
 * the limit — or when an accepted contract of that buyer for the same
 * `what` still has room for it (that room is counted already). Work taken on
 * at the same moment reserves its amount, so two admissions can never both
 * use the same room.
 */
import { AgoraError } from '../../errors.ts'
import { formatCredits, type Micro } from '../amount.ts'
import { limitFor, type CreditLimit, type LimitDefaults, type LimitsRepository } from './limits.ts'
import { room } from './state.ts'
import type { ContractRecord, ContractsRepository } from './repository.ts'

/** This node's books of one pair (the ledger and the payee side of payments). */
export interface PairBooks {
  /** What the peer owes this node, proven by its payment proofs (receivable:<peer>). */
  receivable(peer: string): Micro
  /** What this node owes the peer (payable:<peer>). */
  payable(peer: string): Micro
  /** Receipts this node issued to the peer that no payment proof covers yet. */
  unpaid(peer: string): Micro
}

export interface CreditPolicyComponents {
  contracts: Pick<ContractsRepository, 'accepted'>
  limits: Pick<LimitsRepository, 'get'>
  books: PairBooks
  /** Whether the peer book trusts the peer. */
  isTrusted: (peer: string) => boolean
}

export interface Exposure {
  /** max(0, receivable − payable + unpaid). */
  owed: Micro
  /** Room left in the buyer's accepted contracts here. */
  open: Micro
  /** Work admitted and not yet issued. */
  reserved: Micro
  /** owed + open + reserved. */
  total: Micro
}

export class CreditPolicy {
  private readonly c: CreditPolicyComponents
  private readonly defaults: LimitDefaults
  private readonly now: () => number
  private readonly reservations = new Map<string, Micro>()

  constructor (components: CreditPolicyComponents, init: LimitDefaults & { now?: () => number }) {
    this.c = components
    this.defaults = { creditLimit: init.creditLimit, trustedCreditLimit: init.trustedCreditLimit }
    this.now = init.now ?? Date.now
  }

  limit (peer: string): CreditLimit {
    return limitFor(this.c.limits.get(peer), this.c.isTrusted(peer), this.defaults)
  }

  exposure (buyer: string): Exposure {
    const owedNet = this.c.books.receivable(buyer) - this.c.books.payable(buyer) + this.c.books.unpaid(buyer)
    const owed = Math.max(0, owedNet)
    const now = this.now()
    let open = 0
    for (const contract of this.c.contracts.accepted('seller', buyer)) {
      if (contract.expiresAt > now) open += room(contract)
    }
    const reserved = this.reservations.get(buyer) ?? 0
    return { owed, open, reserved, total: owed + open + reserved }
  }

  /**
   * Admit work like `admit`, and hold its amount against the limit until the
   * returned release is called (once the receipt is issued, or the work
   * failed); calling it again does nothing.
   */
  reserve (buyer: string, amount: Micro, what?: string): () => void {
    // work a contract pays for uses its room, counted already
    if (what !== undefined && this.contractWithRoom(buyer, what, amount) !== undefined) return () => {}
    this.admit(buyer, amount, what)
    this.reservations.set(buyer, (this.reservations.get(buyer) ?? 0) + amount)
    let held = true
    return () => {
      if (!held) return
      held = false
      const left = (this.reservations.get(buyer) ?? 0) - amount
      if (left > 0) this.reservations.set(buyer, left)
      else this.reservations.delete(buyer)
    }
  }

  /** An accepted contract of `buyer` here for `what` with room for `amount`, if any. */
  contractWithRoom (buyer: string, what: string, amount: Micro): ContractRecord | undefined {
    const now = this.now()
    return this.c.contracts.accepted('seller', buyer).find(c => c.what === what && c.expiresAt > now && room(c) >= amount)
  }

  /** Throws E1102 unless `buyer` may take `amount` more of work (see the module comment). */
  admit (buyer: string, amount: Micro, what?: string): void {
    if (what !== undefined && this.contractWithRoom(buyer, what, amount) !== undefined) return
    const { limit } = this.limit(buyer)
    const exposure = this.exposure(buyer)
    if (exposure.total + amount <= limit) return
    throw new AgoraError('E1102', `credit limit reached for ${buyer}`, {
      why: `it owes ${formatCredits(exposure.owed)}, work in progress comes to ${formatCredits(exposure.reserved)} and its open contracts may take ${formatCredits(exposure.open)} more; ` +
        `${formatCredits(amount)} more would pass the limit of ${formatCredits(limit)}`,
      details: { peer: buyer, limit: formatCredits(limit), balance: formatCredits(exposure.owed), open: formatCredits(exposure.open), amount: formatCredits(amount) }
    })
  }
}
