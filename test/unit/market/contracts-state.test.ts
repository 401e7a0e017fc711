/** The contract state machine: every allowed move, every refused one (E1112), the ends a buyer reaches, and the table's compare-and-set. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertMove, canMove, endedByBuyer, isFinished, isOpen, room } from '../../../src/market/contracts/state.ts'
import { ContractsRepository, publicContract, type ContractRecord } from '../../../src/market/contracts/repository.ts'
import { CONTRACT_STATES, type ContractState } from '../../../src/market/types.ts'
import { Database } from '../../../src/store/index.ts'
import { isCode } from '../../harness/checks.ts'

const ALLOWED: Record<ContractState, ContractState[]> = {
  proposed: ['accepted', 'rejected', 'expired', 'cancelled'],
  accepted: ['settled', 'refunded', 'expired', 'cancelled'],
  rejected: [],
  settled: [],
  refunded: [],
  expired: [],
  cancelled: []
}

test('every state pair: allowed exactly as docs/market.md draws it', () => {
  for (const from of CONTRACT_STATES) {
    for (const to of CONTRACT_STATES) {
      assert.equal(canMove(from, to), ALLOWED[from].includes(to), `${from} → ${to}`)
    }
  }
})

test('a refused move is E1112 naming the state it is in', () => {
  for (const from of CONTRACT_STATES) {
    for (const to of CONTRACT_STATES) {
      if (ALLOWED[from].includes(to)) {
        assert.doesNotThrow(() => { assertMove({ id: 'c', state: from }, to) })
        continue
      }
      assert.throws(() => { assertMove({ id: 'c', state: from }, to) }, (err: unknown) => {
        isCode('E1112')(err)
        assert.match((err as Error).message, new RegExp(`cannot become ${to}`))
        assert.match((err as { why: string }).why, new RegExp(from))
        return true
      }, `${from} → ${to}`)
    }
  }
})

test('finished and open states', () => {
  assert.deepEqual(CONTRACT_STATES.filter(isFinished), ['rejected', 'settled', 'refunded', 'expired', 'cancelled'])
  assert.deepEqual(CONTRACT_STATES.filter(isOpen), ['proposed', 'accepted'])
})

test('a buyer ending a contract early: settled with something captured, refunded with nothing', () => {
  assert.equal(endedByBuyer(1), 'settled')
  assert.equal(endedByBuyer(0), 'refunded')
  assert.equal(room({ maxTotal: 10, captured: 4 }), 6)
  assert.equal(room({ maxTotal: 10, captured: 10 }), 0)
})

function record (overrides: Partial<ContractRecord> = {}): ContractRecord {
  return {
    id: 'contract-000000000001',
    role: 'seller',
    buyer: '12D3KooWBuyerBuyerBuyerBuyerBuyerBuyerBuyerBuyerBuy',
    seller: '12D3KooWSeLLerSeLLerSeLLerSeLLerSeLLerSeLLerSeLLer',
    requestId: 'request-0000000000001',
    offerId: 'offer-0001',
    what: 'classify',
    quantity: 10,
    unitPrice: 500_000,
    maxTotal: 5_000_000,
    captured: 0,
    expiresAt: 2_000_000_000_000,
    state: 'accepted',
    reason: null,
    holdId: null,
    signed: null,
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides
  }
}

test('the table: one contract per id and per (side, buyer, request); moves are compare-and-set', () => {
  const db = new Database({ path: ':memory:' })
  const repo = new ContractsRepository(db)
  assert.equal(repo.insert(record()), true)
  assert.equal(repo.insert(record()), false, 'same id')
  assert.equal(repo.insert(record({ id: 'contract-000000000002' })), false, 'same request on the same side')
  assert.equal(repo.insert(record({ id: 'contract-000000000003', role: 'buyer' })), true, 'the other side keeps its own copy')
  assert.equal(repo.byRequest('seller', record().buyer, record().requestId)?.id, 'contract-000000000001')
  assert.equal(repo.move('contract-000000000001', 'proposed', 'accepted', 2_000), false, 'it is not proposed')
  assert.equal(repo.move('contract-000000000001', 'accepted', 'expired', 2_000), true)
  assert.equal(repo.move('contract-000000000001', 'accepted', 'settled', 2_001), false, 'expired first: the second mover loses')
  assert.equal(repo.get('contract-000000000001')?.state, 'expired')
  db.close()
})

test('captured grows only within maxTotal and only while accepted', () => {
  const db = new Database({ path: ':memory:' })
  const repo = new ContractsRepository(db)
  repo.insert(record())
  assert.equal(repo.addCaptured('contract-000000000001', 3_000_000, 2), true)
  assert.equal(repo.addCaptured('contract-000000000001', 2_000_001, 3), false, 'past maxTotal')
  assert.equal(repo.addCaptured('contract-000000000001', 2_000_000, 4), true)
  assert.equal(repo.get('contract-000000000001')?.captured, 5_000_000)
  repo.move('contract-000000000001', 'accepted', 'settled', 5)
  assert.equal(repo.addCaptured('contract-000000000001', 0, 6), false, 'settled')
  db.close()
})

test('lists, pending, due and the public view', () => {
  const db = new Database({ path: ':memory:' })
  const repo = new ContractsRepository(db)
  repo.insert(record({ id: 'a0000000000000000001', requestId: 'r0000000000000000001', state: 'proposed', createdAt: 1, expiresAt: 100 }))
  repo.insert(record({ id: 'a0000000000000000002', requestId: 'r0000000000000000002', state: 'accepted', createdAt: 2, expiresAt: 50 }))
  repo.insert(record({ id: 'a0000000000000000003', requestId: 'r0000000000000000003', state: 'rejected', reason: 'price', createdAt: 3, expiresAt: 10 }))
  assert.deepEqual(repo.list({}, 10).map(c => c.id), ['a0000000000000000003', 'a0000000000000000002', 'a0000000000000000001'], 'newest first')
  assert.deepEqual(repo.list({ state: 'rejected' }, 10).map(c => c.reason), ['price'])
  assert.deepEqual(repo.list({ limit: 1 }, 10).length, 1)
  assert.deepEqual(repo.pending().map(c => c.id), ['a0000000000000000001'])
  assert.equal(repo.countPending(), 1)
  assert.deepEqual(repo.due(60, 10).map(c => c.id), ['a0000000000000000002'], 'finished contracts never come due')
  assert.equal(repo.nextExpiry(), 50)
  const shown = publicContract(repo.get('a0000000000000000001') as ContractRecord)
  assert.equal('signed' in shown || 'holdId' in shown || 'requestId' in shown, false, 'what only this side keeps stays here')
  db.close()
})

test('new contract, request and need ids never start with "-" (a command line would read one as an option) and are what the wire accepts', async () => {
  const { newMarketId } = await import('../../../src/market/constants.ts')
  const { marketIdSchema } = await import('../../../src/market/protocol/schema.ts')
  for (let i = 0; i < 5000; i++) {
    const id = newMarketId()
    assert.ok(!id.startsWith('-'), id)
    assert.ok(marketIdSchema.safeParse(id).success, id)
  }
})
