/**
 * What the executors share: schema pieces (chunks, usage, chat params),
 * cancellation, prompt templates, and the field-naming check a worker runs
 * on a subtask's input and params before an executor sees them.
 */
import { z } from 'zod'
import { raceAbort } from '../../abort.ts'
import { AgoraError } from '../../errors.ts'
import { EXECUTOR_DEFAULTS, EXECUTOR_LIMITS, INPUT_PLACEHOLDER } from './constants.ts'
import type { ChatMessage, Usage } from '../../providers/inference.ts'
import type { ChatAnswer, ExecutorContext, TaskExecutor } from './types.ts'

/** Types the executor table infers from, without erasing them. */
export function defineExecutor<I, P, O> (executor: TaskExecutor<I, P, O>): TaskExecutor<I, P, O> {
  return executor
}

const offset = z.number().int().nonnegative()

/** `[start, end)` in UTF-16 code units of the job's document. */
export const spanSchema = z.strictObject({ start: offset, end: offset })
export type Span = z.infer<typeof spanSchema>

/** A piece of the document: its text and where it sits in the document. */
export const chunkSchema = z.strictObject({
  text: z.string().max(EXECUTOR_LIMITS.maxTextChars),
  start: offset,
  end: offset
}).refine(c => c.end >= c.start, { message: 'end must not be before start', path: ['end'] })
export type Chunk = z.infer<typeof chunkSchema>

/** The input of every per-chunk task type (text.embed, text.sentiment, text.entities). */
export const chunksInputSchema = z.strictObject({
  chunks: z.array(chunkSchema).min(1).max(EXECUTOR_LIMITS.maxItems)
})
export type ChunksInput = z.infer<typeof chunksInputSchema>

/** Where per-chunk results differ from their chunks (count, then the first span that moved); undefined when they match. */
export function spansMismatch (chunks: ReadonlyArray<{ start: number, end: number }>, results: ReadonlyArray<{ start: number, end: number }>): string | undefined {
  if (results.length !== chunks.length) return `${results.length} results for ${chunks.length} chunks`
  const moved = chunks.findIndex((c, i) => c.start !== results[i]?.start || c.end !== results[i]?.end)
  return moved < 0 ? undefined : `result ${moved} is for ${results[moved]?.start}..${results[moved]?.end}, the chunk is ${chunks[moved]?.start}..${chunks[moved]?.end}`
}

/** `got` answers for `asked` inputs: undefined when the counts match. */
export function countMismatch (got: number, asked: number, what: string): string | undefined {
  return got === asked ? undefined : `${got} ${what} for ${asked} asked`
}

export const usageSchema = z.strictObject({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative()
})

export const modelSchema = z.string().min(1).max(256)
export const promptTemplateSchema = z.string().min(1).max(EXECUTOR_LIMITS.maxPromptChars)
  .regex(/\{\{input\}\}/, `must contain ${INPUT_PLACEHOLDER}`)
export const systemSchema = z.string().min(1).max(EXECUTOR_LIMITS.maxPromptChars).optional()
export const maxTokensSchema = z.number().int().min(1).max(EXECUTOR_LIMITS.maxTokens).default(EXECUTOR_DEFAULTS.maxTokens)
export const temperatureSchema = z.number().min(0).max(2).default(EXECUTOR_DEFAULTS.temperature)

export const ZERO_USAGE: Usage = Object.freeze({ promptTokens: 0, completionTokens: 0 })

export function addUsage (a: Usage, b: Usage): Usage {
  return { promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens }
}

/** `template` with every `{{input}}` replaced by `input` (no `$` patterns). */
export function fillTemplate (template: string, input: string): string {
  return template.split(INPUT_PLACEHOLDER).join(input)
}

/** The system message (when given) and one user message. */
export function chatMessages (system: string | undefined, user: string): ChatMessage[] {
  return system === undefined ? [{ role: 'user', content: user }] : [{ role: 'system', content: system }, { role: 'user', content: user }]
}

