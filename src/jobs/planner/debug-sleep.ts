/** `debug.sleep` as a job (only with `jobs.debugTasks`): `count` subtasks that each sleep `ms`. */
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
  ms: z.number().int().min(0).max(EXECUTOR_LIMITS.maxSleepMs).default(EXECUTOR_DEFAULTS.sleepMs)
})

export const debugSleepPlanner = definePlanner({
  type: debugSleepExecutor.type,
  description: '`count` subtasks that each sleep `ms` milliseconds (tests and benchmarks)',
  params: debugSleepJobParams,
  taskTypes: () => [debugSleepExecutor.type],
  models: () => [],
  async plan (_input, params) {
    return planDebug(debugSleepExecutor.type, 'sleep', params.count, { ms: params.ms, ...faultsOf(params) })
  },
  aggregate: results => aggregateDebug(results)
})
