/**
 * What the jobs room offers the control API and the CLI (the coordinator
 * implements it): submit, inspect, cancel, fetch results, and upload large
 * inputs in chunks as content-addressed blobs.
 */
import type { Job, JobSpecInput, JobState, Subtask } from './types.ts'
import type { Micro } from '../market/amount.ts'

export interface JobTypeInfo {
  type: string
  description: string
  /** Task types its subtasks run. */
  taskTypes: string[]
  /** JSON Schema of its params (from the zod schema). */
  params: unknown
}

export interface JobResult {
  jobId: string
  state: JobState
  /** True when some subtasks have no result (the job failed or was cancelled). */
  partial: boolean
  result: unknown
}

export interface UploadStatus {
  uploadId: string
  /** Bytes received so far. */
  received: number
}

export interface BlobRef {
  /** sha256 (hex) of the content. */
  hash: string
  size: number
}

export interface JobsApi {
  /** Validate (E1000–E1004, E1020/E1021), plan, persist and start; the returned job is `planned` or later. */
  submit(spec: JobSpecInput): Promise<Job>
  list(filter?: { state?: JobState | undefined, limit?: number | undefined }): Job[]
  /** Undefined when unknown (the API answers 404 E1060). */
  get(jobId: string): Job | undefined
  subtasks(jobId: string): Subtask[]
  /** What the job's provisional results hold back of their pay (docs/verification.md "Held-back pay and audits"), in micro-credits. */
  heldBack(jobId: string): HeldBack
  /** The aggregated (or, after a failure, partial) result; E1061 while the job runs, E1060 unknown. */
  result(jobId: string): JobResult
  /** Stop the job: pending subtasks cancelled, running ones aborted on their workers. */
  cancel(jobId: string): Promise<Job>
  types(): JobTypeInfo[]
  /** Uploads: begin, append chunks in order (offset must equal `received`), complete → blob ref (E1062 on misuse, or when the content does not hash to `expectedHash`: then nothing is kept). */
  beginUpload(size: number): UploadStatus
  appendUpload(uploadId: string, offset: number, chunk: Uint8Array): UploadStatus
  completeUpload(uploadId: string, expectedHash?: string): BlobRef
}

/** A job's held-back pay: still held (`nextDueAt` the soonest settles), paid after the window, forfeited by a failed audit. */
export interface HeldBack {
  held: Micro
  paid: Micro
  forfeited: Micro
  nextDueAt: number | null
}
