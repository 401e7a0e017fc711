/** Jobs and subtasks as the control API sends them: amounts (micro-credits inside) as six-decimal strings (src/client/schemas.ts). */
import { formatCredits } from '../../market/amount.ts'
import { constraintsJson, type Job, type Subtask } from '../../jobs/types.ts'
import type { JobJson, SubtaskJson } from '../../client/schemas.ts'

export function jobJson (job: Job): JobJson {
  return { ...job, constraints: constraintsJson(job.constraints), spent: formatCredits(job.spent) }
}

export function subtaskJson (subtask: Subtask): SubtaskJson {
  return { ...subtask, price: subtask.price === null ? null : formatCredits(subtask.price) }
}
