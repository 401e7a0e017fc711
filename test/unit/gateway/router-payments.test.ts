/**
 * The gateway pays peers per request (src/gateway/payments.ts): a hold of
 * the most a request can cost before it goes out, a capture of the price
 * the server claims when it is within the hold and the offer's prices, a
 * release whatever happens; local providers and free offers touch nothing.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { collectChat } from '../../../src/providers/index.ts'
import { estimateEmbeddingsTokens, estimatePromptTokens } from '../../../src/gateway/access/estimate.ts'
import { HOLD_MARGIN_MS } from '../../../src/gateway/payments.ts'
import { GATEWAY_DEFAULTS } from '../../../src/gateway/index.ts'
import { FakeMarket, FakeProvider, PEER_A, PEER_B, USAGE, chat, ctx, offer, setup } from './router-fakes.ts'

const MODEL = 'llama3.2:3b'
const EMBED = 'embed-1'
const NOW = 1_700_000_000_000
/** 1 credit per 1k prompt tokens, 2 per 1k completion tokens. */
const PAID = { per1kPromptTokens: 1, per1kCompletionTokens: 2 }
const PROMPT = estimatePromptTokens(chat(MODEL))
/** The most `chat(MODEL)` with max_tokens 100 can cost at PAID prices, micro-credits (rounded up per rate). */
const MAX_100 = Math.ceil(PROMPT * 1000) + 100 * 2000
/** What PAID prices make of USAGE. */
const IMPLIED = USAGE.promptTokens * 1000 + USAGE.completionTokens * 2000

function paidSetup (offers = [offer({ node: PEER_A, models: [{ name: MODEL }], ...PAID })], locals: FakeProvider[] = []): ReturnType<typeof setup> & { market: FakeMarket } {
  const market = new FakeMarket()
  const s = setup(locals, offers, { now: () => NOW, holdTokens: 50 }, market)
  return { ...s, market }
}

