/**
 * Token estimates made before a request runs, to check it against a peer's
 * tokens/min budget. The actual usage is charged afterwards, so a rough
 * estimate only shifts when a peer is slowed down, never how much it pays.
 */
import type { ChatRequest, EmbeddingsRequest } from '../../providers/inference.ts'

/** About four characters per token for English text (the usual rule of thumb). */
export const CHARS_PER_TOKEN = 4

/** Tokens a chat format adds around each message. */
export const TOKENS_PER_MESSAGE = 4

export function estimateTextTokens (text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN)
}

/** Prompt tokens of a chat request. */
export function estimatePromptTokens (request: Pick<ChatRequest, 'messages'>): number {
  let total = 0
  for (const message of request.messages) total += TOKENS_PER_MESSAGE + estimateTextTokens(message.content)
  return total
}

/** Prompt tokens plus the completion budget (max_tokens, when set). */
export function estimateChatTokens (request: Pick<ChatRequest, 'messages' | 'max_tokens'>): number {
  return estimatePromptTokens(request) + (request.max_tokens ?? 0)
}

export function estimateEmbeddingsTokens (request: Pick<EmbeddingsRequest, 'input'>): number {
  let total = 0
  for (const input of request.input) total += estimateTextTokens(input)
  return total
}
