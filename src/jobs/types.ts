/**
 * The shapes every part of the jobs room shares: what a user submits (one
 * zod schema, used by the API and the CLI), a job and its subtasks as the
 * store keeps them, and the lifecycle states (docs/overview.md "Lifecycles").
 */
import { z } from 'zod'
import { creditsInput, creditsWire, formatCredits, type Micro } from '../market/amount.ts'
import type { ErrorBody } from '../errors.ts'
import { peerIdSchema } from '../offers/schema.ts'

/** submitted → planned → running → aggregating → completed | failed | cancelled */
export const JOB_STATES = ['submitted', 'planned', 'running', 'aggregating', 'completed', 'failed', 'cancelled'] as const
export type JobState = typeof JOB_STATES[number]
export const FINISHED_JOB_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled']

/**
 * pending → assigned (offered to a worker) → running (accepted) → committed
 * (result accepted); on refusal, failure or timeout back to pending for the
 * next candidate, until attempts run out → failed. Verification and the
 * market add verified and settled after committed.
 */
export const SUBTASK_STATES = ['pending', 'assigned', 'running', 'committed', 'failed', 'cancelled'] as const
export type SubtaskState = typeof SUBTASK_STATES[number]

export const jobConstraintsSchema = z.object({
  /** Only workers whose offer lists every one of these models. */
  models: z.array(z.string().min(1).max(256)).max(16).optional(),
  /** Only workers whose offer has every one of these tags. */
  tags: z.array(z.string().min(1).max(64)).max(16).optional(),
  /** Only workers in this zone. */
  zone: z.string().min(1).max(64).optional(),
  /** Highest price per subtask a worker may ask: credits in ("0.5", 0.5), micro-credits out. */
  maxPricePerSubtask: creditsInput.optional(),
  /** What the whole job may spend: credits in, micro-credits out. */
  budget: creditsInput.optional(),
  /** Epoch milliseconds after which the job fails (partial results kept). */
  deadline: z.number().int().positive().optional(),
  /** Workers per subtask (stored now; the verification issue uses it). */
  redundancy: z.number().int().min(1).max(16).default(1),
  /** Buy the subtasks by auction (a NEED per task type, decided within market.auctionWindowMs); needs a budget. */
  auction: z.boolean().optional(),
  /** Only these nodes run the subtasks (set by the auction to its winners). */
  workers: z.array(peerIdSchema).min(1).max(16).optional(),
  /** The contracts the auction made (set by the node): what is left of them is released when the job ends. */
  contracts: z.array(z.string().min(1).max(128)).max(16).optional()
}).strict()
export type JobConstraints = z.infer<typeof jobConstraintsSchema>

/** The constraints as JSON (the API's answers, the store): amounts as six-decimal strings. */
export const jobConstraintsJsonSchema = jobConstraintsSchema.extend({
  maxPricePerSubtask: creditsWire.optional(),
  budget: creditsWire.optional()
})
export type JobConstraintsJson = z.infer<typeof jobConstraintsJsonSchema>

/** Constraints → JSON, amounts as six-decimal strings (keys left out stay out). */
export function constraintsJson (constraints: JobConstraints): JobConstraintsJson {
  const { maxPricePerSubtask, budget, ...rest } = constraints
  return {
    ...rest,
    ...(maxPricePerSubtask === undefined ? {} : { maxPricePerSubtask: formatCredits(maxPricePerSubtask) }),
    ...(budget === undefined ? {} : { budget: formatCredits(budget) })
  }
}

/** A job's input: inline text, inline items (batch.chat prompts, …), or an uploaded blob by its sha256. */
export const jobInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }).strict(),
  z.object({ kind: z.literal('items'), items: z.array(z.unknown()).max(100_000) }).strict(),
  z.object({ kind: z.literal('blob'), hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in hex'), size: z.number().int().nonnegative() }).strict()
])
export type JobInput = z.infer<typeof jobInputSchema>

/** What a user submits (POST /api/v1/jobs). */
export const jobSpecSchema = z.object({
  /** A job type: a task type (text.embed, …) or a built-in plan (summarize). */
  type: z.string().min(1).max(64),
  input: jobInputSchema,
  params: z.record(z.string(), z.unknown()).default({}),
  constraints: jobConstraintsSchema.default({ redundancy: 1 })
}).strict()
export type JobSpec = z.infer<typeof jobSpecSchema>
export type JobSpecInput = z.input<typeof jobSpecSchema>

export interface JobProgress {
  total: number
  committed: number
  running: number
  failed: number
}

export interface Job {
  id: string
  type: string
  params: Record<string, unknown>
  constraints: JobConstraints
  /** The input as submitted (a blob input stays a reference). */
  input: JobInput
  state: JobState
  progress: JobProgress
  /** Micro-credits owed to workers so far (the receipts' prices of committed subtasks). */
  spent: Micro
  createdAt: number
  updatedAt: number
  finishedAt: number | null
  /** Why the job failed or was cancelled. */
  error: ErrorBody | null
  /** True once the aggregated result is stored (GET /api/v1/jobs/:id/result). */
  hasResult: boolean
  /** While it runs: why its subtasks wait (workers refusing for their load, each with its reason). */
  waiting?: string
}

export interface Subtask {
  jobId: string
  /** Unique within the job, e.g. `embed-0007`, `reduce-1-0`. */
  id: string
  /** The task type an executor runs. */
  type: string
  params: Record<string, unknown>
  /** Ids of subtasks whose results this one needs. */
  deps: string[]
  state: SubtaskState
  /** Attempts started so far. */
  attempts: number
  /** Peer id of the worker of the current or committed attempt. */
  worker: string | null
  /** Workers that refused, failed or timed out on it (not offered again unless nobody else can). */
  excluded: string[]
  /** Micro-credits the committed attempt costs (its receipt's price). */
  price: Micro | null
  /** Last error (of the final failure, or of the previous attempt while retrying). */
  error: ErrorBody | null
  createdAt: number
  assignedAt: number | null
  startedAt: number | null
  finishedAt: number | null
  /** sha256 (hex) of the committed result's canonical JSON. */
  resultHash: string | null
  /** How the result was checked; null when it was not (docs/verification.md). */
  verification: SubtaskVerification | null
}

export interface SubtaskVerification {
  /** Replicas on other workers compared here (redundancy, adaptive replication), this node's own run (a canary), or K verifiers on the network (quorum mode). */
  method: 'replicas' | 'canary' | 'quorum'
  verdict: 'agreed' | 'outvoted' | 'inconclusive' | 'unverified'
  /** Replicas run beside the first result. */
  replicas: number
  /** Results in the majority (0 when there was none, or no replica ran). */
  agreeing: number
  /** Workers whose results lost. */
  outliers: string[]
  /** Decided by this node's comparison alone (the bootstrap-mode path), not by a quorum of verifiers. */
  provisional: boolean
}

/** One attempt's outcome as the coordinator records it against a worker. */
export type AttemptOutcome = 'success' | 'refused' | 'failure' | 'timeout' | 'invalid'
