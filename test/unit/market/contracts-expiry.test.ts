/** Contract expiry: due contracts expire, a buyer's hold is released first and exactly once, whoever gets there first; the timer follows the next expiry. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ContractExpiry } from '../../../src/market/contracts/expiry.ts'
import { ContractsRepository, type ContractRecord } from '../../../src/market/contracts/repository.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database } from '../../../src/store/index.ts'
import { waitFor } from '../../harness/wait.ts'

const T0 = 1_700_000_000_000

let seq = 0
function contract (overrides: Partial<ContractRecord> = {}): ContractRecord {
  seq++
  return {
    id: `contract${String(seq).padStart(14, '0')}`, role: 'buyer', buyer: 'b', seller: 's', requestId: `request${String(seq).padStart(15, '0')}`,
    offerId: 'offer-0001', what: 'classify', quantity: 1, unitPrice: 10, maxTotal: 10, captured: 0, expiresAt: T0 + 1000, state: 'accepted',
    reason: null, holdId: `contract:c${seq}`, signed: null, createdAt: T0, updatedAt: T0, ...overrides
  }
}

function setup (clock: { now: number }, sweepMs = 60_000): { repo: ContractsRepository, expiry: ContractExpiry, released: string[], expired: Array<[string, string]>, db: Database } {
  const db = new Database({ path: ':memory:' })
  const repo = new ContractsRepository(db)
  const released: string[] = []
  const expired: Array<[string, string]> = []
  const expiry = new ContractExpiry({
    contracts: repo,
    release: holdId => { released.push(holdId) },
    expired: (c, from) => { expired.push([c.id, from]) },
    log: silentLogger().forComponent('test')
  }, { sweepMs, now: () => clock.now })
  return { repo, expiry, released, expired, db }
}

test('a sweep expires every open contract past its expiry, and only those; a buyer\'s hold is released', () => {
  const clock = { now: T0 }
  const { repo, expiry, released, expired, db } = setup(clock)
  const due = contract({ expiresAt: T0 + 10 })
  const pendingDue = contract({ expiresAt: T0 + 10, state: 'proposed', holdId: null })
  const sellerDue = contract({ expiresAt: T0 + 10, role: 'seller', holdId: null })
  const later = contract({ expiresAt: T0 + 100 })
  const done = contract({ expiresAt: T0 + 10, state: 'settled' })
  for (const c of [due, pendingDue, sellerDue, later, done]) repo.insert(c)
  clock.now = T0 + 10
  assert.equal(expiry.sweep(), 3)
  assert.deepEqual(released, [due.holdId])
  assert.deepEqual(expired.map(([id, from]) => [id, from]).sort(), [[due.id, 'accepted'], [pendingDue.id, 'proposed'], [sellerDue.id, 'accepted']].sort())
  assert.equal(repo.get(later.id)?.state, 'accepted')
  assert.equal(repo.get(done.id)?.state, 'settled')
  assert.equal(expiry.sweep(), 0, 'nothing twice')
  db.close()
})

test('exactly once: the escrow\'s path and the sweep meet on one contract; one expiry is told', () => {
  const clock = { now: T0 + 2000 }
  const { repo, expiry, expired, db } = setup(clock)
  const c = contract()
  repo.insert(c)
  assert.equal(expiry.expire(c), true)
  assert.equal(expiry.expire(c), false, 'the stale copy loses the compare-and-set')
  assert.equal(expiry.sweep(), 0)
  assert.equal(expired.length, 1)
  assert.equal(expiry.expire(contract({ expiresAt: T0 + 5000 })), false, 'not due')
  db.close()
})

test('the timer wakes at the next expiry (a contract added later with an earlier one moves it forward)', async () => {
  const clock = { now: Date.now() }
  const { repo, expiry, expired, db } = setup(clock)
  const far = contract({ expiresAt: Date.now() + 60_000 })
  repo.insert(far)
  expiry.start()
  try {
    const soon = contract({ expiresAt: Date.now() + 100 })
    repo.insert(soon)
    expiry.scheduled(soon.expiresAt)
    const tick = setInterval(() => { clock.now = Date.now() }, 10)
    try {
      await waitFor('the soon one to expire', () => expired.some(([id]) => id === soon.id), { timeoutMs: 5000 })
    } finally {
      clearInterval(tick)
    }
    assert.equal(repo.get(far.id)?.state, 'accepted')
  } finally {
    expiry.stop()
    db.close()
  }
})
