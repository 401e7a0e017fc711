/** How `agora jobs show` sums up the verification of a job's subtasks, and shows each one's. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { subtaskColumns, verificationSummary } from '../../../src/cli/jobs-format.ts'
import type { SubtaskJson } from '../../../src/client/schemas.ts'

const subtask = (id: string, verification: SubtaskJson['verification']): SubtaskJson => ({
  jobId: 'j', id, type: 'text.embed', params: {}, deps: [], state: 'committed', attempts: 1, worker: '12D3KooWworker', excluded: [], price: '0.100000',
  error: null, createdAt: 1, assignedAt: 1, startedAt: 1, finishedAt: 2, resultHash: 'a'.repeat(64), verification
})

test('the summary counts verdicts by method and says when they are provisional; nothing checked is "-"', () => {
  assert.equal(verificationSummary([subtask('a', null)]), '-')
  const agreed = { method: 'replicas' as const, verdict: 'agreed' as const, replicas: 2, outliers: [], provisional: true }
  const outvoted = { ...agreed, verdict: 'outvoted' as const, outliers: ['12D3KooWcheat'] }
  const canary = { method: 'canary' as const, verdict: 'agreed' as const, replicas: 1, outliers: [], provisional: true }
  assert.equal(verificationSummary([subtask('a', agreed), subtask('b', agreed), subtask('c', outvoted), subtask('d', canary), subtask('e', null)]), '2 agreed, 1 outvoted (canaries: 1 agreed); provisional')
  assert.equal(verificationSummary([subtask('d', { ...canary, provisional: false })]), 'no replicas (canaries: 1 agreed)')
  const column = subtaskColumns().find(c => c.header === 'verified')
  assert.deepEqual([subtask('a', agreed), subtask('d', canary), subtask('e', null)].map(s => column?.value(s)), ['agreed +2*', 'canary agreed*', '-'])
})
