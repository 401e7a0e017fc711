/**
 * Attest and decide over real gossip: five nodes, K = 3. Verifiers commit,
 * then reveal once K commitments are in; the coordinator decides exactly
 * once per (thread, epoch), and every node books the same winner. A newer
 * epoch's decision displaces it everywhere and orphans it.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Decision } from '../../src/verify/index.ts'
import { verifyNodes, type VerifyNode } from '../harness/verify-nodes.ts'
import { waitFor } from '../harness/wait.ts'

const H = (c: string): string => c.repeat(64)

describe('verification over gossip', () => {
  let nodes: VerifyNode[]
  let stop: () => Promise<void>
  const decidedBy0: Decision[] = []

  before(async () => {
    ({ nodes, stop } = await verifyNodes({ count: 5, k: 3, decider: 0 }))
    nodes[0]?.network.onDecision((decision, outcome) => { if (decision.decider === nodes[0]?.peerId && outcome.outcome === 'won') decidedBy0.push(decision) })
  })
  after(async () => { await stop() })

  test('four verifiers attest one result: the coordinator decides once, every node books that decision', async () => {
    const worker = nodes[4]?.peerId as string
    await Promise.all(nodes.slice(1).map(async v => { await v.network.attest({ thread: 'job-1', epoch: 1, subtask: 's1', worker, resultHash: H('a'), verdict: 'valid' }) }))
    await waitFor('every node to book the decision', () => nodes.every(v => v.decisions.get('job-1')?.winner.result === H('a')), { timeoutMs: 15_000 })
    for (const v of nodes) {
      const winner = v.decisions.get('job-1')?.winner
      assert.equal(winner?.decider, nodes[0]?.peerId)
      assert.equal(winner?.epoch, 1)
    }
    assert.equal(decidedBy0.filter(d => d.thread === 'job-1').length, 1, 'four reveals past K = 3 still make one decision')
  })

  test('a split vote below K decides nothing; the reveal that completes K decides', async () => {
    const worker = nodes[4]?.peerId as string
    const attest = async (v: VerifyNode, hash: string): Promise<void> => { await v.network.attest({ thread: 'job-2', epoch: 1, subtask: 's1', worker, resultHash: hash, verdict: 'valid' }) }
    await Promise.all([attest(nodes[1] as VerifyNode, H('b')), attest(nodes[2] as VerifyNode, H('b')), attest(nodes[3] as VerifyNode, H('c'))])
    const at = { thread: 'job-2', epoch: 1, subtask: 's1', worker }
    const coordinator = nodes[0] as VerifyNode
    await waitFor('the coordinator to count the three reveals', () => coordinator.network.revealed(at, H('b')) === 2 && coordinator.network.revealed(at, H('c')) === 1, { timeoutMs: 15_000 })
    assert.equal(coordinator.decisions.get('job-2'), undefined, 'two against one, K = 3')
    await attest(nodes[4] as VerifyNode, H('b'))
    await waitFor('every node to book b', () => nodes.every(v => v.decisions.get('job-2')?.winner.result === H('b')), { timeoutMs: 15_000 })
  })
})
