/**
 * The wallet and market routes through `inject`, against a stub market that
 * records its calls: amounts leave as six-decimal strings and arrive as
 * micro-credits, bad bodies are refused naming the field, the market's own
 * errors keep their codes, and a node without a market answers 503 E1140.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { buildApiServer, type ControlPlane } from '../../../src/api/index.ts'
import { AgoraError } from '../../../src/errors.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { Contract, MarketApi, Need, PeerBalance, Wallet } from '../../../src/market/types.ts'

const TOKEN = 'test-token-0123456789abcdef0123456789abcdef'
const headers = { authorization: `Bearer ${TOKEN}`, host: '127.0.0.1' }
const PEER = '12D3KooWGRUVZPFK7bHNnRSZyLYs8Y2JnDbxDgxLZKdnzqkNaxSr'

const balance: PeerBalance = { peer: PEER, receivable: 2_500_000, payable: 1, net: 2_499_999, limit: 100_000_000, limitSource: 'default', unpaid: 0, unproven: 1, voided: 3, voidedByUs: 0 }
const wallet: Wallet = { balance: 1_002_499_999, available: 992_499_999, held: 10_000_000, earned: 2_500_000, spent: 1, grant: 1_000_000_000, peers: [balance] }
const contract: Contract = {
  id: 'c-1', role: 'buyer', buyer: 'me', seller: PEER, offerId: 'o-1', what: 'text.embed', quantity: 4, unitPrice: 250_000, maxTotal: 1_000_000,
  captured: 0, expiresAt: 5, state: 'accepted', reason: null, createdAt: 1, updatedAt: 2
}

function stubMarket (): MarketApi & { calls: unknown[] } {
  const calls: unknown[] = []
  const unused = (): never => { throw new Error('not used by the API') }
  return {
    calls,
    wallet: () => wallet,
    history: query => { calls.push(['history', query]); return [{ postingId: 7, at: 9, kind: 'hold', account: 'available', amount: -10_000_000, balance: 992_499_999, ref: 'c-1', peer: null }] },
    setLimit: (peer, limit) => { calls.push(['setLimit', peer, limit]); return { ...balance, limit: limit ?? 100_000_000, limitSource: limit === null ? 'default' : 'peer' } },
    contracts: query => { calls.push(['contracts', query]); return [contract] },
    contract: id => {
      if (id !== 'c-1') throw new AgoraError('E1110', `no contract '${id}'`)
      return contract
    },
    request: async request => {
      calls.push(['request', request])
      if (request.maxUnitPrice < 100) throw new AgoraError('E1114', 'the seller refused the request', { details: { reason: 'price' } })
      return contract
    },
    pending: () => [],
    accept: async () => contract,
    reject: async (id, reason) => { calls.push(['reject', id, reason]); return { ...contract, state: 'rejected', reason: reason ?? 'declined' } },
    cancel: async () => ({ ...contract, state: 'cancelled' }),
    reconcile: async peer => ({ local: { peer, receivable: 1, payable: 2, sent: { nonce: 3, cumulative: 2 }, received: { nonce: 1, cumulative: 1 }, voided: { sent: 0, received: 3 } }, remote: { peer: 'me', receivable: 2, payable: 1, sent: { nonce: 1, cumulative: 1 }, received: { nonce: 3, cumulative: 2 }, voided: { sent: 3, received: 0 } }, differences: [] }),
    hold: unused,
    contractFor: unused,
    capture: unused,
    setAside: unused,
    captured: unused,
    release: unused,
    durable: async () => {},
    voidPart: unused,
    admit: unused,
    issue: unused,
    need: async input => { calls.push(['need', input]); return { ...need, taskType: input.taskType, quantity: input.quantity, budget: input.budget, deadline: input.deadline, decideMode: input.decide ?? 'auto' } },
    needs: query => { calls.push(['needs', query]); return [need] },
    needView: id => {
      if (id !== 'n-1') throw new AgoraError('E1130', `no need ${id}`)
      return { need, proposals: [{ needId: 'n-1', seller: PEER, offerId: 'o-1', unitPrice: 250_000, etaMs: 1000, capacity: 2, lamport: 1, state: 'open', reason: null, receivedAt: 3, score: 0.81234 }] }
    },
    decideNeed: async (id, seller) => {
      calls.push(['decideNeed', id, seller])
      throw new AgoraError('E1134', `need ${id} could not be decided: no seller proposed`)
    },
    cancelNeed: id => ({ ...need, id, state: 'cancelled' }),
    auction: unused
  }
}

const need: Need = {
  id: 'n-1', thread: `${PEER}/need/n-1`, taskType: 'text.embed', quantity: 4, budget: 2_000_000, deadline: 9, decideMode: 'auto',
  state: 'open', epoch: 0, seller: null, contractId: null, reason: null, createdAt: 1, updatedAt: 1
}

async function server (market?: MarketApi): Promise<FastifyInstance> {
  return await buildApiServer({ control: {} as unknown as ControlPlane, events: new AgoraEvents(), metrics: createRegistry({ defaultMetrics: false }), logger: silentLogger(), ...(market === undefined ? {} : { market }) }, { token: TOKEN })
}

describe('wallet and market routes', () => {
  let app: FastifyInstance
  let market: ReturnType<typeof stubMarket>
  before(async () => {
    market = stubMarket()
    app = await server(market)
  })
  after(async () => { await app.close() })

  test('the wallet in credits with six decimals; the peers\' balances and limits', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/wallet', headers })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), {
      balance: '1002.499999', available: '992.499999', held: '10.000000', earned: '2.500000', spent: '0.000001', grant: '1000.000000',
      peers: [{ peer: PEER, receivable: '2.500000', payable: '0.000001', net: '2.499999', limit: '100.000000', limitSource: 'default', unpaid: '0.000000', unproven: '0.000001', voided: '0.000003', voidedByUs: '0.000000' }]
    })
    const limits = await app.inject({ method: 'GET', url: '/api/v1/market/limits', headers })
    assert.equal(limits.json()[0].limit, '100.000000')
  })

  test('history: the query is checked and passed on; entries in credits', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/wallet/history?limit=5&account=available', headers })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json()[0], { postingId: 7, at: 9, kind: 'hold', account: 'available', amount: '-10.000000', balance: '992.499999', ref: 'c-1', peer: null })
    assert.deepEqual(market.calls.at(-1), ['history', { limit: 5, account: 'available' }])
    const bad = await app.inject({ method: 'GET', url: '/api/v1/wallet/history?limit=0', headers })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.message, 'invalid query.limit')
  })

  test('a direct request: credits in, micro-credits to the market; the seller\'s refusal keeps its code and reason', async () => {
    const ok = await app.inject({ method: 'POST', url: '/api/v1/market/requests', headers, payload: { offerId: 'o-1', quantity: 4, maxUnitPrice: '0.25', expiresInMs: 60_000 } })
    assert.equal(ok.statusCode, 200, ok.body)
    assert.equal(ok.json().unitPrice, '0.250000')
    const sent = (market.calls.at(-1) as [string, { maxUnitPrice: number, expiresAt: number }])[1]
    assert.equal(sent.maxUnitPrice, 250_000)
    assert.ok(Math.abs(sent.expiresAt - (Date.now() + 60_000)) < 5000)
    const refused = await app.inject({ method: 'POST', url: '/api/v1/market/requests', headers, payload: { offerId: 'o-1', quantity: 1, maxUnitPrice: 0.00005 } })
    assert.equal(refused.statusCode, 409)
    assert.equal(refused.json().error.code, 'E1114')
    assert.deepEqual(refused.json().error.details, { reason: 'price' })
  })

  test('bad amounts and bodies are refused naming the field: negative, seven decimals, not a number, past the safe range', async () => {
    for (const [maxUnitPrice, why] of [['-1', /negative/], ['0.0000001', /7 decimals/], ['lots', /not a decimal/], ['9007199255', /past the largest amount/]] as const) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/market/requests', headers, payload: { offerId: 'o-1', quantity: 1, maxUnitPrice } })
      assert.equal(res.statusCode, 400)
      assert.deepEqual([res.json().error.code, res.json().error.message], ['E1100', 'invalid body.maxUnitPrice'])
      assert.match(res.json().error.why, why)
    }
    const zero = await app.inject({ method: 'POST', url: '/api/v1/market/requests', headers, payload: { offerId: 'o-1', quantity: 0, maxUnitPrice: 1 } })
    assert.equal(zero.json().error.message, 'invalid body.quantity')
    const extra = await app.inject({ method: 'POST', url: '/api/v1/market/requests', headers, payload: { offerId: 'o-1', quantity: 1, maxUnitPrice: 1, price: 2 } })
    assert.equal(extra.statusCode, 400)
  })

  test('limits: set in credits, back to the default with null; a bad peer id is refused', async () => {
    const set = await app.inject({ method: 'PUT', url: `/api/v1/market/limits/${PEER}`, headers, payload: { limit: '250' } })
    assert.equal(set.statusCode, 200, set.body)
    assert.deepEqual([set.json().limit, set.json().limitSource], ['250.000000', 'peer'])
    assert.deepEqual(market.calls.at(-1), ['setLimit', PEER, 250_000_000])
    const reset = await app.inject({ method: 'PUT', url: `/api/v1/market/limits/${PEER}`, headers, payload: { limit: null } })
    assert.equal(reset.json().limitSource, 'default')
    const bad = await app.inject({ method: 'PUT', url: '/api/v1/market/limits/not-a-peer', headers, payload: { limit: 1 } })
    assert.equal(bad.json().error.message, 'invalid path.peer')
  })

  test('contracts: filters checked, one by id, unknown is 404 E1110, reject takes a reason', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/market/contracts?state=accepted&role=buyer', headers })).json()[0].maxTotal, '1.000000')
    assert.deepEqual(market.calls.at(-1), ['contracts', { state: 'accepted', role: 'buyer' }])
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/market/contracts?state=lost', headers })).statusCode, 400)
    const missing = await app.inject({ method: 'GET', url: '/api/v1/market/contracts/c-9', headers })
    assert.deepEqual([missing.statusCode, missing.json().error.code], [404, 'E1110'])
    const rejected = await app.inject({ method: 'POST', url: '/api/v1/market/contracts/c-1/reject', headers, payload: { reason: 'capacity' } })
    assert.deepEqual([rejected.json().state, rejected.json().reason], ['rejected', 'capacity'])
    const defaulted = await app.inject({ method: 'POST', url: '/api/v1/market/contracts/c-1/reject', headers })
    assert.equal(defaulted.json().reason, 'declined')
    const badReason = await app.inject({ method: 'POST', url: '/api/v1/market/contracts/c-1/reject', headers, payload: { reason: 'bored' } })
    assert.equal(badReason.json().error.message, 'invalid body.reason')
  })

  test('reconcile shows both views in credits', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/wallet/reconcile/${PEER}`, headers })
    assert.equal(res.statusCode, 200, res.body)
    assert.deepEqual(res.json().local.sent, { nonce: 3, cumulative: '0.000002' })
    assert.deepEqual(res.json().local.voided, { sent: '0.000000', received: '0.000003' })
  })
})

describe('auction routes', () => {
  let app: FastifyInstance
  let market: ReturnType<typeof stubMarket>
  before(async () => {
    market = stubMarket()
    app = await server(market)
  })
  after(async () => { await app.close() })

  test('a need is put out with its budget in micro-credits and a deadline from now; bad bodies are 400 naming the field', async () => {
    const before = Date.now()
    const res = await app.inject({ method: 'POST', url: '/api/v1/market/needs', headers, payload: { taskType: 'text.embed', quantity: 10, budget: '2.5', deadlineInMs: 30_000 } })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().budget, '2.500000')
    const call = market.calls.at(-1) as [string, { budget: number, deadline: number, decide: string }]
    assert.equal(call[1].budget, 2_500_000)
    assert.equal(call[1].decide, 'auto')
    assert.ok(call[1].deadline >= before + 30_000 && call[1].deadline <= Date.now() + 30_000)
    for (const [payload, field] of [
      [{ taskType: 'text.embed', quantity: 0, budget: '1', deadlineInMs: 30_000 }, 'body.quantity'],
      [{ taskType: 'text.embed', quantity: 1, budget: '1.0000001', deadlineInMs: 30_000 }, 'body.budget'],
      [{ taskType: 'text.embed', quantity: 1, budget: '1', deadlineInMs: 48 * 3600_000 }, 'body.deadlineInMs']
    ] as const) {
      const bad = await app.inject({ method: 'POST', url: '/api/v1/market/needs', headers, payload })
      assert.equal(bad.statusCode, 400, field)
      assert.equal(bad.json().error.message, `invalid ${field}`)
    }
  })

  test('a need with its proposals: unit price and total in credits, the score rounded; a decision that cannot be made is 409 E1134', async () => {
    const view = await app.inject({ method: 'GET', url: '/api/v1/market/needs/n-1', headers })
    assert.equal(view.statusCode, 200, view.body)
    assert.deepEqual(view.json().proposals[0], { needId: 'n-1', seller: PEER, offerId: 'o-1', unitPrice: '0.250000', total: '1.000000', etaMs: 1000, capacity: 2, state: 'open', reason: null, score: 0.812, receivedAt: 3 })
    const missing = await app.inject({ method: 'GET', url: '/api/v1/market/needs/n-9', headers })
    assert.deepEqual([missing.statusCode, missing.json().error.code], [404, 'E1130'])
    const decided = await app.inject({ method: 'POST', url: '/api/v1/market/needs/n-1/decide', headers, payload: { seller: PEER } })
    assert.deepEqual([decided.statusCode, decided.json().error.code], [409, 'E1134'])
    assert.deepEqual(market.calls.at(-1), ['decideNeed', 'n-1', PEER])
    const badSeller = await app.inject({ method: 'POST', url: '/api/v1/market/needs/n-1/decide', headers, payload: { seller: 'me' } })
    assert.equal(badSeller.statusCode, 400)
    const cancelled = await app.inject({ method: 'POST', url: '/api/v1/market/needs/n-1/cancel', headers })
    assert.equal(cancelled.json().state, 'cancelled')
  })
})

test('a node without a market answers 503 E1140 on every market route', async () => {
  const app = await server()
  try {
    for (const url of ['/api/v1/wallet', '/api/v1/market/contracts', '/api/v1/market/pending', '/api/v1/market/needs']) {
      const res = await app.inject({ method: 'GET', url, headers })
      assert.deepEqual([res.statusCode, res.json().error.code], [503, 'E1140'], url)
    }
  } finally {
    await app.close()
  }
})
