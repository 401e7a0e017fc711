/**
 * The market's public surface (docs/market.md): what the control API, the
 * jobs coordinator and worker, and the gateway call. Amounts are integer
 * micro-credits (`Micro`) inside; the API turns them into six-decimal
 * strings at its edge.
 */
import type { Micro } from './amount.ts'

export const CONTRACT_STATES = ['proposed', 'accepted', 'rejected', 'settled', 'refunded', 'expired', 'cancelled'] as const
export type ContractState = typeof CONTRACT_STATES[number]
/** States a contract never leaves. */
export const FINISHED_CONTRACT_STATES: readonly ContractState[] = ['rejected', 'settled', 'refunded', 'expired', 'cancelled']

/** Why a seller refused a request (REJECT), or refuses work for a buyer. */
export const REJECT_REASONS = ['capacity', 'price', 'credit-limit', 'trust', 'expired', 'declined', 'unknown-offer'] as const
export type RejectReason = typeof REJECT_REASONS[number]

export interface Contract {
  id: string
  /** This node's side of it. */
  role: 'buyer' | 'seller'
  buyer: string
  seller: string
  offerId: string
  /** A task type or a model. */
  what: string
  quantity: number
  unitPrice: Micro
  maxTotal: Micro
  /** Captured so far (buyer side: from the hold; seller side: receipts issued under it). */
  captured: Micro
  expiresAt: number
  state: ContractState
  /** Set when rejected. */
  reason: RejectReason | null
  createdAt: number
  updatedAt: number
}

export interface PeerBalance {
  peer: string
  /** What the peer owes this node (proven by its payment proofs). */
  receivable: Micro
  /** What this node owes the peer (its captures of the peer's receipts). */
  payable: Micro
  /** receivable − payable (the mutual-credit settlement of the pair). */
  net: Micro
  /** The credit limit this node extends to the peer, and where it comes from. */
  limit: Micro
  limitSource: 'default' | 'trusted' | 'peer'
  /** Receipts this node issued to the peer that no payment proof covers yet. */
  unpaid: Micro
  /** Receipts this node captured from the peer that no proof it sent covers yet. */
  unproven: Micro
  /** Parts of receipts this node issued to the peer that the peer voided (settled unpaid: neither paid nor unpaid). */
  voided: Micro
  /** Parts of the peer's receipts this node voided (its VOIDs, sent or to be resent). */
  voidedByUs: Micro
}

export interface Wallet {
  /** grant + earned − spent */
  balance: Micro
  available: Micro
  held: Micro
  earned: Micro
  spent: Micro
  grant: Micro
  peers: PeerBalance[]
}

export interface WalletEntry {
  postingId: number
  at: number
  kind: string
  account: string
  amount: Micro
  /** The account's balance after this entry (signed, as the ledger keeps it). */
  balance: Micro
  /** What it was for: a contract, job, request or proof. */
  ref: string | null
  peer: string | null
}

export interface DirectRequest {
  offerId: string
  /** The model or task type to buy; may be left out when the offer serves only one thing. */
  what?: string
  quantity: number
  /** The most the buyer pays per unit. */
  maxUnitPrice: Micro
  /** Default: now + market.requestTtlMs. */
  expiresAt?: number
}

/** Where a priced piece of work is paid from: a hold the buyer placed. */
export interface PaySource {
  holdId: string
}

/** What the buyer side needs to pay for one receipt of a seller's work. */
export interface CaptureInput {
  holdId: string
  /** Unique per piece of work, e.g. `task:<key>#<attempt>` or `infer:<requestId>`; the idempotency key. */
  receiptId: string
  seller: string
  amount: Micro
  /**
   * This capture pays part of receipt `partOf` (its proof lists that id);
   * `receiptId` is then the part's own key, e.g. `<receipt>#rest`. A
   * receipt is paid in at most the parts its payee issued it for in all.
   */
  partOf?: string
}

/** The view of a pair's balance one side sends the other (`agora wallet reconcile`). */
export interface BalanceView {
  peer: string
  receivable: Micro
  payable: Micro
  /** The last proof this side sent and the last one it accepted. */
  sent: { nonce: number, cumulative: Micro }
  received: { nonce: number, cumulative: Micro }
  /** Parts of receipts voided: by this side's VOIDs (sent) and by the other's (received, booked here). */
  voided: { sent: Micro, received: Micro }
}

