/**
 * Jobs pay through the market, between real nodes (docs/market.md): a
 * budget is held at submission, each checked receipt captures its price and
 * is owed to its worker, the rest is released at the end; payment proofs
 * reach the workers, and every pair of books agrees to the micro-credit. A
 * wallet that cannot cover a budget refuses the job; a worker stops taking
 * work from a buyer at the credit limit it set.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../src/errors.ts'
import { parseCredits, sumMicro } from '../../src/market/index.ts'
import { TestSwarm, clientOf, mergeDeep } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG, waitForJob, waitForOffers } from '../harness/jobs.ts'
import { waitFor } from '../harness/wait.ts'
import type { AgoraNode } from '../../src/node.ts'
import type { AgoraConfig } from '../../src/config/index.ts'
import type { DeepPartial } from '../../src/config/types.ts'
import type { WalletJson } from '../../src/client/market-schemas.ts'

const config = (over: Record<string, unknown> = {}): DeepPartial<AgoraConfig> => mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, {
  market: { paymentEveryReceipts: 4, paymentEveryMs: 200, auctionWindowMs: 1500 },
  ...over,
  // these tests follow each receipt's whole price; held-back pay of provisional results is tested in verify-audits
  verify: { holdback: 0, ...(over.verify as Record<string, unknown> | undefined) }
}) as DeepPartial<AgoraConfig>

const micro = (text: string): number => parseCredits(text)

/** grant + earned − spent = available + held, to the micro-credit. */
function assertWalletIdentity (w: WalletJson, who: string): void {
  assert.equal(BigInt(micro(w.grant)) + BigInt(micro(w.earned)) - BigInt(micro(w.spent)), sumMicro([micro(w.available), micro(w.held)]), `${who}: ${JSON.stringify(w)}`)
}

function peer (w: WalletJson, id: string): WalletJson['peers'][number] | undefined {
  return w.peers.find(p => p.peer === id)
}

