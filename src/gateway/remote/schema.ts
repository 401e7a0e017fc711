/**
 * The wire messages of /agora/infer/1, one zod schema each (the types
 * derive from them). Requests keep OpenAI's field names, like ChatRequest;
 * every string and array is bounded.
 *
 * A request to a peer that charges carries `payment { receiptId, maxPrice }`:
 * the buyer's hold for it, the most the request may cost (docs/market.md,
 * "Jobs and the gateway").
 *
 * Answer frames:
 *   chat:        (delta | tool_calls)* → done { finishReason, usage, price? }
 *   embeddings:  vectors { offset, vectors }* → embeddings { count, usage, price? }
 * then the engine's END; `price` (a paid request only) is what the server
 * issued its receipt for. Errors travel as the engine's ERROR status.
 */
import { z } from 'zod'
import { creditsWire } from '../../market/amount.ts'
import { CHAT_LIMITS, chatExtrasShape, tokenLogprobSchema, toolCallDeltaSchema, toolCallSchema } from '../../providers/chat-schemas.ts'
import {
  INFER_MAX_DELTA_CHARS, INFER_MAX_DIMENSIONS, INFER_MAX_INPUT_CHARS, INFER_MAX_INPUTS, INFER_MAX_MESSAGE_CHARS, INFER_MAX_MESSAGES,
  INFER_MAX_MODEL_CHARS, INFER_MAX_RECEIPT_ID_CHARS, INFER_MAX_STOP_CHARS, INFER_MAX_STOPS
} from './constants.ts'

const model = z.string().min(1).max(INFER_MAX_MODEL_CHARS)
const count = z.number().int().nonnegative()

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().max(INFER_MAX_MESSAGE_CHARS),
  tool_calls: z.array(toolCallSchema).max(CHAT_LIMITS.toolCalls).optional(),
  tool_call_id: z.string().min(1).max(CHAT_LIMITS.toolCallId).optional()
}).strict()

export const chatRequestSchema = z.object({
  model,
  messages: z.array(chatMessageSchema).min(1).max(INFER_MAX_MESSAGES),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().min(1).max(10_000_000).optional(),
  stop: z.union([z.string().max(INFER_MAX_STOP_CHARS), z.array(z.string().max(INFER_MAX_STOP_CHARS)).max(INFER_MAX_STOPS)]).optional(),
  seed: z.number().int().optional(),
  ...chatExtrasShape
}).strict()

export const embeddingsRequestSchema = z.object({
  model,
  input: z.array(z.string().max(INFER_MAX_INPUT_CHARS)).min(1).max(INFER_MAX_INPUTS)
}).strict()

/** How the buyer pays: the receipt id the server issues under, and the most it may charge (six-decimal credits). */
export const paymentSchema = z.object({
  receiptId: z.string().min(1).max(INFER_MAX_RECEIPT_ID_CHARS),
  maxPrice: creditsWire
}).strict()

export const inferRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('chat'), request: chatRequestSchema, payment: paymentSchema.optional() }).strict(),
  z.object({ op: z.literal('embeddings'), request: embeddingsRequestSchema, payment: paymentSchema.optional() }).strict()
])

export const usageSchema = z.object({ promptTokens: count, completionTokens: count }).strict()

export const inferFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('delta'), text: z.string().min(1).max(INFER_MAX_DELTA_CHARS), logprobs: z.array(tokenLogprobSchema).max(CHAT_LIMITS.logprobTokens).optional() }).strict(),
  z.object({ type: z.literal('tool_calls'), calls: z.array(toolCallDeltaSchema).min(1).max(CHAT_LIMITS.toolCalls) }).strict(),
  z.object({ type: z.literal('done'), finishReason: z.enum(['stop', 'length', 'tool_calls']), usage: usageSchema, price: creditsWire.optional() }).strict(),
  z.object({
    type: z.literal('vectors'),
    /** Index of the first vector in this frame (frames arrive in order). */
    offset: z.number().int().nonnegative().max(INFER_MAX_INPUTS - 1),
    vectors: z.array(z.array(z.number()).min(1).max(INFER_MAX_DIMENSIONS)).min(1).max(INFER_MAX_INPUTS)
  }).strict(),
  z.object({
    type: z.literal('embeddings'),
    /** Vectors sent in all, one per input. */
    count: z.number().int().min(1).max(INFER_MAX_INPUTS),
    usage: z.object({ promptTokens: count }).strict(),
    price: creditsWire.optional()
  }).strict()
])

export type InferRequest = z.infer<typeof inferRequestSchema>
export type InferOp = InferRequest['op']
export type InferFrame = z.infer<typeof inferFrameSchema>
export type InferPayment = z.infer<typeof paymentSchema>
export type WireChatRequest = z.infer<typeof chatRequestSchema>
export type WireEmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>
