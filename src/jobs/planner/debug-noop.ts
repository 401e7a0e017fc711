/** `debug.noop` as a job (only with `jobs.debugTasks`): `count` subtasks that do nothing. */
import { z } from 'zod'
import { debugNoopExecutor } from '../executors/index.ts'
import { definePlanner } from './common.ts'
import { aggregateDebug, countSchema, faultsOf, planDebug } from './debug.ts'
import { faultShape } from '../executors/common.ts'

export const debugNoopJobParams = z.strictObject({
  /** Subtasks. */
  count: countSchema,
  ...faultShape
})

export const debugNoopPlanner = definePlanner({
  type: debugNoopExecutor.type,
  description: '`count` subtasks that do nothing (tests and benchmarks)',
  params: debugNoopJobParams,
  taskTypes: () => [debugNoopExecutor.type],
  models: () => [],
  async plan (_input, params) {
    return planDebug(debugNoopExecutor.type, 'noop', params.count, faultsOf(params))
  },
  aggregate: results => aggregateDebug(results)
})
