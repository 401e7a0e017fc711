/**
 * The contract between a coordinator and a worker, independent of the wire:
 * what a subtask offer carries, what the dispatcher hands back, and the
 * errors each side may raise. `/agora/task/1` (protocol/) carries these
 * between nodes; a subtask routed to the local node skips the wire.
 */
import type { ErrorCode } from '../../errors.ts'

/** One attempt of a subtask, offered to one worker. */
export interface TaskAssignment {
  /** Idempotency key: `${coordinatorPeerId}/${jobId}/${subtaskId}`; the same on every attempt. */
  key: string
  jobId: string
  subtaskId: string
  /** 1, 2, … (the worker echoes it in the receipt, so a late result of an older attempt is recognised). */
  attempt: number
  type: string
  params: Record<string, unknown>
  input: unknown
  /** Epoch ms: the worker gives up after it. */
  deadline?: number | undefined
  /** Highest price the coordinator pays for this subtask, credits with six decimals ("0.500000"); a worker asking more refuses. */
  maxPrice?: string | undefined
}

/** Why a worker refused (a refusal is not a failure: it never lowers reputation). */
export const REFUSAL_REASONS = ['slots', 'cpu', 'memory', 'type', 'access', 'price', 'deadline', 'stopping', 'credit'] as const
export type RefusalReason = typeof REFUSAL_REASONS[number]

/** The payload of the RECEIPT envelope a worker signs for a result. */
export interface TaskReceipt {
  key: string
  attempt: number
  jobId: string
  subtaskId: string
  type: string
  /** The worker's peer id (the envelope's signer). */
  worker: string
  /** The coordinator's peer id (the envelope's `to`). */
  coordinator: string
  /** sha256 (hex) of the result's canonical JSON (RFC 8785). */
  resultHash: string
  /** Credits owed, with six decimals ("0.500000"): the worker's per-task price. */
  price: string
  startedAt: number
  finishedAt: number
}

export interface DispatchResult {
  result: unknown
  resultHash: string
  /** The signed RECEIPT envelope, encoded (base64url), verified by the dispatcher. */
  receipt: string
  receiptPayload: TaskReceipt
  worker: string
}

export interface DispatchTimeouts {
  /** Accept or refuse within this (E1041). */
  acceptMs: number
  /** After accepting, progress or the result within this (E1042). */
  firstProgressMs: number
  /** The whole attempt (E1043). */
  totalMs: number
}

export interface DispatchOptions {
  signal?: AbortSignal
  timeouts?: Partial<DispatchTimeouts>
  onAccepted?(): void
  onProgress?(fraction: number): void
}

/**
 * Codes a dispatch may throw, as the coordinator reads them:
 *  E1040 refused (details: { reason: RefusalReason, retryAfterMs? }) — try elsewhere, no blame;
 *  E1041 / E1042 / E1043 accept, first-progress, total timeout — blame (timeout);
 *  E1044 the executor failed on the worker (details: { remoteCode }) — blame (failure);
 *  E1045 malformed result: output schema, hash or receipt wrong — blame (invalid);
 *  E202 / E204 / E207 transport — blame (failure).
 */
export const DISPATCH_ERROR_CODES = {
  refused: 'E1040',
  acceptTimeout: 'E1041',
  firstProgressTimeout: 'E1042',
  totalTimeout: 'E1043',
  failed: 'E1044',
  malformed: 'E1045'
} as const satisfies Record<string, ErrorCode>

export interface TaskDispatcher {
  /** Run one attempt on `worker` (this node's peer id: run in process). Throws AgoraError (see DISPATCH_ERROR_CODES). */
  dispatch(worker: string, assignment: TaskAssignment, options?: DispatchOptions): Promise<DispatchResult>
}
