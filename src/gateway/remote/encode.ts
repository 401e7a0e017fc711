/**
 * Shaping values for the wire: provider requests to bounded wire requests,
 * long deltas to several frames, many vectors to several frames.
 */
import { AgoraError } from '../../errors.ts'
import { INFER_MAX_REQUEST_BYTES } from './constants.ts'
import { inferRequestSchema, type InferPayment, type InferRequest } from './schema.ts'
import { formatCredits, type Micro } from '../../market/amount.ts'
import { CHAT_REQUEST_OPTIONS, type ChatRequest, type EmbeddingsRequest, type ToolCallDelta } from '../../providers/inference.ts'
import type { z } from 'zod'

const encoder = new TextEncoder()

/** How a paid call pays (the buyer's side): the receipt id and the most it may cost, micro-credits. */
export interface CallPayment {
  receiptId: string
  maxPrice: Micro
}

/**
 * The wire request for a chat or embeddings call (known fields only, and
 * the payment when there is one), or E916 when it exceeds the protocol's limits.
 */
export function toWireRequest (op: 'chat', request: ChatRequest, payment?: CallPayment): InferRequest
export function toWireRequest (op: 'embeddings', request: EmbeddingsRequest, payment?: CallPayment): InferRequest
export function toWireRequest (op: 'chat' | 'embeddings', request: ChatRequest | EmbeddingsRequest, payment?: CallPayment): InferRequest {
  const value: { op: 'chat' | 'embeddings', request: unknown, payment?: InferPayment } = op === 'chat'
    ? { op, request: pickChat(request as ChatRequest) }
    : { op, request: { model: request.model, input: (request as EmbeddingsRequest).input } }
  if (payment !== undefined) value.payment = { receiptId: payment.receiptId, maxPrice: formatCredits(payment.maxPrice) }
  const parsed = inferRequestSchema.safeParse(value)
  if (!parsed.success) throw new AgoraError('E916', `the ${op} request does not fit /agora/infer/1`, { why: problemOf(parsed.error) })
  const bytes = encoder.encode(JSON.stringify(parsed.data)).byteLength
  if (bytes > INFER_MAX_REQUEST_BYTES) {
    throw new AgoraError('E916', `the ${op} request does not fit /agora/infer/1`, { why: `${bytes} > ${INFER_MAX_REQUEST_BYTES} bytes` })
  }
  return parsed.data
}

/** The first problem zod found, as `path: message`. */
export function problemOf (error: z.ZodError): string {
  const issue = error.issues[0]
  return issue === undefined ? 'invalid' : `${issue.path.join('.') || '(root)'}: ${issue.message}`
}

function pickChat (request: ChatRequest): ChatRequest {
  const out: ChatRequest = {
    model: request.model,
    messages: request.messages.map(m => ({
      role: m.role,
      content: m.content,
      ...(m.tool_calls === undefined ? {} : { tool_calls: m.tool_calls }),
      ...(m.tool_call_id === undefined ? {} : { tool_call_id: m.tool_call_id })
    }))
  }
  for (const key of CHAT_REQUEST_OPTIONS) {
    if (request[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = request[key]
  }
  return out
}

/** Cut `text` into pieces of at most `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function splitText (text: string, max: number): string[] {
  if (text.length <= max) return [text]
  const parts: string[] = []
  let start = 0
  while (start < text.length) {
    let end = Math.min(text.length, start + max)
    const last = text.charCodeAt(end - 1)
    // a high surrogate at the cut: keep it with its low half
    if (end < text.length && end - start > 1 && last >= 0xd800 && last <= 0xdbff) end--
    parts.push(text.slice(start, end))
    start = end
  }
  return parts
}

/**
 * Tool-call pieces as frames that fit the protocol: a call's arguments cut
 * into pieces of at most `maxChars` (the later pieces carry only the index
 * and more arguments, as OpenAI streams them), one call piece per frame.
 */
export function * toolCallFrames (calls: readonly ToolCallDelta[], maxChars: number): Generator<{ type: 'tool_calls', calls: ToolCallDelta[] }> {
  for (const call of calls) {
    const args = call.function?.arguments ?? ''
    if (args.length <= maxChars) {
      yield { type: 'tool_calls', calls: [call] }
      continue
    }
    for (const [i, piece] of splitText(args, maxChars).entries()) {
      yield { type: 'tool_calls', calls: [i === 0 ? { ...call, function: { ...call.function, arguments: piece } } : { index: call.index, function: { arguments: piece } }] }
    }
  }
}

export interface VectorChunk {
  offset: number
  vectors: number[][]
}

/**
 * Group vectors into chunks whose numbers encode to at most `budgetBytes`
 * of JSON (a whole number of vectors per chunk; a vector larger than the
 * budget travels alone, and the frame limit then decides).
 */
export function chunkVectors (vectors: number[][], budgetBytes: number): VectorChunk[] {
  const chunks: VectorChunk[] = []
  let current: VectorChunk = { offset: 0, vectors: [] }
  let size = 0
  vectors.forEach((vector, index) => {
    const bytes = JSON.stringify(vector).length + 1
    if (current.vectors.length > 0 && size + bytes > budgetBytes) {
      chunks.push(current)
      current = { offset: index, vectors: [] }
      size = 0
    }
    current.vectors.push(vector)
    size += bytes
  })
  if (current.vectors.length > 0) chunks.push(current)
  return chunks
}
