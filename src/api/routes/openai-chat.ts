/**
 * POST /v1/chat/completions once the gateway has chosen a candidate: the
 * ChatRun's events collected into one chat.completion, or streamed as
 * chat.completion.chunk server-sent events (the first delta carries the
 * role, the last chunk the finish reason, then a usage chunk with empty
 * choices, then [DONE]). An error after the stream began travels as one
 * `data: {"error": …}` event and the response ends; a client that goes away
 * aborts the request's signal, which cancels the generation upstream.
 */
import type { FastifyReply } from 'fastify'
import type { Logger } from '../../observability/logger.ts'
import { AgoraError } from '../../errors.ts'
import type { ChatRun, ServedBy } from '../../gateway/types.ts'
import { joinToolCalls } from '../../providers/inference.ts'
import type { FinishReason, TokenLogprob, ToolCall, Usage } from '../../providers/index.ts'
import type { ChatCompletion, ChatCompletionChunk, OpenAiUsage } from './openai-schemas.ts'
import { asStreamError, toOpenAiError } from './openai-errors.ts'
import { SseWriter, untilAborted } from './sse.ts'

/** Headers telling the client where its request ran. */
export function servedByHeaders (run: ServedBy & { id: string }): Record<string, string> {
  return {
    'x-agora-server': run.server,
    'x-agora-attempts': String(run.attempts),
    'x-request-id': run.id,
    ...(run.provider === undefined ? {} : { 'x-agora-provider': run.provider })
  }
}

export function openAiUsage (usage: Usage): OpenAiUsage {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens }
}

const unixSeconds = (): number => Math.floor(Date.now() / 1000)

function unfinished (): AgoraError {
  return new AgoraError('E964', 'the answer ended before it finished', { why: 'the stream closed without a finish reason' })
}

/** Collect the run into one chat.completion (E964 when the stream breaks). */
export async function collectCompletion (run: ChatRun, model: string, signal: AbortSignal): Promise<ChatCompletion> {
  let content = ''
  const calls: ToolCall[] = []
  let logprobs: TokenLogprob[] | undefined
  try {
    for await (const event of untilAborted(run.events, signal)) {
      if (event.type === 'delta') {
        content += event.text
        if (event.logprobs !== undefined) (logprobs ??= []).push(...event.logprobs)
        continue
      }
      if (event.type === 'tool_calls') {
        joinToolCalls(calls, event.calls)
        continue
      }
      const message = calls.length > 0
        ? { role: 'assistant' as const, content: content === '' ? null : content, refusal: null, tool_calls: calls }
        : { role: 'assistant' as const, content, refusal: null }
      return {
        id: `chatcmpl-${run.id}`,
        object: 'chat.completion',
        created: unixSeconds(),
        model,
        choices: [{ index: 0, message, finish_reason: event.finishReason, logprobs: logprobs === undefined ? null : { content: logprobs } }],
        usage: openAiUsage(event.usage)
      }
    }
  } catch (err) {
    throw asStreamError(err)
  }
  throw unfinished()
}

/** Stream the run as server-sent events; never throws, always ends the response. */
export async function streamCompletion (reply: FastifyReply, run: ChatRun, model: string, signal: AbortSignal, log: Logger): Promise<void> {
  reply.hijack()
  const sse = new SseWriter(reply.raw)
  sse.open(servedByHeaders(run))
  const created = unixSeconds()
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finishReason: FinishReason | null, logprobs?: TokenLogprob[]): ChatCompletionChunk => ({
    id: `chatcmpl-${run.id}`, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: logprobs === undefined ? null : { content: logprobs } }]
  })
  let first = true
  try {
    for await (const event of untilAborted(run.events, signal)) {
      if (event.type === 'delta' || event.type === 'tool_calls') {
        if (event.type === 'delta' && event.text === '' && !first) continue
        const delta = event.type === 'delta' ? { content: event.text } : { tool_calls: event.calls }
        if (!await sse.send(chunk(first ? { role: 'assistant', ...delta } : delta, null, event.type === 'delta' ? event.logprobs : undefined))) return
        first = false
        continue
      }
      if (first && !await sse.send(chunk({ role: 'assistant', content: '' }, null))) return
      await sse.send(chunk({}, event.finishReason))
      await sse.send({ id: `chatcmpl-${run.id}`, object: 'chat.completion.chunk', created, model, choices: [], usage: openAiUsage(event.usage) } satisfies ChatCompletionChunk)
      await sse.send('[DONE]')
      return
    }
    throw unfinished()
  } catch (err) {
    if (signal.aborted) {
      log.debug({ id: run.id }, 'the client went away mid-stream; the generation was cancelled')
      return
    }
    const error = asStreamError(err)
    log.debug({ id: run.id, code: error.code }, 'chat stream failed after it began')
    await sse.send(toOpenAiError(error).body)
  } finally {
    sse.end()
  }
}
