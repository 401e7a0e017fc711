/**
 * What the debug job types share (only with `jobs.debugTasks`): `count`
 * independent subtasks of one debug task type; the input is ignored; the
 * result counts the subtasks and those that committed.
 */
import { PLANNER_DEFAULTS, PLANNER_LIMITS } from './constants.ts'
import { subtaskId } from './common.ts'
import { z } from 'zod'
import type { PlannedSubtask, SubtaskResult } from './types.ts'

export const countSchema = z.number().int().min(1).max(PLANNER_LIMITS.maxDebugCount).default(PLANNER_DEFAULTS.count)

export function planDebug (type: string, prefix: string, count: number, params: Record<string, unknown>): PlannedSubtask[] {
  const subtasks = new Array<PlannedSubtask>(count)
  for (let i = 0; i < count; i++) subtasks[i] = { id: subtaskId(prefix, i), type, params: { ...params }, input: { index: i }, deps: [] }
  return subtasks
}

export function aggregateDebug (results: readonly SubtaskResult[]): { count: number, committed: number } {
  let committed = 0
  for (const r of results) if (r.result !== null && r.result !== undefined) committed++
  return { count: results.length, committed }
}

/** The fault-injection params a debug job hands to its subtasks (only when set, so plain plans stay small). */
export function faultsOf (params: { failOn: string[], malformedOn: string[] }): Record<string, unknown> {
  const faults: Record<string, unknown> = {}
  if (params.failOn.length > 0) faults.failOn = params.failOn
  if (params.malformedOn.length > 0) faults.malformedOn = params.malformedOn
  return faults
}