/** The error a cancelled subtask ends with: the signal's AgoraError reason, else E1005. */
export function cancelledError (signal: AbortSignal): AgoraError {
  if (signal.reason instanceof AgoraError) return signal.reason
  return new AgoraError('E1005', 'subtask cancelled', { why: 'the subtask\'s signal was aborted', cause: signal.reason })
}

export function throwIfCancelled (signal: AbortSignal): void {
  if (signal.aborted) throw cancelledError(signal)
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (a later rejection of `promise` is swallowed). */
export async function untilCancelled<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return await raceAbort(promise, signal)
  } catch (err) {
    throw signal.aborted ? cancelledError(signal) : err
  }
}

/**
 * `fn` on each item in order, one at a time: cancellation checked before
 * each, progress reported after each (0 first, 1 after the last).
 */
export async function eachInOrder<T, R> (items: readonly T[], context: Pick<ExecutorContext, 'signal' | 'progress'>, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  context.progress(0)
  for (const item of items) {
    throwIfCancelled(context.signal)
    results.push(await fn(item))
    context.progress(results.length / items.length)
  }
  return results
}

export interface ChatCall {
  model: string
  system?: string | undefined
  maxTokens: number
  temperature: number
}

/** One chat completion through the worker's own providers, cancelled with the subtask. */
export async function askChat (context: ExecutorContext, call: ChatCall, messages: ChatMessage[]): Promise<ChatAnswer> {
  throwIfCancelled(context.signal)
  const request = { model: call.model, messages, max_tokens: call.maxTokens, temperature: call.temperature }
  return await untilCancelled(context.chat(request, { signal: context.signal }), context.signal)
}

/** A zod issue as `field: message`, the field being the dotted path (or the unknown keys). */
export function describeIssue (issue: z.core.$ZodIssue, prefix = ''): { field: string, message: string } {
  const path = issue.path.map(String)
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map(k => [...path, k].join('.'))
    return { field: keys.map(k => prefix + k).join(', '), message: issue.message }
  }
  const field = path.length === 0 ? (prefix === '' ? '(root)' : prefix.replace(/\.$/, '')) : prefix + path.join('.')
  return { field, message: issue.message }
}

/**
 * A subtask's input and params checked against its task type (defaults
 * filled in), or E1006 naming the first field at fault (`input.chunks.0.start`,
 * `params.model`).
 */
export function parseTask<I, P, O> (executor: TaskExecutor<I, P, O>, input: unknown, params: unknown): { input: I, params: P } {
  const p = executor.params.safeParse(params ?? {})
  if (!p.success) throw invalidTask(executor.type, p.error, 'params.')
  const i = executor.input.safeParse(input)
  if (!i.success) throw invalidTask(executor.type, i.error, 'input.')
  return { input: i.data, params: p.data }
}

function invalidTask (type: string, error: z.ZodError, prefix: string): AgoraError {
  const first = error.issues[0]
  const { field, message } = first === undefined ? { field: prefix.replace(/\.$/, ''), message: 'invalid' } : describeIssue(first, prefix)
  return new AgoraError('E1006', `invalid ${type} subtask: ${field}`, {
    why: message,
    details: { type, issues: error.issues.map(i => describeIssue(i, prefix)) }
  })
}

/**
 * Fault injection for the debug task types (tests, benchmarks, chaos runs):
 * a subtask fails, or answers a malformed result, when it runs on one of
 * the named workers. Never part of a real task type.
 */
export const faultShape = {
  /** Peer ids of workers on which the subtask throws (E1044 at the coordinator). */
  failOn: z.array(z.string().max(128)).max(64).default([]),
  /** Peer ids of workers on which the subtask answers a result that breaks its output schema (E1045). */
  malformedOn: z.array(z.string().max(128)).max(64).default([])
}

/** Applies `failOn`; returns true when the result must be malformed. */
export function injectFault (params: { failOn: string[], malformedOn: string[] }, context: Pick<ExecutorContext, 'workerId'>): boolean {
  if (params.failOn.includes(context.workerId)) throw new AgoraError('E1044', `injected failure on ${context.workerId}`, { why: 'the subtask\'s failOn names this worker' })
  return params.malformedOn.includes(context.workerId)
}
