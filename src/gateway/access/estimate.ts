/**
 * Token estimates made before a request runs, to check it against a peer's
 * tokens/min budget. The actual usage is charged afterwards, so a rough
 * estimate only shifts when a peer is slowed down, never how much it pays.
 */
import { extraPromptChars, type ChatRequest, type EmbeddingsRequest } from '../../providers/inference.ts'

/** About four characters per token for English text (the usual rule of thumb). */
export const CHARS_PER_TOKEN = 4

/** Tokens a chat format adds around each message. */
export const TOKENS_PER_MESSAGE = 4

export function estimateTextTokens (text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN)
}

/** Prompt tokens of a chat request: its text, and what it sends beyond (tools, tool calls, a schema: an engine reads those too). */
export function estimatePromptTokens (request: Pick<ChatRequest, 'messages' | 'tools' | 'response_format'>): number {
  let total = Math.ceil(extraPromptChars(request) / CHARS_PER_TOKEN)
  for (const message of request.messages) total += TOKENS_PER_MESSAGE + estimateTextTokens(message.content)
  return total
}

/** Prompt tokens plus the completion budget (max_tokens, when set). */
export function estimateChatTokens (request: Pick<ChatRequest, 'messages' | 'max_tokens' | 'tools' | 'response_format'>): number {
  return estimatePromptTokens(request) + (request.max_tokens ?? 0)
}

export function estimateEmbeddingsTokens (request: Pick<EmbeddingsRequest, 'input'>): number {
  let total = 0
  for (const input of request.input) total += estimateTextTokens(input)
  return total
}
