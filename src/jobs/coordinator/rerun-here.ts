/**
 * Re-run a subtask on this node's own worker (free: its own work) and
 * compare the result with a worker's, by the task type's comparator. Used
 * by canaries (JobReplicas.canary) and by audits of held-back pay
 * (src/jobs/audit/). Undefined when it cannot be re-run or compared here.
 */
import type { Comparator } from '../../verify/index.ts'
import type { DispatchResult, TaskAssignment, TaskDispatcher } from '../protocol/types.ts'
import type { JobsConfig } from '../constants.ts'

export interface RerunHereInit {
  dispatcher: Pick<TaskDispatcher, 'dispatch'>
  self: string
  timeouts: JobsConfig['timeouts']
}

export async function rerunHere (
  init: RerunHereInit,
  assignment: TaskAssignment,
  keySuffix: string,
  subject: { worker: string, result: unknown, resultHash: string },
  comparator: Comparator,
  signal: AbortSignal
): Promise<{ agree: boolean, own: DispatchResult } | undefined> {
  try {
    const own = await init.dispatcher.dispatch(init.self, { ...assignment, key: `${assignment.key}${keySuffix}`, maxPrice: '0.000000' }, { signal, timeouts: init.timeouts })
    const agree = await comparator.agree({ worker: subject.worker, result: subject.result, hash: subject.resultHash }, { worker: own.worker, result: own.result, hash: own.resultHash })
    return { agree, own }
  } catch {
    return undefined
  }
}
