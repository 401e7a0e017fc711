import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { buildLocalOffer, configPrices, hasSomethingToOffer, offerPrice, offerPrices, offerSchema, withdrawSchema } from '../../../src/offers/index.ts'
import { identities, NOW, offerFor, snapshot, TTL } from './fixtures.ts'
import type { NodeIdentity } from '../../../src/identity/index.ts'

let node: NodeIdentity

before(async () => { [node] = await identities(1) as [NodeIdentity] })

/** Micro-credits: 1, 0.25 and 3 credits. */
const prices = { perTask: 1_000_000, per1kPromptTokens: 250_000, per1kCompletionTokens: 3_000_000 }
const base = { id: 'abcdefgh12345678', prices, zone: 'eu-west', trustMode: 'friends' as const, lamport: 7, expiresAt: NOW + TTL }

describe('offers: the offer schema', () => {
  test('a complete offer parses, and the type is what the schema says', () => {
    const offer = offerSchema.parse(offerFor(node.peerIdString))
    assert.equal(offer.node, node.peerIdString)
    assert.equal(offer.prices.currency, 'credits')
  })

  test('refused: idle slots above total, unknown fields, another currency, a bad node id, a zero Lamport', () => {
    const good = offerFor(node.peerIdString)
    const bad: unknown[] = [
      { ...good, capacity: { slotsTotal: 1, slotsIdle: 2 } },
      { ...good, extra: true },
      { ...good, prices: { ...good.prices, currency: 'usd' } },
      { ...good, node: 'not-a-peer-id' },
      { ...good, lamport: 0 },
      { ...good, models: Array.from({ length: 300 }, (_, i) => ({ name: `m${i}`, provider: 'p', kind: 'chat', contextLength: 1 })) },
      { ...good, prices: { ...good.prices, perTask: '-1.000000' } },
      // amounts travel as six-decimal strings only: a number, fewer or more places are refused
      { ...good, prices: { ...good.prices, perTask: 1 } },
      { ...good, prices: { ...good.prices, perTask: '1.5' } },
      { ...good, prices: { ...good.prices, perTask: '1.0000001' } },
      { ...good, prices: { ...good.prices, per1kPromptTokens: '9007199254.740992' } }
    ]
    for (const value of bad) assert.equal(offerSchema.safeParse(value).success, false, JSON.stringify(value).slice(0, 80))
  })

  test('a withdrawal is { offerId, lamport } and nothing else', () => {
    assert.ok(withdrawSchema.safeParse({ offerId: 'abcdefgh', lamport: 3 }).success)
    assert.equal(withdrawSchema.safeParse({ offerId: 'abcdefgh', lamport: 3, node: 'x' }).success, false)
  })

  test('offerPrice: per task without a model; per 1k completion tokens for a chat model, per 1k prompt tokens for an embedding model', () => {
    const offer = offerFor(node.peerIdString, {
      models: [
        { name: 'chat-model', provider: 'ollama', kind: 'chat', contextLength: 4096 },
        { name: 'embed-model', provider: 'wink', kind: 'embedding', contextLength: 512 }
      ]
    })
    assert.deepEqual(offerPrices(offer), { perTask: 1_000_000, per1kPromptTokens: 500_000, per1kCompletionTokens: 2_000_000 })
    assert.equal(offerPrice(offer), 1_000_000)
    assert.equal(offerPrice(offer, 'chat-model'), 2_000_000)
    assert.equal(offerPrice(offer, 'embed-model'), 500_000)
    assert.equal(offerPrice(offer, 'missing'), undefined)
  })
})

describe('offers: the local offer builder', () => {
  test('the config\'s prices (decimal strings or numbers, at most six decimals) become micro-credits; a bad one is E1100 naming the key', () => {
    assert.deepEqual(configPrices({ perTask: '0.000001', per1kPromptTokens: 0.25, per1kCompletionTokens: '3' }), { perTask: 1, per1kPromptTokens: 250_000, per1kCompletionTokens: 3_000_000 })
    assert.throws(() => configPrices({ perTask: '0', per1kPromptTokens: '0.0000001', per1kCompletionTokens: '0' }),
      (err: unknown) => isAgoraError(err, 'E1100') && err.what.includes('offers.prices.per1kPromptTokens'))
  })

  test('built from the registry snapshot and the config', () => {
    const offer = buildLocalOffer(snapshot(), { ...base, node: node.peerIdString, name: 'box-1' })
    assert.deepEqual(offer.models, snapshot().models)
    assert.deepEqual(offer.taskTypes, ['chat', 'embed'])
    assert.deepEqual(offer.tags, ['gpu'])
    assert.deepEqual(offer.capacity, { slotsTotal: 4, slotsIdle: 3 })
    assert.deepEqual(offer.prices, { perTask: '1.000000', per1kPromptTokens: '0.250000', per1kCompletionTokens: '3.000000', currency: 'credits' })
    assert.equal(offer.zone, 'eu-west')
    assert.equal(offer.trustMode, 'friends')
    assert.equal(offer.policyHash, '')
    assert.equal(offer.name, 'box-1')
    assert.equal(offer.lamport, 7)
    assert.equal(offer.expiresAt, NOW + TTL)
  })

  test('never claims more than the registry has: idle clamped to total, fractions floored, negatives zero', () => {
    const clamp = (capacity: { slotsTotal: number, slotsIdle: number }): unknown =>
      buildLocalOffer(snapshot({ capacity }), { ...base, node: node.peerIdString }).capacity
    assert.deepEqual(clamp({ slotsTotal: 2, slotsIdle: 9 }), { slotsTotal: 2, slotsIdle: 2 })
    assert.deepEqual(clamp({ slotsTotal: 3.9, slotsIdle: 1.5 }), { slotsTotal: 3, slotsIdle: 1 })
    assert.deepEqual(clamp({ slotsTotal: 2, slotsIdle: -4 }), { slotsTotal: 2, slotsIdle: 0 })
  })

  test('a model the schema cannot carry is left out, not invented; no name means no name field', () => {
    const offer = buildLocalOffer(snapshot({
      models: [
        { name: 'x'.repeat(400), provider: 'ollama', kind: 'chat', contextLength: 1 },
        { name: 'ok', provider: 'ollama', kind: 'chat', contextLength: 2.7 }
      ]
    }), { ...base, node: node.peerIdString, name: '' })
    assert.deepEqual(offer.models.map(m => [m.name, m.contextLength]), [['ok', 2]])
    assert.equal('name' in offer, false)
  })

  test('nothing to offer (no models and no task types, or no slot at all) is E810', () => {
    const empty = snapshot({ models: [], taskTypes: [] })
    const noSlots = snapshot({ capacity: { slotsTotal: 0, slotsIdle: 0 } })
    assert.equal(hasSomethingToOffer(empty), false)
    assert.equal(hasSomethingToOffer(noSlots), false)
    assert.equal(hasSomethingToOffer(snapshot({ models: [] })), true)
    for (const s of [empty, noSlots]) {
      assert.throws(() => buildLocalOffer(s, { ...base, node: node.peerIdString }), (err: unknown) => isAgoraError(err, 'E810'))
    }
  })
})
