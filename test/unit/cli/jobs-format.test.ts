/** How `agora jobs show` sums up the verification of a job (the API's summary, from its subtasks), and shows each subtask's. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { subtaskColumns, verificationLine } from '../../../src/cli/jobs-format.ts'
import { verificationSummary } from '../../../src/api/routes/jobs-json.ts'
import type { SubtaskJson } from '../../../src/client/schemas.ts'
import type { Subtask } from '../../../src/jobs/types.ts'

const subtask = (id: string, verification: Subtask['verification']): Subtask => ({
  jobId: 'j', id, type: 'text.embed', params: {}, deps: [], state: 'committed', attempts: 1, worker: '12D3KooWworker', excluded: [], price: 100_000,
  error: null, createdAt: 1, assignedAt: 1, startedAt: 1, finishedAt: 2, resultHash: 'a'.repeat(64), verification
})
const json = (s: Subtask): SubtaskJson => ({ ...s, price: '0.100000' })

test('the summary counts verdicts by method and says when they are provisional; nothing checked is "-"', () => {
  assert.equal(verificationLine(verificationSummary([subtask('a', null)])), '-')
  const agreed = { method: 'replicas' as const, verdict: 'agreed' as const, replicas: 2, agreeing: 3, outliers: [], provisional: true }
  const outvoted = { ...agreed, verdict: 'outvoted' as const, agreeing: 2, outliers: ['12D3KooWcheat'] }
  const canary = { method: 'canary' as const, verdict: 'agreed' as const, replicas: 1, agreeing: 2, outliers: [], provisional: true }
  const quorum = { method: 'quorum' as const, verdict: 'agreed' as const, replicas: 2, agreeing: 3, outliers: [], provisional: false }
  const all = [subtask('a', agreed), subtask('b', agreed), subtask('c', outvoted), subtask('d', canary), subtask('e', null), subtask('f', quorum)]
  const none = { agreed: 0, outvoted: 0, inconclusive: 0, unverified: 0 }
  assert.deepEqual(verificationSummary(all), { checked: 5, replicas: { ...none, agreed: 2, outvoted: 1 }, canaries: { ...none, agreed: 1 }, quorum: { ...none, agreed: 1 }, provisional: true })
  assert.equal(verificationLine(verificationSummary(all)), '2 agreed, 1 outvoted (canaries: 1 agreed) (verifiers: 1 agreed); provisional')
  assert.equal(verificationLine(verificationSummary([subtask('d', { ...canary, provisional: false })])), 'no replicas (canaries: 1 agreed)')
  assert.equal(verificationLine(verificationSummary([subtask('f', quorum)])), 'no replicas (verifiers: 1 agreed)', 'decided by verifiers: not provisional')
  const column = subtaskColumns().find(c => c.header === 'verified')
  assert.deepEqual([subtask('a', agreed), subtask('d', canary), subtask('e', null), subtask('f', quorum)].map(s => column?.value(json(s))), ['agreed +2*', 'canary agreed*', '-', 'quorum agreed'])
})
