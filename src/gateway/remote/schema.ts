/**
 * The wire messages of /agora/infer/1, one zod schema each (the types
 * derive from them). Requests keep OpenAI's field names, like ChatRequest;
 * every string and array is bounded.
 *
 * Answer frames:
 *   chat:        delta* → done { finishReason, usage }
 *   embeddings:  vectors { offset, vectors }* → embeddings { count, usage }
 * then the engine's END. Errors travel as the engine's ERROR status.
 */
import { z } from 'zod'
import {
  INFER_MAX_DELTA_CHARS, INFER_MAX_DIMENSIONS, INFER_MAX_INPUT_CHARS, INFER_MAX_INPUTS, INFER_MAX_MESSAGE_CHARS, INFER_MAX_MESSAGES,
  INFER_MAX_MODEL_CHARS, INFER_MAX_STOP_CHARS, INFER_MAX_STOPS
} from './constants.ts'

const model = z.string().min(1).max(INFER_MAX_MODEL_CHARS)
const count = z.number().int().nonnegative()

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().max(INFER_MAX_MESSAGE_CHARS)
}).strict()

export const chatRequestSchema = z.object({
  model,
  messages: z.array(chatMessageSchema).min(1).max(INFER_MAX_MESSAGES),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().min(1).max(10_000_000).optional(),
  stop: z.union([z.string().max(INFER_MAX_STOP_CHARS), z.array(z.string().max(INFER_MAX_STOP_CHARS)).max(INFER_MAX_STOPS)]).optional(),
  seed: z.number().int().optional()
}).strict()

export const embeddingsRequestSchema = z.object({
  model,
  input: z.array(z.string().max(INFER_MAX_INPUT_CHARS)).min(1).max(INFER_MAX_INPUTS)
}).strict()

export const inferRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('chat'), request: chatRequestSchema }).strict(),
  z.object({ op: z.literal('embeddings'), request: embeddingsRequestSchema }).strict()
])

export const usageSchema = z.object({ promptTokens: count, completionTokens: count }).strict()

export const inferFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('delta'), text: z.string().min(1).max(INFER_MAX_DELTA_CHARS) }).strict(),
  z.object({ type: z.literal('done'), finishReason: z.enum(['stop', 'length']), usage: usageSchema }).strict(),
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
    usage: z.object({ promptTokens: count }).strict()
  }).strict()
])

export type InferRequest = z.infer<typeof inferRequestSchema>
export type InferOp = InferRequest['op']
export type InferFrame = z.infer<typeof inferFrameSchema>
export type WireChatRequest = z.infer<typeof chatRequestSchema>
export type WireEmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>
