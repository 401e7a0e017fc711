/**
 * The wire messages of /agora/market/1 (one schema each; the types derive
 * from them) and the payloads of the envelopes they carry. Amounts on the
 * wire are six-decimal strings (`creditsWire`).
 *
 * Requests (one per stream), told apart by `type`:
 *  - `request` + a REQUEST envelope (buyer → seller): answered by a
 *    `decision` (the seller's signed ACCEPT or REJECT), or `pending` while
 *    the seller's operator has not decided (the buyer asks again with a
 *    freshly signed REQUEST of the same payload);
 *  - `payment` + a PAYMENT envelope (payer → payee): answered `{ ok: true }`,
 *    or an error that travels as the reqresp error status (E1120, E1121…);
 *  - `balance`: answered by the responder's unsigned view of the pair;
 *  - `propose` + a PROPOSE envelope (seller → buyer, for a NEED the buyer
 *    gossiped): answered `{ ok: true }` once kept, or an error (E1131
 *    after the deadline, E1132 above the budget, E1133 no such open need);
 *  - `void` + a VOID envelope (payer → payee: a part of a receipt that will
 *    never be paid, forfeited after an audit): answered `{ ok: true }` once
 *    booked (or booked before), or an error (E1390–E1393, E112…).
 */
import { z } from 'zod'
import { envelopeSchema } from '../../identity/index.ts'
import { creditsWire } from '../amount.ts'
import { REJECT_REASONS } from '../types.ts'
import { MAX_QUANTITY, MAX_REJECT_MESSAGE, MAX_WHAT_LENGTH } from './constants.ts'

const peerId = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected an Ed25519 peer id (12D3KooW…)')
/** Request and contract ids: 16 random bytes in base64url (22 characters), or up to 64 such characters. */
export const marketIdSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'expected 16 to 64 base64url characters')
const offerId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected 8 to 64 base64url characters')
const what = z.string().min(1).max(MAX_WHAT_LENGTH)
const quantity = z.number().int().min(1).max(MAX_QUANTITY)
const epochMs = z.number().int().positive()

/** REQUEST (buyer → seller): the buyer asks for `quantity` units of `what` at `maxUnitPrice` at most. */
export const requestPayloadSchema = z.object({
  requestId: marketIdSchema,
  offerId,
  what,
  quantity,
  maxUnitPrice: creditsWire,
  expiresAt: epochMs
}).strict()

/** ACCEPT (seller → buyer): the seller's signed quote. */
export const acceptPayloadSchema = z.object({
  contractId: marketIdSchema,
  requestId: marketIdSchema,
  buyer: peerId,
  seller: peerId,
  offerId,
  what,
  quantity,
  unitPrice: creditsWire,
  maxTotal: creditsWire,
  expiresAt: epochMs
}).strict()

/** REJECT (seller → buyer): why not. */
export const rejectPayloadSchema = z.object({
  requestId: marketIdSchema,
  /** Set when the request had become a contract (manual mode). */
  contractId: marketIdSchema.optional(),
  reason: z.enum(REJECT_REASONS),
  message: z.string().max(MAX_REJECT_MESSAGE).optional()
}).strict()

export type RequestPayload = z.infer<typeof requestPayloadSchema>
export type AcceptPayload = z.infer<typeof acceptPayloadSchema>
export type RejectPayload = z.infer<typeof rejectPayloadSchema>

const proofState = z.object({ nonce: z.number().int().nonnegative(), cumulative: creditsWire }).strict()

/** One side's view of a pair's balance (BalanceView with wire amounts). */
export const balanceViewWireSchema = z.object({
  peer: peerId,
  receivable: creditsWire,
  payable: creditsWire,
  sent: proofState,
  received: proofState,
  /** Parts of receipts voided (sent by this side, received from the other); absent from a node before VOIDs. */
  voided: z.object({ sent: creditsWire, received: creditsWire }).strict().optional()
}).strict()

export type BalanceViewWire = z.infer<typeof balanceViewWireSchema>

export const marketRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('request'), envelope: envelopeSchema }).strict(),
  z.object({ type: z.literal('payment'), envelope: envelopeSchema }).strict(),
  z.object({ type: z.literal('balance') }).strict(),
  z.object({ type: z.literal('propose'), envelope: envelopeSchema }).strict(),
  z.object({ type: z.literal('void'), envelope: envelopeSchema }).strict()
])

export const marketResponseSchema = z.discriminatedUnion('type', [
  /** The seller's signed ACCEPT or REJECT. */
  z.object({ type: z.literal('decision'), envelope: envelopeSchema }).strict(),
  /** Manual mode: queued for the operator; ask again (a fresh REQUEST, same payload) until `expiresAt`. */
  z.object({ type: z.literal('pending'), contractId: marketIdSchema }).strict(),
  z.object({ type: z.literal('payment'), ok: z.literal(true) }).strict(),
  z.object({ type: z.literal('balance'), view: balanceViewWireSchema }).strict(),
  z.object({ type: z.literal('proposal'), ok: z.literal(true) }).strict(),
  z.object({ type: z.literal('void'), ok: z.literal(true) }).strict()
])

export type MarketRequest = z.infer<typeof marketRequestSchema>
export type MarketResponse = z.infer<typeof marketResponseSchema>
export type MarketRequestType = MarketRequest['type']
