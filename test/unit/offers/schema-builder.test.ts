import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { buildLocalOffer, hasSomethingToOffer, offerPrice, offerSchema, withdrawSchema } from '../../../src/offers/index.ts'
import { identities, NOW, offerFor, snapshot, TTL } from './fixtures.ts'
import type { NodeIdentity } from '../../../src/identity/index.ts'

let node: NodeIdentity

before(async () => { [node] = await identities(1) as [NodeIdentity] })

const prices = { perTask: 1, per1kPromptTokens: 0.25, per1kCompletionTokens: 3 }
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
      { ...good, prices: { ...good.prices, perTask: -1 } }
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
    assert.equal(offerPrice(offer), offer.prices.perTask)
    assert.equal(offerPrice(offer, 'chat-model'), offer.prices.per1kCompletionTokens)
    assert.equal(offerPrice(offer, 'embed-model'), offer.prices.per1kPromptTokens)
    assert.equal(offerPrice(offer, 'missing'), undefined)
  })
})

describe('offers: the local offer builder', () => {
  test('built from the registry snapshot and the config', () => {
    const offer = buildLocalOffer(snapshot(), { ...base, node: node.peerIdString, name: 'box-1' })
    assert.deepEqual(offer.models, snapshot().models)
    assert.deepEqual(offer.taskTypes, ['chat', 'embed'])
    assert.deepEqual(offer.tags, ['gpu'])
    assert.deepEqual(offer.capacity, { slotsTotal: 4, slotsIdle: 3 })
    assert.deepEqual(offer.prices, { ...prices, currency: 'credits' })
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