export interface MarketApi {
  wallet(): Wallet
  history(query?: { limit?: number, before?: number, account?: string }): WalletEntry[]
  setLimit(peer: string, limit: Micro | null): PeerBalance
  contracts(query?: { state?: ContractState, role?: 'buyer' | 'seller', limit?: number }): Contract[]
  contract(id: string): Contract
  /** Buyer: send a REQUEST against a peer's offer; resolves with the accepted contract (hold placed), E1114 with the reason when rejected. */
  request(request: DirectRequest, options?: { signal?: AbortSignal }): Promise<Contract>
  /** Seller, manual mode: requests waiting for the operator. */
  pending(): Contract[]
  accept(contractId: string): Promise<Contract>
  reject(contractId: string, reason?: RejectReason): Promise<Contract>
  /** Buyer: end an accepted contract early (the rest of its hold is released). */
  cancel(contractId: string): Promise<Contract>
  /** Both books of a pair, side by side, and where they differ. */
  reconcile(peer: string, options?: { signal?: AbortSignal }): Promise<{ local: BalanceView, remote: BalanceView, differences: string[] }>

  // the open auction, buyer side (docs/market.md "Auctions")
  /** Gossip a NEED; sellers answer with proposals until its deadline; `auto` needs are decided then. */
  need(input: NeedInput): Promise<Need>
  needs(query?: { state?: NeedState, limit?: number }): Need[]
  /** A need and its proposals, best first. */
  needView(id: string): { need: Need, proposals: Proposal[] }
  /** DECIDE now (the named seller's proposal, or the best); resolves once the decision is a contract, E1134 when none could be. */
  decideNeed(id: string, seller?: string): Promise<Need>
  cancelNeed(id: string): Need
  /** A need decided at its deadline, for a job that buys its subtasks by auction: the decided need, or E1134. */
  auction(input: NeedInput, options?: { signal?: AbortSignal }): Promise<Need>

  // jobs and the gateway, buyer side
  /** Hold `amount` for `holdId` (a job, a gateway request); E1101 when available cannot cover it. Idempotent by holdId. */
  hold(holdId: string, amount: Micro, options?: { expiresAt?: number, ref?: string }): void
  /**
   * An accepted contract with `seller` for `what` with room for `amount`, if any (its hold pays first).
   * `only`: one of these contracts (a job's own, from its auction); without it, never a contract an auction made for a job.
   */
  contractFor(seller: string, what: string, amount: Micro, options?: { only?: readonly string[] }): PaySource | undefined
  /** Capture one checked receipt; idempotent by receiptId; E1104 above what is held. */
  capture(input: CaptureInput): void
  /** Move `amount` of hold `from` into a new hold `to` (once per `to`); E1104 when `from` does not hold that much. */
  setAside(from: string, to: string, amount: Micro, options?: { expiresAt?: number, ref?: string }): void
  /** Whether a receipt was captured already (from whichever hold). */
  captured(receiptId: string): boolean
  /** Release what is left of a hold (exactly once). */
  release(holdId: string): void
  /** Resolves once everything booked so far is on disk (before telling a peer or a user). */
  durable(): Promise<void>
  /**
   * Tell `payee` that part of its receipt will never be paid (a held-back
   * part forfeited after an audit): a signed VOID, once per receipt, kept
   * and resent until acknowledged. Resolves once it is on disk.
   */
  voidPart(input: VoidInput): Promise<void>

  // jobs worker and gateway server, seller side
  /**
   * Take on `amount` more of work from `buyer` if its credit limit allows (E1102
   * when not); the amount counts against the limit until the returned release
   * is called — after the receipt is issued, or when the work fails.
   */
  admit(buyer: string, amount: Micro, what?: string): () => void
  /**
   * Record a receipt this node signed for `buyer` (so its payment proof can be checked); idempotent by receiptId.
   * With `what` (or `contractId`) it counts toward the buyer's accepted contract for it that has room.
   */
  issue(receipt: { receiptId: string, buyer: string, amount: Micro, what?: string, contractId?: string }): void
}

import type { NeedInput } from './auction/buyer.ts'
import type { VoidInput } from './payments/void.ts'
import type { Need, NeedState, Proposal } from './auction/public.ts'
export type { NeedInput, Need, NeedState, Proposal }
