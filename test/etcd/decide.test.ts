/**
 * The etcd decide backend against a real etcd: two coordinators racing for
 * the same threads — exactly one wins each; retries are idempotent; epochs
 * replace, FINALIZE happens once; etcd killed and restarted mid-run loses
 * no acknowledged decision, and calls made while it is down fail with E1203
 * and can be repeated.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { EtcdDecider, type Decision, type EtcdOutcome } from '../../src/verify/index.ts'
import { startEtcd, type TestEtcd } from '../harness/etcd.ts'
import { isCode } from '../harness/checks.ts'
import { waitFor } from '../harness/wait.ts'

const d = (thread: string, epoch: number, decider: string, result: string, lamport = 1): Decision => ({ thread, epoch, lamport, decider, result })

describe('etcd decide backend', () => {
  let etcd: TestEtcd
  const deciders: EtcdDecider[] = []
  const decider = (prefix = '/agora/test'): EtcdDecider => {
    const made = new EtcdDecider({ endpoints: [etcd.endpoint], prefix, callTimeoutMs: 2000 })
    deciders.push(made)
    return made
  }

  before(async () => { etcd = await startEtcd() })
  after(async () => {
    for (const x of deciders) x.close()
    await etcd?.stop()
  })

  test('keys are sharded into 256 buckets by sha256 of the thread', () => {
    const x = decider()
    assert.equal(x.keyOf('job-1'), `/agora/test/${createHash('sha256').update('job-1').digest('hex').slice(0, 2)}/job-1`)
    const buckets = new Set(Array.from({ length: 4000 }, (_, i) => x.keyOf(`job-${i}`).split('/')[3]))
    assert.equal(buckets.size, 256)
    for (const b of buckets) assert.match(b as string, /^[0-9a-f]{2}$/)
  })

  test('two coordinators race for 100 threads: exactly one wins each, and both then read the winner', async () => {
    const [a, b] = [decider('/agora/race'), decider('/agora/race')]
    const threads = Array.from({ length: 100 }, (_, i) => `race-${i}`)
    const results = await Promise.all(threads.map(async thread => {
      const [ra, rb] = await Promise.all([a.decide(d(thread, 1, 'coord-a', 'ra')), b.decide(d(thread, 1, 'coord-b', 'rb'))])
      return { thread, ra, rb }
    }))
    for (const { thread, ra, rb } of results) {
      const won = [ra, rb].filter(r => r.outcome === 'won')
      assert.equal(won.length, 1, `${thread}: ${JSON.stringify([ra, rb])}`)
      const loser = (ra.outcome === 'won' ? rb : ra) as Extract<EtcdOutcome, { outcome: 'lost' }>
      assert.equal(loser.outcome, 'lost')
      const stored = await b.get(thread)
      assert.deepEqual(loser.standing, stored?.decision)
      assert.deepEqual(await a.get(thread), stored)
    }
  })

  test('retries are idempotent: the same decision again is a duplicate; FINALIZE once, then false; a loser cannot finalize (E1200)', async () => {
    const x = decider()
    const win = d('idem', 1, 'coord-a', 'r1')
    assert.deepEqual(await x.decide(win), { outcome: 'won', replaced: undefined })
    assert.deepEqual(await x.decide(win), { outcome: 'duplicate' })
    assert.deepEqual(await decider().decide(win), { outcome: 'duplicate' }, 'from another client too')
    assert.equal((await x.decide(d('idem', 1, 'coord-z', 'r2', 9))).outcome, 'lost', 'same epoch: the first writer wins, whatever the decider id')
    await assert.rejects(x.finalize(d('idem', 1, 'coord-z', 'r2', 9)), isCode('E1200'))
    assert.equal(await x.finalize(win), true)
    assert.equal(await x.finalize(win), false)
    assert.deepEqual(await x.get('idem'), { decision: win, finalized: true })
  })

  test('a higher epoch replaces the decision; an older one loses; after FINALIZE another result → E1200', async () => {
    const x = decider()
    const first = d('epochs', 2, 'coord-a', 'r1')
    await x.decide(first)
    assert.deepEqual(await x.decide(d('epochs', 1, 'coord-b', 'r2', 50)), { outcome: 'lost', standing: first })
    const second = d('epochs', 3, 'coord-b', 'r2')
    assert.deepEqual(await x.decide(second), { outcome: 'won', replaced: first })
    await assert.rejects(x.finalize(first), isCode('E1200'), 'fenced off by epoch 3')
    assert.equal(await x.finalize(second), true)
    await assert.rejects(x.decide(d('epochs', 4, 'coord-a', 'r1')), isCode('E1200'))
    assert.deepEqual(await x.decide(d('epochs', 4, 'coord-a', 'r2')), { outcome: 'won', replaced: second }, 'the same result in a newer epoch is harmless')
    assert.equal((await x.get('epochs'))?.finalized, true)
  })

  test('etcd killed and restarted mid-run: every acknowledged decision survives; calls while it is down fail with E1203 and can be repeated', async () => {
    const x = decider('/agora/restart')
    const acknowledged: Decision[] = []
    for (let i = 0; i < 50; i++) {
      const decision = d(`restart-${i}`, 1, 'coord-a', `r${i}`)
      if ((await x.decide(decision)).outcome === 'won') acknowledged.push(decision)
    }
    assert.equal(acknowledged.length, 50)
    await etcd.kill()
    const down = d('restart-during', 1, 'coord-a', 'late')
    await assert.rejects(x.decide(down), isCode('E1203'))
    await etcd.restart()
    // the client reconnects by itself; the failed call is simply repeated
    const outcome = await waitFor('the decision to land after the restart', async () => await x.decide(down), { timeoutMs: 20_000, intervalMs: 200 })
    assert.ok(outcome.outcome === 'won' || outcome.outcome === 'duplicate', JSON.stringify(outcome))
    for (const decision of acknowledged) assert.deepEqual((await x.get(decision.thread))?.decision, decision)
    const rival = decider('/agora/restart')
    for (const decision of acknowledged.slice(0, 10)) {
      assert.deepEqual(await rival.decide({ ...decision, decider: 'coord-b', result: 'other' }), { outcome: 'lost', standing: decision })
    }
  })

  test('no endpoints → E1203 naming the setting', () => {
    assert.throws(() => new EtcdDecider({ endpoints: [] }), isCode('E1203'))
  })
})
