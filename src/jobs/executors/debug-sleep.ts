/**
 * `debug.sleep` (only with `jobs.debugTasks`): sleeps `ms` (or, with
 * `hold`, until cancelled), reporting progress as it goes and stopping at
 * once when cancelled; for tests and benchmarks of latency-bound subtasks,
 * timeouts and cancellation.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { z } from 'zod'
import { cancelledError, defineExecutor, faultShape, injectFault, throwIfCancelled } from './common.ts'
import { EXECUTOR_DEFAULTS, EXECUTOR_LIMITS } from './constants.ts'

/** Progress is reported at most this often, and at least ten times over the sleep. */
const PROGRESS_EVERY_MS = 1000

export const debugSleepParams = z.strictObject({
  /** How long to sleep. */
  ms: z.number().int().min(0).max(EXECUTOR_LIMITS.maxSleepMs).default(EXECUTOR_DEFAULTS.sleepMs),
  /** Sleep until cancelled (the job ends: a cancel, its deadline) instead of `ms`: a gate for tests. */
  hold: z.boolean().default(false),
  ...faultShape
})

export const debugSleepOutput = z.strictObject({
  slept: z.number().int().nonnegative()
})

export const debugSleepExecutor = defineExecutor({
  type: 'debug.sleep',
  description: 'Sleeps `ms` milliseconds, reporting progress (tests and benchmarks)',
  debug: true,
  input: z.unknown(),
  params: debugSleepParams,
  output: debugSleepOutput,
  models: () => [],
  async run (_input, params, context) {
    throwIfCancelled(context.signal)
    context.progress(0)
    if (params.hold) {
      await new Promise(resolve => { context.signal.addEventListener('abort', resolve, { once: true }) })
      throw cancelledError(context.signal)
    }
    const step = Math.max(1, Math.min(PROGRESS_EVERY_MS, Math.ceil(params.ms / 10)))
    const started = performance.now()
    for (let left = params.ms; left > 0; left = params.ms - (performance.now() - started)) {
      try {
        await sleep(Math.min(step, left), undefined, { signal: context.signal })
      } catch {
        throw cancelledError(context.signal)
      }
      context.progress(Math.min(1, (performance.now() - started) / Math.max(1, params.ms)))
    }
    throwIfCancelled(context.signal)
    const malformed = injectFault(params, context)
    context.progress(1)
    // a malformed answer breaks the output schema on purpose
    return malformed ? { slept: -1 } : { slept: params.ms }
  }
})
