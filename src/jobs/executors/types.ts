/**
 * A task executor: one task type, its schemas and the code that runs it on a
 * worker. Executors are listed in one table (`executors/index.ts`); adding a
 * type is one file plus one line there.
 */
import type { z } from 'zod'
import type { ChatRequest, Usage } from '../../providers/inference.ts'
import type { WinkEngine } from '../../providers/wink/engine.ts'
import type { ModelKind } from '../../providers/registry.ts'

export interface ChatAnswer {
  text: string
  usage: Usage
}

/** What an executor may use on the worker. Every call honours `signal`. */
export interface ExecutorContext {
  signal: AbortSignal
  /** Peer id of the node running it. */
  workerId: string
  /** Report progress, 0..1 (throttled by the worker before it reaches the wire). */
  progress(fraction: number): void
  /** The embedded NLP engine (chunk, embed, sentiment, entities). */
  wink: Pick<WinkEngine, 'chunk' | 'embed' | 'sentiment' | 'entities'>
  /** A chat completion on this node's own providers (never forwarded to a peer). */
  chat(request: ChatRequest, options: { signal: AbortSignal }): Promise<ChatAnswer>
  /** Embeddings with a model of this node's own providers (the embedded one included). */
  embed(model: string, texts: string[], options: { signal: AbortSignal }): Promise<number[][]>
}

export interface TaskExecutor<I = unknown, P = unknown, O = unknown> {
  /** Task type, e.g. `text.embed`. */
  readonly type: string
  /** One line for `agora jobs types`. */
  readonly description: string
  /** Subtask input (checked on the worker before running). */
  readonly input: z.ZodType<I>
  /** Subtask parameters (checked on the worker before running). */
  readonly params: z.ZodType<P>
  /** The result (checked by the coordinator: a malformed result is rejected and counted against the worker). */
  readonly output: z.ZodType<O>
  /** Only run and advertised when `jobs.debugTasks` is on. */
  readonly debug?: boolean
  /** Models the worker must serve for these params (routing filters on them). */
  models?(params: P): string[]
  /** The kind of model this node's providers must serve for the type to be offered at all (a node with no chat model runs no chat types). */
  readonly modelKind?: ModelKind
  /**
   * Why a result that matches the output schema still does not answer this
   * input (a count or a span that differs), or undefined when it does.
   * Checked by the coordinator with the schema: a mismatch is E1045, counted
   * against the worker (a result leaving out one answer would shift every
   * later one in the job's aggregate).
   */
  mismatch?(input: I, params: P, output: O): string | undefined
  run(input: I, params: P, context: ExecutorContext): Promise<O>
}

/** An executor with its generic types erased, as the table holds it. */
export type AnyExecutor = TaskExecutor<any, any, any> // eslint-disable-line @typescript-eslint/no-explicit-any
