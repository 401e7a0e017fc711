/**
 * The wire messages of /agora/task/1, one zod schema each (the types derive
 * from them); every string is bounded, and the engine bounds each frame.
 *
 * Request: `offer` (run this assignment) or `fetch` (send me the result of
 * `key` whose canonical JSON hashes to `hash`, in chunks).
 *
 * Answer to an offer:  accepted → progress* → result     (then the engine's END)
 *                   or refused                           (not a failure: no blame)
 * Answer to a fetch:   chunk*                             (then END)
 * A failure travels as the engine's ERROR status with its code (E1044 for an
 * executor failure or bad input, or the executor's own code).
 */
import { z } from 'zod'
import { creditsWire } from '../../market/amount.ts'
import { REFUSAL_REASONS, type TaskAssignment, type TaskReceipt } from './types.ts'
import {
  TASK_MAX_ID_CHARS, TASK_MAX_KEY_CHARS, TASK_MAX_MESSAGE_CHARS, TASK_MAX_RECEIPT_CHARS, TASK_MAX_RESULT_BYTES, TASK_MAX_TYPE_CHARS
} from './constants.ts'

const id = z.string().min(1).max(TASK_MAX_ID_CHARS)
const key = z.string().min(1).max(TASK_MAX_KEY_CHARS)
const type = z.string().min(1).max(TASK_MAX_TYPE_CHARS)
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in hex')
const epochMs = z.number().int().nonnegative()

export const taskAssignmentSchema = z.object({
  key,
  jobId: id,
  subtaskId: id,
  attempt: z.number().int().min(1).max(1_000_000),
  type,
  params: z.record(z.string(), z.unknown()),
  input: z.unknown(),
  deadline: epochMs.optional(),
  maxPrice: creditsWire.optional()
}).strict() satisfies z.ZodType<TaskAssignment>

export const taskRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('offer'), assignment: taskAssignmentSchema }).strict(),
  z.object({ kind: z.literal('fetch'), key, hash: sha256HexSchema }).strict()
])

export const resultRefSchema = z.object({
  hash: sha256HexSchema,
  size: z.number().int().nonnegative().max(TASK_MAX_RESULT_BYTES)
}).strict()

const resultFrame = z.object({
  type: z.literal('result'),
  /** The result, inline (when its canonical JSON is small). */
  result: z.unknown().optional(),
  /** Or a reference to fetch it by. */
  ref: resultRefSchema.optional(),
  /** The signed RECEIPT envelope, encoded (base64url of its JSON). */
  receipt: z.string().min(1).max(TASK_MAX_RECEIPT_CHARS)
}).strict().refine(frame => (frame.ref === undefined) !== (frame.result === undefined), 'exactly one of result and ref')

export const taskFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('accepted'), slotsIdle: z.number().int().nonnegative() }).strict(),
  z.object({
    type: z.literal('refused'),
    reason: z.enum(REFUSAL_REASONS),
    retryAfterMs: z.number().int().nonnegative().optional(),
    message: z.string().max(TASK_MAX_MESSAGE_CHARS)
  }).strict(),
  z.object({ type: z.literal('progress'), fraction: z.number().min(0).max(1) }).strict(),
  resultFrame,
  /** Part of a fetched result, base64 (in order; the bytes end with the stream). */
  z.object({ type: z.literal('chunk'), data: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64') }).strict()
])

/** The RECEIPT envelope's payload. */
export const taskReceiptSchema = z.object({
  key,
  attempt: z.number().int().min(1),
  jobId: id,
  subtaskId: id,
  type,
  worker: z.string().min(1).max(128),
  coordinator: z.string().min(1).max(128),
  resultHash: sha256HexSchema,
  price: creditsWire,
  startedAt: epochMs,
  finishedAt: epochMs
}).strict() satisfies z.ZodType<TaskReceipt>

export type TaskRequest = z.infer<typeof taskRequestSchema>
export type TaskFrame = z.infer<typeof taskFrameSchema>
export type ResultRef = z.infer<typeof resultRefSchema>