describe('InferenceGateway: requests served by a paid peer', () => {
  test('held at the most it can cost; the payment rides the request; captured at the server\'s price; released after done', async () => {
    const s = paidSetup()
    s.remote.claims.set(PEER_A, IMPLIED)
    const run = await s.gateway.chat({ ...chat(MODEL), max_tokens: 100 }, ctx())
    const receiptId = `infer:${run.id}#1`
    assert.deepEqual(s.market.calls[0], { op: 'hold', holdId: receiptId, amount: MAX_100, expiresAt: NOW + GATEWAY_DEFAULTS.timeouts.totalMs + HOLD_MARGIN_MS })
    assert.deepEqual(s.remote.payments, [{ receiptId, maxPrice: MAX_100 }])
    const answer = await collectChat(run.events)
    assert.deepEqual(answer.usage, USAGE)
    assert.deepEqual(s.market.ops(), [`hold ${receiptId} ${MAX_100}`, `capture ${receiptId} ${IMPLIED}`, `release ${receiptId}`])
    assert.deepEqual(s.market.calls[1], { op: 'capture', input: { holdId: receiptId, receiptId, seller: PEER_A, amount: IMPLIED } })
    assert.equal(s.metering.get(run.id)?.price, IMPLIED)
    assert.deepEqual(s.peerBook.records, [[PEER_A, 'success']])
  })

  test('without max_tokens the hold covers gateway.holdTokens completion tokens; a server that claims less is paid less', async () => {
    const s = paidSetup()
    s.remote.claims.set(PEER_A, 1000)
    const run = await s.gateway.chat(chat(MODEL), ctx())
    await collectChat(run.events)
    const receiptId = `infer:${run.id}#1`
    assert.deepEqual(s.market.ops(), [`hold ${receiptId} ${Math.ceil(PROMPT * 1000) + 50 * 2000}`, `capture ${receiptId} 1000`, `release ${receiptId}`])
    assert.equal(s.metering.get(run.id)?.price, 1000)
  })

  test('embeddings: held for the input estimate (no completion), captured and released', async () => {
    const s = paidSetup([offer({ node: PEER_A, models: [{ name: EMBED, kind: 'embedding' }], ...PAID })])
    // the fake peer reports 3 tokens per input: 6000 micro-credits for two inputs
    s.remote.claims.set(PEER_A, 6000)
    const request = { model: EMBED, input: ['a'.repeat(16), 'b'.repeat(16)] }
    const run = await s.gateway.embeddings(request, ctx())
    const receiptId = `infer:${run.id}#1`
    const most = estimateEmbeddingsTokens(request) * 1000
    assert.equal(most, 8000)
    assert.deepEqual(s.remote.payments, [{ receiptId, maxPrice: most }])
    assert.deepEqual(s.market.ops(), [`hold ${receiptId} ${most}`, `capture ${receiptId} 6000`, `release ${receiptId}`])
    assert.equal(s.metering.get(run.id)?.price, 6000)
  })

  test('a failover: the failed attempt\'s hold is released, the next attempt holds and pays under its own receipt id', async () => {
    const s = paidSetup([offer({ node: PEER_A, models: [{ name: MODEL }], ...PAID }), offer({ node: PEER_B, models: [{ name: MODEL }], ...PAID })])
    s.peerBook.reputations.set(PEER_A, 0.9)
    s.peerBook.reputations.set(PEER_B, 0.2)
    s.remote.behaviour.set(PEER_A, 'fail')
    s.remote.claims.set(PEER_B, IMPLIED)
    const run = await s.gateway.chat({ ...chat(MODEL), max_tokens: 100 }, ctx())
    assert.equal(run.server, PEER_B)
    await collectChat(run.events)
    const [first, second] = [`infer:${run.id}#1`, `infer:${run.id}#2`]
    assert.deepEqual(s.remote.payments.map(p => p?.receiptId), [first, second])
    assert.deepEqual(s.market.ops(), [`hold ${first} ${MAX_100}`, `release ${first}`, `hold ${second} ${MAX_100}`, `capture ${second} ${IMPLIED}`, `release ${second}`])
    assert.deepEqual(s.market.calls[3], { op: 'capture', input: { holdId: second, receiptId: second, seller: PEER_B, amount: IMPLIED } })
    assert.equal(s.market.available, 1_000_000_000 - IMPLIED)
  })

  test('a failure after the first token: nothing captured, the hold released, the row priced 0', async () => {
    const s = paidSetup()
    s.remote.behaviour.set(PEER_A, 'fail-mid')
    s.remote.claims.set(PEER_A, IMPLIED)
    const run = await s.gateway.chat(chat(MODEL), ctx())
    await assert.rejects(collectChat(run.events), (err: unknown) => isAgoraError(err, 'E700'))
    assert.deepEqual(s.market.ops().map(op => op.split(' ')[0]), ['hold', 'release'])
    assert.equal(s.market.available, 1_000_000_000)
    assert.deepEqual([s.metering.get(run.id)?.outcome, s.metering.get(run.id)?.price], ['error', 0])
  })

  test('the client leaving mid-answer: nothing captured, the hold released, the row priced 0', async () => {
    const s = paidSetup()
    s.remote.claims.set(PEER_A, IMPLIED)
    const run = await s.gateway.chat(chat(MODEL), ctx())
    const events = run.events[Symbol.asyncIterator]()
    assert.equal((await events.next()).done, false)
    await events.return?.()
    assert.deepEqual(s.market.ops().map(op => op.split(' ')[0]), ['hold', 'release'])
    assert.deepEqual([s.metering.get(run.id)?.outcome, s.metering.get(run.id)?.price], ['cancelled', 0])
  })

  test('a server that claims more than its offer implies for the usage, or more than the hold, is not paid and is blamed', async () => {
    const s = paidSetup()
    s.remote.claims.set(PEER_A, IMPLIED + 1)
    const greedy = await s.gateway.chat({ ...chat(MODEL), max_tokens: 100 }, ctx())
    assert.equal((await collectChat(greedy.events)).content.length > 0, true, 'the client still gets its answer')
    assert.deepEqual(s.market.ops().map(op => op.split(' ')[0]), ['hold', 'release'])
    assert.equal(s.metering.get(greedy.id)?.price, 0)
    assert.ok(s.peerBook.records.some(([peer, outcome]) => peer === PEER_A && outcome === 'invalid'))

    // within what the usage implies, but above the hold (max_tokens 1)
    const before = s.peerBook.records.length
    s.remote.claims.set(PEER_A, IMPLIED)
    const capped = await s.gateway.chat({ ...chat(MODEL), max_tokens: 1 }, ctx())
    await collectChat(capped.events)
    assert.equal(s.market.calls.filter(c => c.op === 'capture').length, 0)
    assert.ok(s.peerBook.records.slice(before).some(([peer, outcome]) => peer === PEER_A && outcome === 'invalid'))
    assert.equal(s.market.available, 1_000_000_000)
  })

  test('a wallet that cannot cover the hold moves on to the next candidate; with none left the request fails with E1101 (402)', async () => {
    const s = paidSetup([offer({ node: PEER_A, models: [{ name: MODEL }], ...PAID }), offer({ node: PEER_B, models: [{ name: MODEL }] })])
    s.peerBook.reputations.set(PEER_A, 0.9)
    s.peerBook.reputations.set(PEER_B, 0.2)
    s.market.available = 100
    const run = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(run.server, PEER_B, 'the free peer serves')
    assert.equal(run.attempts, 1, 'the peer that could not be paid was never tried')
    await collectChat(run.events)
    assert.deepEqual(s.remote.calls, [PEER_B])
    assert.deepEqual(s.remote.payments, [undefined])
    assert.deepEqual(s.market.calls, [])
    assert.ok(!s.peerBook.records.some(([peer]) => peer === PEER_A), 'no blame on the peer we could not pay')
    assert.equal(s.gateway.breakerStates().some(b => b.key.startsWith(PEER_A)), false)

    await assert.rejects(s.gateway.chat(chat(MODEL), ctx({ target: PEER_A })), (err: unknown) => {
      assert.ok(isAgoraError(err, 'E1101'), String(err))
      assert.equal(err.status, 402)
      assert.match(err.why ?? '', /available/)
      return true
    })
    assert.deepEqual(s.remote.calls, [PEER_B])
    assert.equal(s.metering.list()[0]?.errorCode, 'E1101')
  })

  test('an accepted contract with the peer pays first; its hold stays with the contract', async () => {
    const s = paidSetup()
    s.market.contract = { holdId: 'contract:c1' }
    s.market.held.set('contract:c1', 1_000_000)
    s.remote.claims.set(PEER_A, IMPLIED)
    const run = await s.gateway.chat(chat(MODEL), ctx())
    await collectChat(run.events)
    assert.deepEqual(s.market.ops(), [`capture infer:${run.id}#1 ${IMPLIED}`])
    assert.equal(s.market.calls[0]?.op === 'capture' ? s.market.calls[0].input.holdId : '', 'contract:c1')
  })

  test('local providers and free offers touch nothing', async () => {
    const s = paidSetup([offer({ node: PEER_A, models: [{ name: MODEL }] })], [new FakeProvider('ollama', [{ name: MODEL }])])
    const local = await s.gateway.chat(chat(MODEL), ctx())
    assert.equal(local.server, 'local')
    await collectChat(local.events)
    const free = await s.gateway.chat(chat(MODEL), ctx({ target: PEER_A }))
    await collectChat(free.events)
    assert.deepEqual(s.remote.payments, [undefined])
    assert.deepEqual(s.market.calls, [])
  })
})
