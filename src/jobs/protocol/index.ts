/** The jobs wire: the coordinator–worker contract and /agora/task/1 (schemas, protocol definition, result hashes, receipts). */
export { DISPATCH_ERROR_CODES, REFUSAL_REASONS } from './types.ts'
export type { DispatchOptions, DispatchResult, DispatchTimeouts, RefusalReason, TaskAssignment, TaskDispatcher, TaskReceipt } from './types.ts'
export { createTaskProtocol } from './protocol.ts'
export type { TaskProtocol } from './protocol.ts'
export { resultRefSchema, sha256HexSchema, taskAssignmentSchema, taskFrameSchema, taskReceiptSchema, taskRequestSchema } from './schema.ts'
export type { ResultRef, TaskFrame, TaskRequest } from './schema.ts'
export { canonicalJson, resultHash, sha256Hex } from './hash.ts'
export { problemOf } from './problem.ts'
export { decodeReceipt, signReceipt, taskReceiptId, verifyReceipt } from './receipt.ts'
export type { ReceiptExpectation, VerifiedReceipt } from './receipt.ts'
export {
  DISPATCH_TIMEOUT_DEFAULTS, ENGINE_TIMEOUT_SLACK_MS, TASK_CHUNK_BYTES, TASK_INLINE_RESULT_BYTES, TASK_MAX_REQUEST_BYTES, TASK_MAX_RESPONSE_BYTES,
  TASK_MAX_RESULT_BYTES, TASK_PROTOCOL_ID, TASK_RATE_LIMIT, TASK_STALL_MS
} from './constants.ts'
