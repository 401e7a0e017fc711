/**
 * What the coordinator checks before it accepts a result: the executor's
 * output schema and that the result answers its input (counts and spans),
 * the hash recomputed from the result's canonical JSON, and
 * the receipt (signed by the worker, to us, for this attempt and this hash,
 * at a price the assignment allowed). Any problem is E1045.
 */
import { AgoraError, isAgoraError } from '../../errors.ts'
import { parseCredits } from '../../market/amount.ts'
import { problemOf } from '../protocol/problem.ts'
import { resultHash } from '../protocol/hash.ts'
import { verifyReceipt } from '../protocol/receipt.ts'
import type { AnyExecutor } from '../executors/types.ts'
import type { DispatchResult, TaskAssignment } from '../protocol/types.ts'

export interface CheckInput {
  worker: string
  /** This node (the receipt's addressee). */
  coordinator: string
  assignment: TaskAssignment
  executor: AnyExecutor
  result: unknown
  receipt: string
}

export function checkResult (input: CheckInput): DispatchResult {
  const { worker, assignment, executor, result } = input
  const details = { worker, key: assignment.key, attempt: assignment.attempt }
  const parsed = executor.output.safeParse(result)
  if (!parsed.success) {
    throw new AgoraError('E1045', `${worker} sent a malformed ${assignment.type} result`, { why: `it does not match the output schema: ${problemOf(parsed.error)}`, details })
  }
  const mismatch = executor.mismatch?.(assignment.input, assignment.params, parsed.data)
  if (mismatch !== undefined) {
    throw new AgoraError('E1045', `${worker} sent a ${assignment.type} result that does not answer its input`, { why: mismatch, details })
  }
  let hash: string
  try {
    hash = resultHash(result)
  } catch (err) {
    throw new AgoraError('E1045', `${worker} sent a result with no canonical JSON form`, { why: problemOf(err), details, cause: err })
  }
  try {
    const verified = verifyReceipt(input.receipt, {
      worker,
      coordinator: input.coordinator,
      key: assignment.key,
      attempt: assignment.attempt,
      resultHash: hash,
      jobId: assignment.jobId,
      subtaskId: assignment.subtaskId,
      type: assignment.type,
      maxPrice: assignment.maxPrice === undefined ? undefined : parseCredits(assignment.maxPrice, 'maxPrice')
    })
    return { result, resultHash: hash, receipt: input.receipt, receiptPayload: verified.receipt, worker }
  } catch (err) {
    if (!isAgoraError(err)) throw err
    throw new AgoraError(err.code, err.what, { why: err.why, details: { ...err.details, ...details }, cause: err })
  }
}
