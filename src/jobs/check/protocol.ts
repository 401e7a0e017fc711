/**
 * `/agora/verify/check/1`: a job's coordinator asks a verifier — a node
 * whose offer carries `verify:<type>` — to check one worker's result for a
 * subtask (docs/verification.md "Verifiers on the network"). The request
 * carries the assignment the worker ran, the result it returned and its
 * signed RECEIPT for it. The first verifier asked re-runs the assignment on
 * its own worker and answers with its result too (`wantResult`); the
 * others are handed that result (`replica`) and compare — one re-run per
 * check, not K (a verifier that disagrees with it re-runs too). Each
 * compares with the task type's comparator, ATTESTs its verdict over
 * gossip (commitment, then reveal) on the thread
 * `<coordinator>/<job>/<subtask>` in the attempt's epoch, and answers with
 * the verdict. The coordinator DECIDEs once K verifiers revealed the result
 * valid.
 */
import { z } from 'zod'
import { defineProtocol } from '../../protocols/index.ts'
import { peerIdSchema } from '../../offers/schema.ts'
import { TASK_MAX_RECEIPT_CHARS } from '../protocol/constants.ts'
import { sha256HexSchema, taskAssignmentSchema } from '../protocol/schema.ts'

export const CHECK_PROTOCOL_ID = '/agora/verify/check/1'
/** A result and input larger than this together are not sent to verifiers (a request carries them and a replica): the coordinator checks them itself. */
export const CHECK_MAX_RESULT_BYTES = 768 * 1024

export const checkRequestSchema = z.object({
  /** An ATTEST's thread: at most 256 printable characters (verify/messages.ts). */
  thread: z.string().min(1).max(256),
  epoch: z.number().int().min(1).max(1_000_000),
  assignment: taskAssignmentSchema,
  worker: peerIdSchema,
  /** The worker's signed RECEIPT for the result, made out to the caller (encoded, as the worker sent it). */
  receipt: z.string().min(1).max(TASK_MAX_RECEIPT_CHARS),
  result: z.unknown(),
  resultHash: sha256HexSchema,
  /** Another verifier's result to compare with, instead of re-running. */
  replica: z.object({ verifier: peerIdSchema, result: z.unknown(), resultHash: sha256HexSchema }).strict().optional(),
  /** Re-run, and send the result back (for the other verifiers to compare with). */
  wantResult: z.boolean().optional()
}).strict()

export const checkResponseSchema = z.object({
  verdict: z.enum(['valid', 'invalid']),
  /** The result compared with: this verifier's own, or the replica it was handed. */
  resultHash: sha256HexSchema,
  /** This verifier's own result, when asked for it. */
  result: z.unknown().optional()
}).strict()

export type CheckRequest = z.infer<typeof checkRequestSchema>
export type CheckResponse = z.infer<typeof checkResponseSchema>

export const checkProtocol = defineProtocol({
  id: CHECK_PROTOCOL_ID,
  request: checkRequestSchema,
  response: checkResponseSchema,
  maxRequestBytes: 2 * 1024 * 1024,
  maxResponseBytes: 1024 * 1024,
  // re-running the subtask, then the attestation's reveal: as long as an attempt may take
  timeouts: { requestMs: 10_000, firstByteMs: 10 * 60_000, responseMs: 10 * 60_000 },
  // a check may cost a whole subtask: few per peer (the verifier also bounds the checks in progress)
  rateLimit: { perSecond: 20, burst: 40 }
})
