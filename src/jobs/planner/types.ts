/**
 * A job type's plan: how its input becomes a DAG of subtasks, how a
 * subtask's input is built from the results of its dependencies, and how
 * the subtasks' results merge into the job's result. One file per job type;
 * a task type is also a job type (its plan fans the input out over that
 * task type), and `summarize` is a plan of its own.
 */
import type { z } from 'zod'
import type { ChunkOptions, TextChunk } from '../../providers/wink/types.ts'

/** A subtask as the planner makes it (the coordinator persists it as a `Subtask`). */
export interface PlannedSubtask {
  /** Unique within the job; stable (resume and idempotency keys depend on it). */
  id: string
  type: string
  params: Record<string, unknown>
  /** The input when it does not depend on other subtasks; `null` when `bind` builds it from the dependencies' results. */
  input: unknown
  deps: string[]
}

/** What a planner may use on the coordinator. */
export interface PlanTools {
  /** Sentence-aware chunking by the local embedded engine. */
  chunk(text: string, options: ChunkOptions): Promise<TextChunk[]>
}

/** The job's input, resolved: inline text, an uploaded blob read as UTF-8 text, or items. */
export type PlanInput = { kind: 'text', text: string } | { kind: 'items', items: unknown[] }

/** A subtask's committed result, as the aggregator sees it. */
export interface SubtaskResult {
  id: string
  type: string
  /** `null` when the subtask has no result (it failed; partial aggregation). */
  result: unknown
}

export interface JobPlanner<P = unknown> {
  /** Job type, e.g. `text.embed` or `summarize`. */
  readonly type: string
  readonly description: string
  /** The job's params (checked at submission; errors name the field, E1001). */
  readonly params: z.ZodType<P>
  /** Task types its subtasks use (routing checks a candidate exists for each before planning runs). */
  taskTypes(params: P): string[]
  /** Models its subtasks need (e.g. the chat model of llm.map). */
  models(params: P): string[]
  /** The DAG. Throws E1003 on a cycle (checked by `validateDag`), E1004 on an empty input. */
  plan(input: PlanInput, params: P, tools: PlanTools): Promise<PlannedSubtask[]>
  /** The input of a subtask planned with `input: null`, from its dependencies' results in `deps` order. */
  bind?(subtask: PlannedSubtask, deps: SubtaskResult[], params: P): unknown
  /** The job's result from every subtask's result (in plan order); with `partial` some results are `null`. */
  aggregate(results: SubtaskResult[], params: P, partial: boolean): unknown
}

/** A planner with its generic type erased, as the table holds it. */
export type AnyPlanner = JobPlanner<any> // eslint-disable-line @typescript-eslint/no-explicit-any
