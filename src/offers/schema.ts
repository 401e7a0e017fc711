/**
 * The one schema of an offer (the payload of an OFFER envelope) and of a
 * withdrawal (the payload of a WITHDRAW envelope); the types derive from them.
 * An offer is signed JSON, so its prices stay in their wire form, six-decimal
 * strings ("0.250000"); `offerPrices` (prices.ts) reads them as micro-credits.
 */
import { z } from 'zod'
import { creditsWire, type Micro } from '../market/amount.ts'
import { OFFER_CURRENCY, OFFER_LIMITS as L } from './constants.ts'
import { CHAT_FEATURES } from '../providers/inference.ts'

/** An Ed25519 peer id in base58btc (as in src/identity). */
export const peerIdSchema = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected an Ed25519 peer id (12D3KooW…)')

/** Offer ids: random, base64url, stable per node. */
export const offerIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected 8 to 64 base64url characters')

const label = z.string().min(1).max(L.labelLength)
/** At most 2^52, so that anti-entropy's version (2 × Lamport + 1) stays a safe integer. */
const lamport = z.number().int().positive().max(2 ** 52)

export const offeredModelSchema = z.object({
  /** Model id as clients name it, e.g. `llama3.2:3b`. */
  name: z.string().min(1).max(L.nameLength),
  /** The provider serving it, e.g. `ollama`. */
  provider: label,
  kind: z.enum(['chat', 'embedding']),
  /** Largest input in tokens. */
  contextLength: z.number().int().nonnegative().max(L.contextLength),
  /** What it does beyond plain text (tools, json, json_schema, logprobs): the router sends a request only where all it uses is offered. */
  features: z.array(z.enum(CHAT_FEATURES)).max(CHAT_FEATURES.length).optional()
}).strict()

export const offerSchema = z.object({
  /** Stable per node: the same across re-announcements and restarts. */
  id: offerIdSchema,
  /** The node offering (must equal the envelope signer). */
  node: peerIdSchema,
  /** The node's display name (node.name), when set. */
  name: z.string().max(L.nodeNameLength).optional(),
  models: z.array(offeredModelSchema).max(L.models),
  taskTypes: z.array(label).max(L.taskTypes),
  tags: z.array(label).max(L.tags),
  capacity: z.object({
    slotsTotal: z.number().int().nonnegative().max(L.slots),
    slotsIdle: z.number().int().nonnegative().max(L.slots)
  }).strict().refine(c => c.slotsIdle <= c.slotsTotal, 'slotsIdle exceeds slotsTotal'),
  prices: z.object({
    perTask: creditsWire,
    per1kPromptTokens: creditsWire,
    per1kCompletionTokens: creditsWire,
    currency: z.literal(OFFER_CURRENCY)
  }).strict(),
  /** Zone label (node.zone); empty: none. */
  zone: z.string().max(L.labelLength),
  /** Who may use the node (access.trustMode). */
  trustMode: z.enum(['private', 'friends', 'public']),
  /** Hash of the node's policy set; empty until policies exist. */
  policyHash: z.string().max(L.policyHashLength),
  /** Milliseconds since the epoch after which the offer is void. */
  expiresAt: z.number().int().positive(),
  /** Strictly grows with each offer or withdrawal of this node. */
  lamport
}).strict()

export type Offer = z.infer<typeof offerSchema>
export type OfferedModel = z.infer<typeof offeredModelSchema>

export const withdrawSchema = z.object({
  offerId: offerIdSchema,
  lamport
}).strict()

export type Withdrawal = z.infer<typeof withdrawSchema>

/** Filters of `OfferService.list`. */
export interface OfferFilter {
  /** Only offers serving this model. */
  model?: string | undefined
  /** Only offers running this task type. */
  taskType?: string | undefined
  /** Only offers at or under this price (micro-credits), see `offerPrice`. */
  maxPrice?: Micro | undefined
  /** Only offers in this zone. */
  zone?: string | undefined
}

