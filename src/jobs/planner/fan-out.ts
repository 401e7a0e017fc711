/**
 * The shape shared by the per-chunk job types (text.embed, text.sentiment,
 * text.entities): chunk the document at plan time, then one subtask per
 * `chunksPerSubtask` chunks, each carrying its chunks' text and offsets.
 */
import { z } from 'zod'
import { EXECUTOR_LIMITS } from '../executors/index.ts'
import { chunkDocument, groupsOf, requireText, subtaskId } from './common.ts'
import { PLANNER_DEFAULTS, PLANNER_LIMITS } from './constants.ts'
import type { PlanInput, PlannedSubtask, PlanTools } from './types.ts'

/** Chunking params of a job type, with its own overlap default. */
export function chunkingShape (overlapDefault: number) {
  return {
    /** Longest chunk, in characters. */
    chunkChars: z.number().int().min(1).max(EXECUTOR_LIMITS.maxChunkChars).default(PLANNER_DEFAULTS.chunkChars),
    /** Most characters neighbouring chunks share (whole sentences). */
    overlapChars: z.number().int().min(0).max(EXECUTOR_LIMITS.maxChunkChars).default(overlapDefault)
  }
}

export const chunksPerSubtaskSchema = z.number().int().min(1).max(PLANNER_LIMITS.maxPerSubtask).default(PLANNER_DEFAULTS.chunksPerSubtask)

/** The refinement every chunking params schema carries. */
export const OVERLAP_BELOW_CHUNK = {
  check: (p: { chunkChars: number, overlapChars: number }): boolean => p.overlapChars < p.chunkChars,
  error: { message: 'must be less than chunkChars', path: ['overlapChars'] }
}

export interface FanOutOptions {
  type: string
  prefix: string
  chunkChars: number
  overlapChars: number
  chunksPerSubtask: number
  /** The params every subtask gets. */
  subtaskParams: Record<string, unknown>
}

export async function planChunkFanOut (input: PlanInput, options: FanOutOptions, tools: PlanTools): Promise<PlannedSubtask[]> {
  const text = requireText(options.type, input)
  const chunks = await chunkDocument(options.type, text, options, tools)
  return groupsOf(chunks, options.chunksPerSubtask).map((group, i) => ({
    id: subtaskId(options.prefix, i),
    type: options.type,
    params: { ...options.subtaskParams },
    input: { chunks: group.map(c => ({ text: c.text, start: c.start, end: c.end })) },
    deps: []
  }))
}
