/**
 * The market from the CLI, on three daemons (a buyer and two sellers at
 * different prices), as docs/market.md tells it: a text.embed job with a
 * budget pays both sellers and the three books agree to the micro-credit; a
 * direct request is accepted by one seller and rejected by the other with
 * its reason; and a buyer SIGKILLed mid-job and restarted finishes the job
 * with every invariant true and nothing paid twice.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { agora, killDaemons, runAgora, startDaemon, type Daemon } from '../harness/cli.ts'
import { longDocument } from '../harness/jobs.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'
import { isAlive } from '../../src/client/index.ts'
import { parseCredits } from '../../src/market/amount.ts'
import type { ContractJson, WalletJson } from '../../src/client/market-schemas.ts'

const env = (slots: number, perTask = '0'): NodeJS.ProcessEnv => ({
  AGORA_ACCESS_TRUST_MODE: 'public',
  AGORA_JOBS_DEBUG_TASKS: 'true',
  AGORA_JOBS_SLOTS: String(slots),
  AGORA_JOBS_MAX_CPU_LOAD: '0',
  AGORA_JOBS_MIN_FREE_MEMORY_MB: '0',
  AGORA_OFFERS_REANNOUNCE_MS: '5000',
  AGORA_OFFERS_PRICES_PER_TASK: perTask,
  AGORA_MARKET_PAYMENT_EVERY_RECEIPTS: '4',
  AGORA_MARKET_PAYMENT_EVERY_MS: '200',
  // every receipt paid in full at once: held-back pay of provisional results is tested in verify-audits
  AGORA_VERIFY_HOLDBACK: '0',
  // the shared embeddings cache of the test run: no conversion in these daemons
  AGORA_PROVIDERS_WINK_CACHE_DIR: join(tmpdir(), 'agora-test-models')
})

const micro = (text: string): number => parseCredits(text)
const dir = tempDir()

async function json<T> (daemon: Daemon, args: string[]): Promise<T> {
  return JSON.parse(await agora([...args, '--data-dir', daemon.dataDir, '--json'])) as T
}

/** Every wallet: grant + earned − spent = available + held, to the micro-credit. */
function assertIdentity (w: WalletJson, who: string): void {
  assert.equal(micro(w.grant) + micro(w.earned) - micro(w.spent), micro(w.available) + micro(w.held), `${who}: ${JSON.stringify(w)}`)
}

/** What `seller` has earned from `buyer`, once its books caught up with what the buyer owes it; then both books mirror each other. */
async function paidInFull (buyer: Daemon, seller: Daemon): Promise<number> {
  const owed = micro((await json<WalletJson>(buyer, ['wallet'])).peers.find(p => p.peer === seller.peerId)?.payable ?? '0')
  await waitFor(`${seller.peerId.slice(-6)} to hold the buyer's proof of ${owed}`, async () => {
    const theirs = await json<WalletJson>(seller, ['wallet'])
    return micro(theirs.peers.find(p => p.peer === buyer.peerId)?.receivable ?? '0') === owed
  }, { timeoutMs: 30_000, intervalMs: 200 })
  const reconciled = await json<{ differences: string[] }>(buyer, ['wallet', 'reconcile', seller.peerId])
  assert.deepEqual(reconciled.differences, [])
  return owed
}

interface JobJson { id: string, state: string, spent: string, progress: { committed: number, total: number }, subtasks: Array<{ id: string, worker: string | null, price: string | null, state: string }> }

after(async () => {
  await killDaemons()
  rmSync(dir, { recursive: true, force: true })
})

