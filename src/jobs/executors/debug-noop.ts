/** `debug.noop` (only with `jobs.debugTasks`): echoes its input; for tests and benchmarks of the job machinery. */
import { z } from 'zod'
import { defineExecutor, faultShape, injectFault, throwIfCancelled } from './common.ts'

export const debugNoopParams = z.strictObject({ ...faultShape })

export const debugNoopOutput = z.strictObject({
  ok: z.literal(true),
  echo: z.unknown()
})

export const debugNoopExecutor = defineExecutor({
  type: 'debug.noop',
  description: 'Does nothing and echoes its input (tests and benchmarks)',
  debug: true,
  input: z.unknown(),
  params: debugNoopParams,
  output: debugNoopOutput,
  models: () => [],
  async run (input, params, context) {
    throwIfCancelled(context.signal)
    const malformed = injectFault(params, context)
    context.progress(1)
    // a malformed answer breaks the output schema on purpose (ok must be true)
    return malformed ? { ok: 'malformed' } as unknown as { ok: true, echo: unknown } : { ok: true as const, echo: input }
  }
})
