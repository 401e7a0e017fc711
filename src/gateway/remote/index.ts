/** /agora/infer/1: inference on a peer's providers, streamed frame by frame (serving and calling sides). */
export { InferenceServer } from './server.ts'
export type { InferenceServerComponents, InferenceServerInit, LocalInferenceLike, ServedCallOptions } from './server.ts'
export { RemoteInference } from './client.ts'
export type { PricedChatEvent, PricedEmbeddingsResult, RemoteCallOptions, RemoteInferenceComponents } from './client.ts'
export type { CallPayment } from './encode.ts'
export { createInferProtocol, inferProtocol } from './protocol.ts'
export type { InferProtocol } from './protocol.ts'
export { inferFrameSchema, inferRequestSchema } from './schema.ts'
export type { InferFrame, InferOp, InferPayment, InferRequest } from './schema.ts'
export { withRetryAfter } from './session.ts'
export {
  INFER_MAX_DELTA_CHARS, INFER_MAX_DIMENSIONS, INFER_MAX_INPUTS, INFER_MAX_MESSAGES, INFER_MAX_REQUEST_BYTES, INFER_MAX_RESPONSE_BYTES,
  INFER_PROTOCOL_ID, REMOTE_TIMEOUT_DEFAULTS
} from './constants.ts'
export type { RemoteTimeouts } from './constants.ts'
