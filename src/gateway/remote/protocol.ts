/**
 * The /agora/infer/1 protocol definition, shared by both sides (each side
 * picks its own engine timeouts). Streams are reused: a warm stream to a
 * peer carries its next request, saving the stream setup (several muxer
 * frames and the protocol negotiation) on every call.
 */
import { defineStreamingProtocol, type ProtocolTimeouts, type RateLimit, type StreamingProtocol } from '../../protocols/index.ts'
import { INFER_MAX_REQUEST_BYTES, INFER_MAX_RESPONSE_BYTES, INFER_PROTOCOL_ID, INFER_RATE_LIMIT, INFER_STALL_MS, INFER_STREAM_REUSE } from './constants.ts'
import { inferFrameSchema, inferRequestSchema, type InferFrame, type InferRequest } from './schema.ts'

export type InferProtocol = StreamingProtocol<InferRequest, InferFrame>

export function createInferProtocol (timeouts: Partial<ProtocolTimeouts> = {}, rateLimit: RateLimit = INFER_RATE_LIMIT): InferProtocol {
  return defineStreamingProtocol({
    id: INFER_PROTOCOL_ID,
    request: inferRequestSchema,
    response: inferFrameSchema,
    maxRequestBytes: INFER_MAX_REQUEST_BYTES,
    maxResponseBytes: INFER_MAX_RESPONSE_BYTES,
    timeouts,
    rateLimit,
    reuseStreams: INFER_STREAM_REUSE
  })
}

/** The serving side's definition: a paused reader may hold a frame for INFER_STALL_MS. */
export const inferProtocol: InferProtocol = createInferProtocol({ responseMs: INFER_STALL_MS })