describe('the market on three daemons, through the CLI', () => {
  let buyer: Daemon
  let cheap: Daemon
  let dear: Daemon

  before(async () => {
    buyer = await startDaemon([], undefined, env(0))
    ;[cheap, dear] = await Promise.all([
      startDaemon(['--bootstrap', buyer.address], undefined, env(2, '0.02')),
      startDaemon(['--bootstrap', buyer.address], undefined, env(2, '0.03'))
    ])
    await waitFor('both sellers\' offers on the buyer', async () => {
      const offers = await json<Array<{ node: string, taskTypes: string[] }>>(buyer, ['offers', 'list'])
      return [cheap, dear].every(s => offers.some(o => o.node === s.peerId && o.taskTypes.includes('text.embed')))
    }, { timeoutMs: 30_000, intervalMs: 200 })
  })

  test('a text.embed job with a budget pays both sellers; their wallets agree with the buyer\'s to the micro-credit', async () => {
    const file = join(dir, 'report.txt')
    writeFileSync(file, longDocument(40_000, 11))
    const submitted = await json<JobJson>(buyer, ['jobs', 'submit', '--type', 'text.embed', '--file', file, '--param', 'chunkChars=800', '--param', 'chunksPerSubtask=2', '--budget', '5', '--wait'])
    assert.equal(submitted.state, 'completed')
    const job = await json<JobJson>(buyer, ['jobs', 'show', submitted.id])
    const earnedBy = (seller: Daemon): number => job.subtasks.filter(s => s.worker === seller.peerId).reduce((sum, s) => sum + micro(s.price ?? '0'), 0)
    assert.ok(earnedBy(cheap) > 0 && earnedBy(dear) > 0, `both sellers worked: ${JSON.stringify(job.subtasks.map(s => s.worker?.slice(-6)))}`)
    assert.equal(micro(job.spent), earnedBy(cheap) + earnedBy(dear))

    const wallet = await json<WalletJson>(buyer, ['wallet'])
    assert.deepEqual([micro(wallet.spent), micro(wallet.held)], [micro(job.spent), 0], 'spent what the receipts asked; the rest of the budget released')
    assertIdentity(wallet, 'buyer')
    for (const seller of [cheap, dear]) {
      assert.equal(await paidInFull(buyer, seller), earnedBy(seller))
      const theirs = await json<WalletJson>(seller, ['wallet'])
      assert.equal(micro(theirs.earned), earnedBy(seller))
      assertIdentity(theirs, 'seller')
    }
  })

  test('a direct request: accepted by one seller (the hold is placed), rejected by the other with its reason', async () => {
    const offers = await json<Array<{ id: string, node: string }>>(buyer, ['offers', 'list'])
    const offerOf = (seller: Daemon): string => offers.find(o => o.node === seller.peerId)?.id as string
    const heldBefore = micro((await json<WalletJson>(buyer, ['wallet'])).held)

    const accepted = await json<ContractJson>(buyer, ['market', 'request', offerOf(cheap), '--what', 'text.embed', '--quantity', '10', '--max-price', '0.025'])
    assert.deepEqual([accepted.state, accepted.unitPrice, accepted.maxTotal], ['accepted', '0.020000', '0.200000'])
    assert.equal(micro((await json<WalletJson>(buyer, ['wallet'])).held), heldBefore + 200_000)
    const sellerSide = await json<ContractJson[]>(cheap, ['market', 'contracts'])
    assert.equal(sellerSide.find(c => c.id === accepted.id)?.state, 'accepted')

    const rejected = await runAgora(['market', 'request', offerOf(dear), '--what', 'text.embed', '--quantity', '10', '--max-price', '0.025', '--data-dir', buyer.dataDir])
    assert.equal(rejected.code, 1)
    assert.match(rejected.stderr, /Error \[E1114\].*/)
    assert.match(rejected.stderr, /price/)
    const mine = await json<ContractJson[]>(buyer, ['market', 'contracts'])
    assert.deepEqual(mine.filter(c => c.seller === dear.peerId).map(c => [c.state, c.reason]), [['rejected', 'price']])

    const cancelled = await json<ContractJson>(buyer, ['market', 'cancel', accepted.id])
    assert.equal(cancelled.state, 'refunded')
    assert.equal(micro((await json<WalletJson>(buyer, ['wallet'])).held), heldBefore)
  })

  test('SIGKILL of the buyer mid-job, then a restart: the job finishes, every invariant holds, nothing is paid twice', async () => {
    const submitted = await json<JobJson>(buyer, ['jobs', 'submit', '--type', 'debug.sleep', '--param', 'count=24', '--param', 'ms=200', '--budget', '2'])
    await waitFor('some subtasks committed', async () => (await json<JobJson>(buyer, ['jobs', 'show', submitted.id])).progress.committed >= 6, { timeoutMs: 30_000, intervalMs: 50 })
    process.kill(buyer.pid, 'SIGKILL')
    await waitFor('the buyer to die', () => !isAlive(buyer.pid))
    buyer = await startDaemon(['--bootstrap', cheap.address], buyer.dataDir, env(0))

    const job = await waitFor('the resumed job to finish', async () => {
      const j = await json<JobJson>(buyer, ['jobs', 'show', submitted.id])
      return ['completed', 'failed', 'cancelled'].includes(j.state) ? j : undefined
    }, { timeoutMs: 60_000, intervalMs: 200 })
    assert.equal(job.state, 'completed')
    const wallet = await json<WalletJson>(buyer, ['wallet'])
    assertIdentity(wallet, 'buyer after the crash')
    assert.equal(micro(wallet.held), 0, 'the job\'s hold was released once it finished')
    const jobs = await json<JobJson[]>(buyer, ['jobs', 'list'])
    const spentOnJobs = jobs.reduce((sum, j) => sum + micro(j.spent), 0)
    assert.equal(micro(wallet.spent), spentOnJobs, 'every committed subtask captured exactly once, across the crash')
    let earned = 0
    for (const seller of [cheap, dear]) {
      await paidInFull(buyer, seller)
      const theirs = await json<WalletJson>(seller, ['wallet'])
      assertIdentity(theirs, 'seller after the crash')
      earned += micro(theirs.earned)
    }
    assert.equal(earned, micro(wallet.spent), 'what the sellers earned is what the buyer spent: no credit created or lost')
  })
})
