/** `debug.sleep` as a job (only with `jobs.debugTasks`): `count` subtasks that each sleep `ms` (from `holdFrom` on: until the job ends). */
import { z } from 'zod'
import { debugSleepExecutor, EXECUTOR_DEFAULTS, EXECUTOR_LIMITS } from '../executors/index.ts'
import { definePlanner } from './common.ts'
import { aggregateDebug, countSchema, faultsOf, planDebug } from './debug.ts'
import { faultShape } from '../executors/common.ts'

export const debugSleepJobParams = z.strictObject({
  /** Subtasks. */
  count: countSchema,
  ...faultShape,
  /** How long each sleeps. */
  ms: z.number().int().min(0).max(EXECUTOR_LIMITS.maxSleepMs).default(EXECUTOR_DEFAULTS.sleepMs),
  /** Subtasks from this index on sleep until the job ends (cancel or deadline) instead of `ms`: a gate for tests. */
  holdFrom: z.number().int().min(0).optional()
})

export const debugSleepPlanner = definePlanner({
  type: debugSleepExecutor.type,
  description: '`count` subtasks that each sleep `ms` milliseconds (tests and benchmarks)',
  params: debugSleepJobParams,
  taskTypes: () => [debugSleepExecutor.type],
  models: () => [],
  async plan (_input, params) {
    const subtasks = planDebug(debugSleepExecutor.type, 'sleep', params.count, { ms: params.ms, ...faultsOf(params) })
    if (params.holdFrom !== undefined) for (const subtask of subtasks.slice(params.holdFrom)) subtask.params.hold = true
    return subtasks
  },
  aggregate: results => aggregateDebug(results)
})
