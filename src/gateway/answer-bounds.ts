/**
 * What an answer may stream, held to OpenAI's shape and to bounds whatever
 * sent it (a peer or a local engine): tool calls numbered in order, each
 * begun with its id and name, their arguments and the log-probabilities of
 * the whole answer bounded — so no engine or peer can corrupt the collected
 * answer (a hole in the calls list) or grow it without end.
 */
import { AgoraError } from '../errors.ts'
import { CHAT_LIMITS } from '../providers/chat-schemas.ts'
import type { ChatEvent } from '../providers/inference.ts'

/** Log-probability entries in one answer at most (tokens × one entry; a long answer of 16 frames of the per-frame bound). */
export const MAX_ANSWER_LOGPROBS = CHAT_LIMITS.logprobTokens * 16

export class AnswerBounds {
  private readonly argumentChars: number[] = []
  private logprobs = 0
  private readonly source: string

  constructor (source: string) {
    this.source = source
  }

  /** Throws E1351 naming what is wrong when `event` breaks the rules. */
  check (event: ChatEvent): void {
    const problem = event.type === 'tool_calls' ? this.toolCalls(event.calls) : event.type === 'delta' ? this.countLogprobs(event.logprobs?.length ?? 0) : undefined
    if (problem !== undefined) throw new AgoraError('E1351', `${this.source} sent a malformed answer`, { why: problem })
  }

  private toolCalls (calls: Extract<ChatEvent, { type: 'tool_calls' }>['calls']): string | undefined {
    for (const call of calls) {
      const known = this.argumentChars.length
      if (call.index > known) return `tool call ${call.index} came before call ${known}`
      if (call.index === known) {
        if (known >= CHAT_LIMITS.toolCalls) return `more than ${CHAT_LIMITS.toolCalls} tool calls`
        if (call.id === undefined || call.function?.name === undefined || call.function.name === '') return `tool call ${known} began without its id and name`
        this.argumentChars.push(0)
      }
      const chars = (this.argumentChars[call.index] ?? 0) + (call.function?.arguments?.length ?? 0)
      if (chars > CHAT_LIMITS.arguments) return `the arguments of tool call ${call.index} passed ${CHAT_LIMITS.arguments} characters`
      this.argumentChars[call.index] = chars
    }
    return undefined
  }

  private countLogprobs (n: number): string | undefined {
    this.logprobs += n
    return this.logprobs > MAX_ANSWER_LOGPROBS ? `more than ${MAX_ANSWER_LOGPROBS} log-probabilities in one answer` : undefined
  }
}
