/** Credit limits and admission: the limit in force (default, trusted, per peer), exposure, and E1102 naming the limit and the balance. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CreditPolicy, type PairBooks } from '../../../src/market/contracts/credit.ts'
import { LimitsRepository } from '../../../src/market/contracts/limits.ts'
import { ContractsRepository, type ContractRecord } from '../../../src/market/contracts/repository.ts'
import { Database } from '../../../src/store/index.ts'
import { isCode } from '../../harness/checks.ts'

const C = 1_000_000
const BUYER = '12D3KooWBuyerBuyerBuyerBuyerBuyerBuyerBuyerBuyerBuy'
const NOW = 1_700_000_000_000

interface Setup {
  policy: CreditPolicy
  books: { receivable: number, payable: number, unpaid: number }
  trusted: Set<string>
  limits: LimitsRepository
  contracts: ContractsRepository
  db: Database
}

function setup (): Setup {
  const db = new Database({ path: ':memory:' })
  const contracts = new ContractsRepository(db)
  const limits = new LimitsRepository(db)
  const books = { receivable: 0, payable: 0, unpaid: 0 }
  const trusted = new Set<string>()
  const pair: PairBooks = { receivable: () => books.receivable, payable: () => books.payable, unpaid: () => books.unpaid }
  const policy = new CreditPolicy({ contracts, limits, books: pair, isTrusted: peer => trusted.has(peer) }, { creditLimit: 100 * C, trustedCreditLimit: 1000 * C, now: () => NOW })
  return { policy, books, trusted, limits, contracts, db }
}

let next = 0
function contract (overrides: Partial<ContractRecord> = {}): ContractRecord {
  next++
  const id = `contract${String(next).padStart(12, '0')}`
  return {
    id, role: 'seller', buyer: BUYER, seller: '12D3KooWSeLLerSeLLerSeLLerSeLLerSeLLerSeLLerSeLLer', requestId: `request${String(next).padStart(13, '0')}`,
    offerId: 'offer-0001', what: 'classify', quantity: 10, unitPrice: 2 * C, maxTotal: 20 * C, captured: 0, expiresAt: NOW + 60_000,
    state: 'accepted', reason: null, holdId: null, signed: null, createdAt: NOW, updatedAt: NOW, ...overrides
  }
}

test('the limit in force: market.creditLimit, market.trustedCreditLimit for trusted peers, a per-peer override above both', () => {
  const { policy, trusted, limits, db } = setup()
  assert.deepEqual(policy.limit(BUYER), { limit: 100 * C, source: 'default' })
  trusted.add(BUYER)
  assert.deepEqual(policy.limit(BUYER), { limit: 1000 * C, source: 'trusted' })
  limits.set(BUYER, 5 * C, NOW)
  assert.deepEqual(policy.limit(BUYER), { limit: 5 * C, source: 'peer' })
  limits.set(BUYER, 0, NOW)
  assert.deepEqual(policy.limit(BUYER), { limit: 0, source: 'peer' }, 'zero: no credit at all')
  limits.set(BUYER, null, NOW)
  assert.deepEqual(policy.limit(BUYER), { limit: 1000 * C, source: 'trusted' }, 'null: the defaults again')
  assert.deepEqual(limits.peers(), [])
  db.close()
})

test('exposure = what it owes net (proven or not) + what its accepted contracts may still take', () => {
  const { policy, books, contracts, db } = setup()
  books.receivable = 30 * C
  books.payable = 10 * C
  books.unpaid = 5 * C
  contracts.insert(contract({ captured: 4 * C }))
  contracts.insert(contract({ state: 'proposed' }))
  contracts.insert(contract({ state: 'settled', captured: 20 * C }))
  contracts.insert(contract({ expiresAt: NOW - 1 }))
  contracts.insert(contract({ role: 'buyer' }))
  assert.deepEqual(policy.exposure(BUYER), { owed: 25 * C, open: 16 * C, reserved: 0, total: 41 * C })
  books.payable = 100 * C
  assert.deepEqual(policy.exposure(BUYER).owed, 0, 'this node owing the peer more is no credit the peer uses')
  db.close()
})

test('work taken on at the same moment reserves its amount: two admissions never share the same room; a release gives it back once', () => {
  const { policy, books, db } = setup()
  books.receivable = 60 * C
  const first = policy.reserve(BUYER, 30 * C)
  assert.equal(policy.exposure(BUYER).reserved, 30 * C)
  assert.doesNotThrow(() => { policy.admit(BUYER, 10 * C) }, 'exactly at the limit with the reservation')
  assert.throws(() => policy.reserve(BUYER, 10 * C + 1), isCode('E1102'), 'the reserved 30 count: 60 + 30 + 10.000001 > 100')
  // the receipt is issued (the books now count it as unpaid) and takes over the reservation
  books.unpaid = 30 * C
  first()
  first()
  assert.equal(policy.exposure(BUYER).reserved, 0, 'released once, not twice')
  assert.equal(policy.exposure(BUYER).total, 90 * C)
  const failed = policy.reserve(BUYER, 10 * C)
  failed()
  assert.doesNotThrow(() => policy.reserve(BUYER, 10 * C), 'work that failed gives its room back')
  db.close()
})

test('admit within the limit; one micro-credit over it → E1102 naming the limit and the balance', () => {
  const { policy, books, db } = setup()
  books.receivable = 60 * C
  books.unpaid = 15 * C
  assert.doesNotThrow(() => { policy.admit(BUYER, 25 * C) }, 'exactly at the limit')
  assert.throws(() => { policy.admit(BUYER, 25 * C + 1) }, (err: unknown) => {
    isCode('E1102')(err)
    const { why, details } = err as { why: string, details: Record<string, unknown> }
    assert.match(why, /owes 75\.000000/)
    assert.match(why, /limit of 100\.000000/)
    assert.equal(details.limit, '100.000000')
    assert.equal(details.balance, '75.000000')
    assert.equal(details.amount, '25.000001')
    return true
  })
  db.close()
})

test('an accepted contract for the same what with room admits work past the limit (its room is counted already)', () => {
  const { policy, books, contracts, limits, db } = setup()
  limits.set(BUYER, 20 * C, NOW)
  contracts.insert(contract({ maxTotal: 20 * C, captured: 15 * C }))
  books.unpaid = 15 * C
  assert.doesNotThrow(() => { policy.admit(BUYER, 5 * C, 'classify') })
  assert.throws(() => { policy.admit(BUYER, 5 * C + 1, 'classify') }, isCode('E1102'), 'more than the contract has room for')
  assert.throws(() => { policy.admit(BUYER, 1, 'summarize') }, isCode('E1102'), 'another what')
  assert.throws(() => { policy.admit(BUYER, 1) }, isCode('E1102'), 'no what named')
  db.close()
})

test('a limit of zero refuses any priced work; free work passes', () => {
  const { policy, limits, db } = setup()
  limits.set(BUYER, 0, NOW)
  assert.doesNotThrow(() => { policy.admit(BUYER, 0) })
  assert.throws(() => { policy.admit(BUYER, 1) }, isCode('E1102'))
  db.close()
})
