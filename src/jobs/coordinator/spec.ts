/** A job spec from a submitter, checked; a new job's id; the job types this node knows (the coordinator's edges). */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { AgoraError } from '../../errors.ts'
import { plannerTable } from '../planner/index.ts'
import { jobSpecSchema, type JobSpec, type JobSpecInput } from '../types.ts'
import type { JobTypeInfo } from '../api-types.ts'
import type { AnyPlanner } from '../planner/types.ts'

export function parseSpec (input: JobSpecInput): JobSpec {
  const parsed = jobSpecSchema.safeParse(input)
  if (parsed.success) {
    // the node writes the contracts an auction made; a submitter naming some could end others' contracts with the job
    if (parsed.data.constraints.contracts !== undefined) throw new AgoraError('E1001', 'invalid job: constraints.contracts', { why: 'set by the node for a job bought by auction (constraints.auction), not by the submitter', details: { field: 'constraints.contracts' } })
    return parsed.data
  }
  const issue = parsed.error.issues[0]
  const field = issue?.path.join('.') ?? ''
  throw new AgoraError('E1001', `invalid job: ${field === '' ? 'the body' : field}`, { why: issue?.message ?? parsed.error.message, details: { field } })
}

export function newJobId (): string {
  return `job-${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`
}

export function listJobTypes (debugTasks: boolean): JobTypeInfo[] {
  return [...plannerTable({ debugTasks }).values()].map((planner: AnyPlanner) => {
    const defaults = planner.params.safeParse({})
    return { type: planner.type, description: planner.description, taskTypes: attempt(() => planner.taskTypes(defaults.success ? defaults.data : {}), []), params: attempt<unknown>(() => z.toJSONSchema(planner.params, { io: 'input', unrepresentable: 'any' }), {}) }
  })
}

/** `fn()`, or `fallback` when it throws (a type listing must not fail on one odd schema). */
function attempt<T> (fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch {
    return fallback
  }
}
