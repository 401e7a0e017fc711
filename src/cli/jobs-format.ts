/**
 * How `agora jobs` shows jobs and subtasks: table columns, the one-job view,
 * and the error a finished-but-not-completed job turns into. Type-only
 * imports from the jobs room: the CLI does not load zod.
 */
import { AgoraError, errorFromBody } from '../errors.ts'
import type { JobState } from '../jobs/types.ts'
import type { HeldBackJson, JobJson, SubtaskJson, VerificationSummaryJson } from '../client/schemas.ts'
import { parseCredits } from '../market/amount.ts'
import type { JobTypeInfo } from '../jobs/api-types.ts'
import { formatDuration, type Column } from './output.ts'

/** Mirrors FINISHED_JOB_STATES (src/jobs/types.ts), without loading that module's zod. */
export const FINISHED: ReadonlySet<JobState> = new Set<JobState>(['completed', 'failed', 'cancelled'])

/** "…Ab3dEf9x": the end of a peer id, which is the part that differs. */
export function shortPeer (peerId: string | null): string {
  if (peerId === null) return '-'
  return peerId.length > 14 ? `…${peerId.slice(-8)}` : peerId
}

function span (from: number | null, to: number | null, now: number): string {
  if (from === null) return '-'
  const ms = (to ?? now) - from
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : formatDuration(ms)
}

const progressText = (job: JobJson): string => `${job.progress.committed}/${job.progress.total}` + (job.progress.failed > 0 ? ` (${job.progress.failed} failed)` : '')

export function jobColumns (now = Date.now()): Column<JobJson>[] {
  return [
    { header: 'job', value: j => j.id },
    { header: 'type', value: j => j.type },
    { header: 'state', value: j => j.error === null ? j.state : `${j.state} ${j.error.code}` },
    { header: 'done', value: progressText },
    { header: 'spent', value: j => j.spent },
    { header: 'created', value: j => new Date(j.createdAt).toISOString() },
    { header: 'duration', value: j => span(j.createdAt, j.finishedAt, now) }
  ]
}

export function subtaskColumns (now = Date.now()): Column<SubtaskJson>[] {
  return [
    { header: 'subtask', value: s => s.id },
    { header: 'type', value: s => s.type },
    { header: 'state', value: s => s.error === null || s.state === 'committed' ? s.state : `${s.state} ${s.error.code}` },
    { header: 'attempts', value: s => s.attempts },
    { header: 'worker', value: s => shortPeer(s.worker) },
    // what the worker was paid for it (its receipt's price; nothing until it commits)
    { header: 'price', value: s => s.price ?? '-' },
    // how the result was checked: `agreed +2` (two replicas), `canary agreed`, `-` when it was not; `*`: provisional
    { header: 'verified', value: s => s.verification === null ? '-' : `${s.verification.method === 'replicas' ? '' : `${s.verification.method} `}${s.verification.verdict}${s.verification.method === 'replicas' ? ` +${s.verification.replicas}` : ''}${s.verification.provisional ? '*' : ''}` },
    { header: 'duration', value: s => span(s.startedAt ?? s.assignedAt, s.finishedAt, now) }
  ]
}

export const TYPE_COLUMNS: Column<JobTypeInfo>[] = [
  { header: 'type', value: t => t.type },
  { header: 'description', value: t => t.description },
  { header: 'task types', value: t => t.taskTypes }
]

/** How a job's results were checked (the API's summary), in one line: `4 agreed, 1 outvoted (canaries: 1 agreed) (verifiers: 2 agreed); provisional`, or '-' when none was. */
export function verificationLine (v: VerificationSummaryJson): string {
  if (v.checked === 0) return '-'
  const counts = (byVerdict: VerificationSummaryJson['replicas']): string => Object.entries(byVerdict).filter(([, n]) => n > 0).map(([verdict, n]) => `${n} ${verdict}`).join(', ')
  const replicas = counts(v.replicas)
  const canaries = counts(v.canaries)
  const quorum = counts(v.quorum)
  return `${replicas === '' ? 'no replicas' : replicas}${canaries === '' ? '' : ` (canaries: ${canaries})`}${quorum === '' ? '' : ` (verifiers: ${quorum})`}${v.provisional ? '; provisional' : ''}`
}

/** A job's held-back pay in one line: `0.200000 until 18:40:12Z; 0.400000 paid after audits; 0.200000 forfeited`, or '-' when nothing was. */
export function heldBackLine (h: HeldBackJson): string {
  const parts: string[] = []
  if (parseCredits(h.held) > 0) parts.push(`${h.held} held${h.nextDueAt === null ? '' : ` (first due ${new Date(h.nextDueAt).toISOString()})`}`)
  if (parseCredits(h.paid) > 0) parts.push(`${h.paid} paid after the audit window`)
  if (parseCredits(h.forfeited) > 0) parts.push(`${h.forfeited} forfeited by a failed audit`)
  return parts.length === 0 ? '-' : parts.join('; ')
}

/** Key/value view of one job for humans. */
export function jobView (job: JobJson, now = Date.now()): Record<string, unknown> {
  const constraints = Object.entries(job.constraints)
    .filter(([key, value]) => value !== undefined && !(key === 'redundancy' && value === 1))
    .map(([key, value]) => `${key}=${key === 'deadline' ? new Date(value as number).toISOString() : Array.isArray(value) ? value.join(',') : String(value)}`)
  return {
    job: job.id,
    type: job.type,
    state: job.state,
    progress: `${job.progress.committed} of ${job.progress.total} subtasks done, ${job.progress.running} running, ${job.progress.failed} failed`,
    ...(job.waiting === undefined ? {} : { waiting: job.waiting }),
    input: job.input.kind === 'blob' ? `file ${job.input.hash.slice(0, 12)}… (${job.input.size} bytes)` : job.input.kind === 'text' ? `text (${job.input.text.length} characters)` : `${job.input.items.length} items`,
    params: Object.keys(job.params).length === 0 ? '-' : JSON.stringify(job.params),
    constraints: constraints.length === 0 ? '-' : constraints.join(' '),
    spent: job.spent,
    created: new Date(job.createdAt).toISOString(),
    duration: span(job.createdAt, job.finishedAt, now),
    error: job.error === null ? '-' : `${job.error.code} ${job.error.message}`
  }
}

/** The error a job that ended without completing exits with (its own error when it has one). */
export function jobFailure (job: JobJson): AgoraError {
  if (job.error !== null) return errorFromBody({ ...job.error, message: `job ${job.id} ${job.state}: ${job.error.message}` })
  return new AgoraError('E1086', `job ${job.id} ${job.state}`, { why: `${job.progress.committed} of ${job.progress.total} subtasks done` })
}
