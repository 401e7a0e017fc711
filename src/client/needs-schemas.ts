/**
 * The open auction's control-API shapes (docs/market.md "Auctions"): the
 * body of a new need, the decision, and the JSON of needs and proposals —
 * amounts as six-decimal strings.
 */
import { z } from 'zod'
import { creditsInput } from '../market/amount.ts'
import { NEED_STATES } from '../market/auction/repository.ts'
import { peerIdSchema } from '../offers/schema.ts'

/** POST /api/v1/market/needs. */
export const needBody = z.object({
  taskType: z.string().min(1).max(128),
  quantity: z.number().int().min(1).max(1_000_000),
  /** The most the whole need may cost, in credits. */
  budget: creditsInput,
  /** Proposals are taken for this long (the deadline is now + this). */
  deadlineInMs: z.number().int().min(100).max(24 * 3600 * 1000),
  /** `auto` (default): decided at the deadline; `manual`: by POST …/decide. */
  decide: z.enum(['auto', 'manual']).default('auto')
}).strict()
export type NeedBody = z.input<typeof needBody>

/** POST /api/v1/market/needs/:id/decide: the named seller's proposal, or the best. */
export const decideBody = z.object({ seller: peerIdSchema.optional() }).strict()
export type DecideBody = z.input<typeof decideBody>

export const needsQuery = z.object({
  state: z.enum(NEED_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional()
}).strict()

export const needIdParam = z.object({ id: z.string().min(1).max(128) })

export interface NeedJson {
  id: string
  thread: string
  taskType: string
  quantity: number
  budget: string
  deadline: number
  decideMode: 'auto' | 'manual'
  state: string
  epoch: number
  seller: string | null
  contractId: string | null
  reason: string | null
  createdAt: number
  updatedAt: number
}

export interface ProposalJson {
  needId: string
  seller: string
  offerId: string
  unitPrice: string
  /** unitPrice × the need's quantity. */
  total: string
  etaMs: number
  capacity: number
  state: string
  reason: string | null
  /** The router's score (0..1): the best first. */
  score: number
  receivedAt: number
}

export interface NeedViewJson {
  need: NeedJson
  proposals: ProposalJson[]
}
