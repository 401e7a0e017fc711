/** The request/response engine: declare a protocol once, serve it and call it. */
export { ReqResp } from './reqresp.ts'
export type { ReqRespComponents, ReqRespInit, RequestTarget } from './reqresp.ts'
export { defineProtocol, defineStreamingProtocol } from './types.ts'
export type {
  Codec, HandlerContext, ProtocolDef, ProtocolTimeouts, RateLimit, RequestOptions, ServeOptions,
  StreamingHandler, StreamingProtocol, StreamReuse, UnaryHandler, UnaryProtocol
} from './types.ts'
export { jsonCodec } from './frames.ts'
export { DEFAULT_TIMEOUTS, DEFAULT_RATE_LIMIT, DEFAULT_STREAM_REUSE, STATUS } from './constants.ts'
export type { BadFrameReason } from './metrics.ts'
