/**
 * The RECEIPT a worker signs for a result: an envelope of kind RECEIPT from
 * the worker to the coordinator over a TaskReceipt, sent encoded (base64url
 * of the envelope's JSON). The coordinator verifies the signature, that the
 * worker it asked signed it, that it is addressed to itself, and that it is
 * about this subtask attempt and this result (hash). Any mismatch is E1045.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import { decodeEnvelope, encodeEnvelope, signEnvelope, verifySignatureOnly, type Envelope, type NodeIdentity } from '../../identity/index.ts'
import { formatCredits, parseCredits, type Micro } from '../../market/amount.ts'
import { TASK_MAX_RECEIPT_CHARS } from './constants.ts'
import { problemOf } from './problem.ts'
import { taskReceiptSchema } from './schema.ts'
import type { TaskReceipt } from './types.ts'

/**
 * The market's id of the receipt for a subtask (docs/market.md): the worker
 * books it as issued, the coordinator captures it. One per subtask key, not
 * per attempt: a worker that delivers the same work to a second attempt
 * (from its result cache) is owed it once.
 */
export function taskReceiptId (key: string): string {
  return `task:${key}`
}

/** Sign `receipt` as `identity` (the worker), addressed to `receipt.coordinator`; the encoded envelope. */
export function signReceipt (identity: NodeIdentity, receipt: TaskReceipt, now: number = Date.now()): string {
  const envelope = signEnvelope(identity, { kind: 'RECEIPT', payload: { ...receipt }, to: receipt.coordinator }, now)
  return Buffer.from(encodeEnvelope(envelope)).toString('base64url')
}

/** What the coordinator expects a receipt to say. */
export interface ReceiptExpectation {
  /** The worker asked (the envelope's signer). */
  worker: string
  /** This node (the envelope's `to`). */
  coordinator: string
  key: string
  attempt: number
  /** The hash recomputed from the result received. */
  resultHash: string
  jobId?: string
  subtaskId?: string
  type?: string
  /** Highest price the assignment allowed, micro-credits. */
  maxPrice?: Micro | undefined
}

export interface VerifiedReceipt {
  envelope: Envelope
  receipt: TaskReceipt
}

function malformed (why: string, details: Record<string, unknown> = {}, cause?: unknown): AgoraError {
  return new AgoraError('E1045', 'the worker sent an invalid receipt', { why, details, ...(cause === undefined ? {} : { cause }) })
}

/** Decode an encoded receipt (no checks beyond its shape); E1045 when it is not one. */
export function decodeReceipt (encoded: string): VerifiedReceipt {
  if (encoded.length > TASK_MAX_RECEIPT_CHARS) throw malformed(`${encoded.length} characters, the limit is ${TASK_MAX_RECEIPT_CHARS}`)
  let envelope: Envelope
  try {
    envelope = decodeEnvelope(Buffer.from(encoded, 'base64url'))
  } catch (err) {
    throw malformed(`not an envelope: ${messageOf(err)}`, {}, err)
  }
  if (envelope.kind !== 'RECEIPT') throw malformed(`a ${envelope.kind} envelope, not a RECEIPT`)
  const parsed = taskReceiptSchema.safeParse(envelope.payload)
  if (!parsed.success) throw malformed(`bad receipt payload: ${problemOf(parsed.error)}`)
  return { envelope, receipt: parsed.data }
}

/** Decode and verify a receipt against what we expect; E1045 naming the first problem. */
export function verifyReceipt (encoded: string, expected: ReceiptExpectation): VerifiedReceipt {
  const verified = decodeReceipt(encoded)
  const { envelope, receipt } = verified
  if (envelope.from !== expected.worker) throw malformed(`signed by ${envelope.from}, not by the worker ${expected.worker}`, { from: envelope.from })
  if (envelope.to !== expected.coordinator) throw malformed(`addressed to ${envelope.to ?? 'nobody'}, not to ${expected.coordinator}`, { to: envelope.to })
  try {
    verifySignatureOnly(envelope)
  } catch (err) {
    throw malformed(`bad signature: ${messageOf(err)}`, {}, err)
  }
  const mismatch = firstMismatch(receipt, expected)
  if (mismatch !== undefined) throw malformed(mismatch)
  return verified
}

function firstMismatch (receipt: TaskReceipt, expected: ReceiptExpectation): string | undefined {
  if (receipt.worker !== expected.worker) return `names worker ${receipt.worker}, not ${expected.worker}`
  if (receipt.coordinator !== expected.coordinator) return `names coordinator ${receipt.coordinator}, not ${expected.coordinator}`
  if (receipt.key !== expected.key) return `is for key ${receipt.key}, not ${expected.key}`
  if (receipt.attempt !== expected.attempt) return `is for attempt ${receipt.attempt}, not ${expected.attempt}`
  if (receipt.resultHash !== expected.resultHash) return `hashes the result as ${receipt.resultHash}, but it hashes to ${expected.resultHash}`
  if (expected.jobId !== undefined && receipt.jobId !== expected.jobId) return `is for job ${receipt.jobId}, not ${expected.jobId}`
  if (expected.subtaskId !== undefined && receipt.subtaskId !== expected.subtaskId) return `is for subtask ${receipt.subtaskId}, not ${expected.subtaskId}`
  if (expected.type !== undefined && receipt.type !== expected.type) return `is for type ${receipt.type}, not ${expected.type}`
  // the schema checked the form: the price parses, exactly
  if (expected.maxPrice !== undefined && parseCredits(receipt.price, 'price') > expected.maxPrice) return `asks ${receipt.price} credits, over the ${formatCredits(expected.maxPrice)} allowed`
  if (receipt.finishedAt < receipt.startedAt) return 'finished before it started'
  return undefined
}
