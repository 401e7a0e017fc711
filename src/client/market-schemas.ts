/**
 * The market's control-API shapes: request bodies and queries (zod, checked
 * by the server, typed for the client) and the JSON the server answers
 * with — every amount a six-decimal string (docs/market.md, Amounts).
 */
import { z } from 'zod'
import { creditsInput } from '../market/amount.ts'
import { CONTRACT_STATES, REJECT_REASONS, type ContractState, type RejectReason } from '../market/types.ts'
import { queryNumber } from './schemas.ts'

/** POST /api/v1/market/requests: a direct request against a peer's offer. */
export const marketRequestBody = z.object({
  offerId: z.string().min(1).max(256),
  /** The model or task type bought; may be left out when the offer serves one thing only. */
  what: z.string().min(1).max(256).optional(),
  quantity: z.number().int().min(1).max(1_000_000),
  /** The most the buyer pays per unit, in credits. */
  maxUnitPrice: creditsInput,
  /** How long the request (and its contract) stays valid; default market.requestTtlMs. */
  expiresInMs: z.number().int().min(1000).max(30 * 24 * 3600 * 1000).optional()
}).strict()
export type MarketRequestBody = z.input<typeof marketRequestBody>

export const rejectBody = z.object({ reason: z.enum(REJECT_REASONS).default('declined') }).strict()
export type RejectBodyInput = z.input<typeof rejectBody>

/** PUT /api/v1/market/limits/:peer: credits, or null for the default again. */
export const limitBody = z.object({ limit: creditsInput.nullable() }).strict()
export type LimitBody = z.input<typeof limitBody>

export const contractsQuery = z.object({
  state: z.enum(CONTRACT_STATES).optional(),
  role: z.enum(['buyer', 'seller']).optional(),
  limit: queryNumber(z.number().int().min(1).max(1000)).optional()
}).strict()
export type ContractsQuery = z.input<typeof contractsQuery>

export const historyQuery = z.object({
  limit: queryNumber(z.number().int().min(1).max(1000)).optional(),
  /** Entries of postings older than this posting id (paging back). */
  before: queryNumber(z.number().int().min(1)).optional(),
  account: z.string().min(1).max(200).optional()
}).strict()
export type HistoryQuery = z.input<typeof historyQuery>

export const contractIdParam = z.object({ id: z.string().min(1).max(128) })
export const marketPeerParam = z.object({ peer: z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected a peer id (12D3KooW…)') })

export interface PeerBalanceJson {
  peer: string
  receivable: string
  payable: string
  net: string
  limit: string
  limitSource: 'default' | 'trusted' | 'peer'
  unpaid: string
  unproven: string
  /** Parts of our receipts the peer voided (settled unpaid: neither paid nor unpaid). */
  voided: string
  /** Parts of the peer's receipts we voided. */
  voidedByUs: string
}

export interface WalletJson {
  balance: string
  available: string
  held: string
  earned: string
  spent: string
  grant: string
  peers: PeerBalanceJson[]
}

export interface WalletEntryJson {
  postingId: number
  at: number
  kind: string
  account: string
  amount: string
  balance: string
  ref: string | null
  peer: string | null
}

export interface ContractJson {
  id: string
  role: 'buyer' | 'seller'
  buyer: string
  seller: string
  offerId: string
  what: string
  quantity: number
  unitPrice: string
  maxTotal: string
  captured: string
  expiresAt: number
  state: ContractState
  reason: RejectReason | null
  createdAt: number
  updatedAt: number
}

export interface BalanceViewJson {
  peer: string
  receivable: string
  payable: string
  sent: { nonce: number, cumulative: string }
  received: { nonce: number, cumulative: string }
  /** Parts of receipts voided: by this side (sent) and by the other (received, booked here). */
  voided: { sent: string, received: string }
}

export interface ReconcileJson {
  local: BalanceViewJson
  remote: BalanceViewJson
  differences: string[]
}
