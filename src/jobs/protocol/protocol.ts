/**
 * The /agora/task/1 protocol definition, shared by both sides (each side
 * picks its own engine timeouts). Streams are reused between requests to
 * the same peer (a dispatch is one small request and a few small frames:
 * opening a stream per subtask would cost more than the subtask); an
 * abandoned or cancelled request still closes its stream, which is how the
 * worker learns that its caller went away.
 */
import { defineStreamingProtocol, type ProtocolTimeouts, type RateLimit, type StreamingProtocol } from '../../protocols/index.ts'
import { TASK_MAX_REQUEST_BYTES, TASK_MAX_RESPONSE_BYTES, TASK_PROTOCOL_ID, TASK_RATE_LIMIT } from './constants.ts'
import { taskFrameSchema, taskRequestSchema, type TaskFrame, type TaskRequest } from './schema.ts'

export type TaskProtocol = StreamingProtocol<TaskRequest, TaskFrame>

export function createTaskProtocol (timeouts: Partial<ProtocolTimeouts> = {}, rateLimit: RateLimit = TASK_RATE_LIMIT): TaskProtocol {
  return defineStreamingProtocol({
    id: TASK_PROTOCOL_ID,
    request: taskRequestSchema,
    response: taskFrameSchema,
    maxRequestBytes: TASK_MAX_REQUEST_BYTES,
    maxResponseBytes: TASK_MAX_RESPONSE_BYTES,
    timeouts,
    rateLimit,
    reuseStreams: true
  })
}
