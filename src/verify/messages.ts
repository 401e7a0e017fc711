/**
 * The payloads of verification's envelopes (docs/verification.md,
 * "Messages"). Each is bound to a thread (the need or job id), an epoch and
 * the signer's Lamport time for that thread; the validator
 * (validator.ts) orders them per (thread, signer). Amounts are six-decimal
 * credit strings, hashes 64 hex digits.
 *
 *   NEED        buyer → gossip     what it wants: task type, quantity, budget, deadline
 *   PROPOSE     seller → buyer     unit price, ETA, capacity, for a NEED
 *   CLAIM       worker             takes a subtask of the thread
 *   COMMIT      worker             the hash of its result for a subtask
 *   ATTEST      verifier           commit: sha256 of (verdict, result hash, salt); reveal: them
 *   DECIDE      decider            the result (or proposal) that stands
 *   FINALIZE    decider            pays the decided result
 *   CHALLENGE   coordinator        a worker's signed RECEIPT and the replicas' RECEIPTs that outvoted it
 *   INVALIDATE  decider            withdraws a decided result
 *   RECONCILE   decider            an orphaned decision and what was refunded for it
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { envelopeSchema, type EnvelopeKind } from '../identity/index.ts'
import { creditsWire } from '../market/amount.ts'

export const VERIFY_KINDS = ['NEED', 'PROPOSE', 'CLAIM', 'COMMIT', 'ATTEST', 'DECIDE', 'FINALIZE', 'CHALLENGE', 'INVALIDATE', 'RECONCILE'] as const satisfies readonly EnvelopeKind[]
export type VerifyKind = typeof VERIFY_KINDS[number]

const MAX_ID = 256
const peerId = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected an Ed25519 peer id (12D3KooW…)')
const hash = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in 64 hex digits')
/** Threads, subtasks, results: printable ASCII without spaces (a peer id, a job or need id, a hash), so their JSON is never longer than they are. */
const id = z.string().min(1).max(MAX_ID).regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')
const whole = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const epochMs = z.number().int().positive()

/** What every verification payload carries. */
const threaded = { thread: id, epoch: whole, lamport: whole }

export const needSchema = z.object({ ...threaded, taskType: id, quantity: z.number().int().min(1).max(1_000_000), budget: creditsWire, deadline: epochMs }).strict()
export const proposeSchema = z.object({ ...threaded, unitPrice: creditsWire, etaMs: whole, capacity: z.number().int().min(1).max(1_000_000) }).strict()
export const claimSchema = z.object({ ...threaded, subtask: id }).strict()
export const commitSchema = z.object({ ...threaded, subtask: id, resultHash: hash }).strict()
export const attestSchema = z.discriminatedUnion('phase', [
  z.object({ ...threaded, phase: z.literal('commit'), subtask: id, worker: peerId, commitment: hash }).strict(),
  z.object({ ...threaded, phase: z.literal('reveal'), subtask: id, worker: peerId, verdict: z.enum(['valid', 'invalid', 'inconclusive']), resultHash: hash, salt: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected 16 bytes in base64url') }).strict()
])
export const decideSchema = z.object({ ...threaded, result: id }).strict()
export const finalizeSchema = z.object({ ...threaded, result: id, amount: creditsWire }).strict()
export const challengeSchema = z.object({
  ...threaded,
  /** The accused worker's signed RECEIPT for the result. */
  receipt: envelopeSchema,
  /** The accused's result hash, the one the replicas agreed on, and their signed RECEIPTs (challenge.ts checks them). */
  evidence: z.object({ resultHash: hash, expectedHash: hash, replicas: z.array(envelopeSchema).max(16) }).strict()
}).strict()
export const invalidateSchema = z.object({ ...threaded, result: id, reason: z.string().min(1).max(500) }).strict()
export const reconcileSchema = z.object({ ...threaded, orphaned: z.object({ epoch: whole, lamport: whole, decider: peerId, result: id }).strict(), refund: creditsWire }).strict()

export const VERIFY_SCHEMAS = {
  NEED: needSchema,
  PROPOSE: proposeSchema,
  CLAIM: claimSchema,
  COMMIT: commitSchema,
  ATTEST: attestSchema,
  DECIDE: decideSchema,
  FINALIZE: finalizeSchema,
  CHALLENGE: challengeSchema,
  INVALIDATE: invalidateSchema,
  RECONCILE: reconcileSchema
} as const satisfies Record<VerifyKind, z.ZodType>

export type VerifyPayload<K extends VerifyKind> = z.infer<typeof VERIFY_SCHEMAS[K]>

/** The commitment an ATTEST's first phase carries: sha256 of verdict, result hash and salt, so a verifier cannot copy another's verdict before both are revealed. */
export function attestCommitment (verdict: 'valid' | 'invalid' | 'inconclusive', resultHash: string, salt: string): string {
  return createHash('sha256').update(`${verdict}\u0000${resultHash}\u0000${salt}`).digest('hex')
}