describe('jobs pay their workers through the market', () => {
  const swarm = new TestSwarm()
  let buyer: AgoraNode
  let cheap: AgoraNode
  let dear: AgoraNode

  before(async () => {
    buyer = await swarm.add({ config: config({ jobs: { slots: 0 } }) })
    const bootstrap = { network: { bootstrap: [buyer.components.libp2p.getMultiaddrs()[0]?.toString()] } }
    ;[cheap, dear] = await Promise.all([
      swarm.add({ config: config({ ...bootstrap, jobs: { slots: 2 }, offers: { prices: { perTask: '0.1' } } }) }),
      swarm.add({ config: config({ ...bootstrap, jobs: { slots: 2 }, offers: { prices: { perTask: '0.25' } } }) })
    ])
    await waitForOffers(buyer, [cheap, dear], 'debug.noop')
  })
  after(async () => { await swarm.stop() })

  test('a budgeted job: held at submission, each receipt captured and paid, the rest released; both books agree', async () => {
    const job = await buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 12 }, constraints: { budget: '5' } })
    const held = buyer.components.market.history({ account: `held:job:${job.id}` })
    assert.equal(held.at(-1)?.kind, 'hold')
    assert.equal(held.at(-1)?.amount, 5_000_000, 'the whole budget was held when the job was accepted')
    const done = await waitForJob(buyer, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const byWorker = new Map<string, number>()
    for (const s of buyer.components.jobs.subtasks(job.id)) byWorker.set(s.worker as string, (byWorker.get(s.worker as string) ?? 0) + (s.price as number))
    assert.equal(done.spent, [...byWorker.values()].reduce((a, b) => a + b, 0))

    const w = await clientOf(buyer).wallet()
    assert.equal(micro(w.held), 0, 'what the budget did not pay for went back')
    assert.equal(micro(w.spent), done.spent)
    assert.equal(micro(w.available), 1_000_000_000 - done.spent)
    assertWalletIdentity(w, 'buyer')
    // payment proofs reach the workers; then each pair's books mirror each other
    for (const seller of [cheap, dear]) {
      const owed = byWorker.get(seller.peerId) ?? 0
      assert.equal(micro(peer(w, seller.peerId)?.payable ?? '0'), owed)
      const theirs = await waitFor(`${seller.peerId.slice(-6)} to be paid`, async () => {
        const wallet = await clientOf(seller).wallet()
        return micro(peer(wallet, buyer.peerId)?.receivable ?? '0') === owed ? wallet : undefined
      }, { timeoutMs: 20_000 })
      assert.equal(micro(theirs.earned), owed)
      assert.equal(micro(peer(theirs, buyer.peerId)?.unpaid ?? '-1'), 0)
      assertWalletIdentity(theirs, 'seller')
      const reconciled = await clientOf(buyer).reconcile(seller.peerId)
      assert.deepEqual(reconciled.differences, [])
    }
  })

  test('a job bought by auction: the better proposal wins, its seller runs every subtask and is paid through the contract', async () => {
    const job = await buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 6 }, constraints: { budget: '3', auction: true } })
    assert.deepEqual(job.constraints.workers, [cheap.peerId], 'the cheaper seller won (equal standing otherwise)')
    const contractId = job.constraints.contracts?.[0] ?? ''
    const contract = buyer.components.market.contract(contractId)
    assert.deepEqual([contract.seller, contract.quantity, contract.unitPrice, contract.maxTotal], [cheap.peerId, 6, micro('0.1'), micro('0.6')])
    const done = await waitForJob(buyer, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    assert.ok(buyer.components.jobs.subtasks(job.id).every(s => s.worker === cheap.peerId), 'only the winner ran the job')
    assert.equal(done.spent, micro('0.6'))
    assert.equal(buyer.components.market.contract(contractId).state, 'settled', 'the contract paid every receipt')
    await waitFor('the winner paid for the job', async () => micro(peer(await clientOf(cheap).wallet(), buyer.peerId)?.unpaid ?? '-1') === 0)
    assertWalletIdentity(await clientOf(buyer).wallet(), 'buyer')
    const proposals = buyer.components.market.needs({ limit: 1 })[0]
    assert.equal(proposals?.seller, cheap.peerId)
    await assert.rejects(buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 1 }, constraints: { auction: true } }),
      (err: unknown) => isAgoraError(err, 'E1013'), 'an auction needs a budget')
    // the contracts are the node's to write: a submitter naming one could end it with its job
    await assert.rejects(buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 1 }, constraints: { budget: '1', contracts: [contractId] } }),
      (err: unknown) => isAgoraError(err, 'E1001') && err.details?.field === 'constraints.contracts')
  })

  test('a budget the wallet cannot cover refuses the job (402 E1101, naming the balance); nothing is stored', async () => {
    const before = buyer.components.jobs.list().length
    await assert.rejects(buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 1 }, constraints: { budget: '5000' } }),
      (err: unknown) => isAgoraError(err, 'E1101') && err.status === 402 && /available/.test(`${err.what} ${err.why ?? ''}`))
    assert.equal(buyer.components.jobs.list().length, before)
    assert.equal(micro((await clientOf(buyer).wallet()).held), 0)
  })

  test('a worker stops taking work from a buyer at the credit limit it set; the other worker takes the rest', async () => {
    const limit = micro('0.5')
    // what the buyer owes the worker: proven by its proofs, or receipts not paid yet
    const owed = async (): Promise<number> => {
      const line = peer(await clientOf(cheap).wallet(), buyer.peerId)
      return line === undefined ? 0 : micro(line.receivable) - micro(line.payable) + micro(line.unpaid)
    }
    await clientOf(cheap).setLimit(buyer.peerId, '0.5')
    const before = await owed()
    const job = await buyer.components.jobs.submit({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count: 12 }, constraints: { budget: '5' } })
    const done = await waitForJob(buyer, job.id)
    assert.equal(done.state, 'completed', JSON.stringify(done.error))
    const after = await owed()
    // subtasks taken on at the same moment reserve their price: together they never pass the limit
    assert.ok(after <= Math.max(before, limit), `owed ${after} after the job, ${before} before, limit ${limit}`)
    const refused = (await cheap.components.metrics.getSingleMetric('agora_jobs_worker_refused_total')?.get())?.values.find(v => v.labels.reason === 'credit')?.value ?? 0
    assert.ok(refused > 0, 'the worker refused for credit')
    assert.ok(buyer.components.jobs.subtasks(job.id).some(s => s.worker === dear.peerId), 'the other worker took the rest')
  })

})
