/** Jobs and subtasks as the control API sends them: amounts (micro-credits inside) as six-decimal strings (src/client/schemas.ts). */
import { formatCredits } from '../../market/amount.ts'
import { constraintsJson, type Job, type Subtask } from '../../jobs/types.ts'
import type { HeldBackJson, JobJson, SubtaskJson, VerificationSummaryJson } from '../../client/schemas.ts'
import type { HeldBack } from '../../jobs/api-types.ts'

export function jobJson (job: Job): JobJson {
  return { ...job, constraints: constraintsJson(job.constraints), spent: formatCredits(job.spent) }
}

export function subtaskJson (subtask: Subtask): SubtaskJson {
  return { ...subtask, price: subtask.price === null ? null : formatCredits(subtask.price) }
}

/** How a job's results were checked, summed over its subtasks (docs/verification.md): results by method and verdict, and whether any is provisional. */
export function verificationSummary (subtasks: readonly Subtask[]): VerificationSummaryJson {
  const none = (): VerificationSummaryJson['replicas'] => ({ agreed: 0, outvoted: 0, inconclusive: 0, unverified: 0 })
  const summary: VerificationSummaryJson = { checked: 0, replicas: none(), canaries: none(), quorum: none(), provisional: false }
  for (const s of subtasks) {
    const v = s.verification
    if (v === null) continue
    summary.checked++
    const counts = v.method === 'canary' ? summary.canaries : v.method === 'quorum' ? summary.quorum : summary.replicas
    counts[v.verdict]++
    if (v.provisional) summary.provisional = true
  }
  return summary
}

/** A job's held-back pay (docs/verification.md "Held-back pay and audits"), amounts as credits. */
export function heldBackJson (held: HeldBack): HeldBackJson {
  return { held: formatCredits(held.held), paid: formatCredits(held.paid), forfeited: formatCredits(held.forfeited), nextDueAt: held.nextDueAt }
}
