import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { OfferTable, shortId, type OfferEntry } from '../../../src/offers/table.ts'
import { NOW, offerEntry, offerFor, TTL, withdrawEntry } from './fixtures.ts'

const A = '12D3KooWAAAA'
const B = '12D3KooWBBBB'
const C = '12D3KooWCCCC'

function recordingSink (): { puts: string[], deletes: string[], sink: { put: (e: OfferEntry) => void, delete: (o: string) => void } } {
  const puts: string[] = []
  const deletes: string[] = []
  return { puts, deletes, sink: { put: e => { puts.push(`${e.origin}@${e.lamport}`) }, delete: o => { deletes.push(o) } } }
}

describe('offers: table rules', () => {
  test('a higher Lamport replaces, an equal one is a duplicate, a lower one is stale', () => {
    const table = new OfferTable({ maxEntries: 10 })
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 5 })), NOW), 'added')
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 5, zone: 'other' })), NOW), 'duplicate')
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 4 })), NOW), 'stale')
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 6, zone: 'us' })), NOW), 'updated')
    assert.equal(table.get(A, NOW)?.zone, 'us')
    assert.equal(table.lamportOf(A, NOW), 6)
  })

  test('a WITHDRAW with Lamport ≥ the offer tombstones it; the tombstone outlives a late stale OFFER', () => {
    const table = new OfferTable({ maxEntries: 10 })
    table.apply(offerEntry(offerFor(A, { lamport: 3, expiresAt: NOW + TTL })), NOW)
    assert.equal(table.apply(withdrawEntry(A, 'offer-x', 2), NOW), 'stale')
    // equal Lamport: the withdrawal wins
    assert.equal(table.apply(withdrawEntry(A, 'offer-x', 3, NOW + 1000), NOW), 'withdrawn')
    assert.equal(table.get(A, NOW), undefined)
    assert.deepEqual(table.list({}, NOW), [])
    // kept until the withdrawn offer would have expired, not just the tombstone's own expiry
    assert.equal(table.entry(A)?.expiresAt, NOW + TTL)
    // a late copy of the old offer cannot bring it back, before or after the tombstone's own expiry
    // (the same Lamport is a copy of what the tombstone replaced: dropped quietly; a lower one is stale)
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 3 })), NOW + 5000), 'duplicate')
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 2 })), NOW + 5000), 'stale')
    assert.equal(table.get(A, NOW + 5000), undefined)
    assert.equal(table.apply(withdrawEntry(A, 'offer-x', 3), NOW), 'duplicate')
    // a newer offer does
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 4, expiresAt: NOW + 2 * TTL })), NOW), 'added')
    assert.equal(table.get(A, NOW)?.lamport, 4)
  })

  test('a tombstone for an offer never seen is stored quietly', () => {
    const table = new OfferTable({ maxEntries: 10 })
    assert.equal(table.apply(withdrawEntry(A, 'offer-x', 9), NOW), 'tombstoned')
    assert.equal(table.apply(offerEntry(offerFor(A, { lamport: 8 })), NOW), 'stale')
    assert.deepEqual(table.counts(), { offers: 0, tombstones: 1 })
  })

  test('expired entries count as absent, then are pruned (and the sink hears it)', () => {
    const { sink, deletes } = recordingSink()
    const table = new OfferTable({ maxEntries: 10, sink })
    table.apply(offerEntry(offerFor(A, { lamport: 9, expiresAt: NOW + 100 })), NOW)
    table.apply(offerEntry(offerFor(B, { expiresAt: NOW + 10_000 })), NOW)
    assert.equal(table.list({}, NOW + 100).length, 1)
    assert.equal(table.get(A, NOW + 100), undefined)
    // past its expiry even a lower Lamport is new again (its node lost its counter)
    assert.equal(table.compare(A, 'OFFER', 1, NOW + 100), 'newer')
    const removed = table.prune(NOW + 100)
    assert.deepEqual(removed.map(e => e.origin), [A])
    assert.deepEqual(deletes, [A])
    assert.equal(table.size, 1)
  })

  test('bounded: beyond maxEntries the entry expiring first goes, tombstones before offers, never our own', () => {
    const table = new OfferTable({ maxEntries: 3, self: A })
    table.apply(offerEntry(offerFor(A, { expiresAt: NOW + 10 })), NOW)
    table.apply(offerEntry(offerFor(B, { expiresAt: NOW + 500 })), NOW)
    table.apply(withdrawEntry(C, 'offer-c', 1, NOW + 9000), NOW)
    const evicted: OfferEntry[] = []
    assert.equal(table.apply(offerEntry(offerFor('12D3KooWDDDD', { expiresAt: NOW + 800 })), NOW, evicted), 'added')
    assert.deepEqual(evicted.map(e => e.origin), [C])
    table.apply(offerEntry(offerFor('12D3KooWEEEE', { expiresAt: NOW + 900 })), NOW, evicted)
    assert.deepEqual(evicted.map(e => e.origin), [C, B])
    assert.equal(table.size, 3)
    assert.ok(table.entry(A) !== undefined, 'our own offer stays')
  })

  test('list filters by model, task type, zone and price; get finds by offer id or node id', () => {
    const table = new OfferTable({ maxEntries: 10 })
    table.apply(offerEntry(offerFor(A, { id: 'offer-aaaa', zone: 'eu', prices: { perTask: '1.000000', per1kPromptTokens: '1.000000', per1kCompletionTokens: '5.000000', currency: 'credits' } })), NOW)
    table.apply(offerEntry(offerFor(B, { id: 'offer-bbbb', zone: 'us', taskTypes: ['embed'], prices: { perTask: '3.000000', per1kPromptTokens: '1.000000', per1kCompletionTokens: '1.000000', currency: 'credits' } })), NOW)
    table.apply(offerEntry(offerFor(C, { id: 'offer-cccc', models: [{ name: 'other', provider: 'x', kind: 'embedding', contextLength: 1 }] })), NOW)
    const nodes = (filter: Parameters<OfferTable['list']>[0]): string[] => table.list(filter, NOW).map(o => o.node)
    assert.deepEqual(nodes({}), [A, B, C])
    assert.deepEqual(nodes({ model: 'llama3.2:3b' }), [A, B])
    assert.deepEqual(nodes({ taskType: 'embed' }), [B])
    assert.deepEqual(nodes({ zone: 'eu' }), [A, C])
    // maxPrice in micro-credits
    assert.deepEqual(nodes({ maxPrice: 2_000_000 }), [A, C])
    assert.deepEqual(nodes({ maxPrice: 999_999 }), [], 'one micro-credit under the cheapest per-task price')
    // with a model named, maxPrice compares that model's completion price
    assert.deepEqual(nodes({ model: 'llama3.2:3b', maxPrice: 2_000_000 }), [B])
    assert.deepEqual(nodes({ model: 'nope' }), [])
    assert.equal(table.get('offer-bbbb', NOW)?.node, B)
    assert.equal(table.get(C, NOW)?.id, 'offer-cccc')
    // an update that drops a model leaves the index
    table.apply(offerEntry(offerFor(A, { id: 'offer-aaaa', lamport: 2, models: [] })), NOW)
    assert.deepEqual(nodes({ model: 'llama3.2:3b' }), [B])
  })
})

describe('offers: table hash', () => {
  test('equal tables have equal hashes, whatever the order of changes; any change moves it', () => {
    const one = new OfferTable({ maxEntries: 10 })
    const two = new OfferTable({ maxEntries: 10 })
    const empty = one.hash()
    one.apply(offerEntry(offerFor(A, { lamport: 1 })), NOW)
    one.apply(offerEntry(offerFor(B, { lamport: 4 })), NOW)
    one.apply(offerEntry(offerFor(A, { lamport: 2 })), NOW)
    two.apply(offerEntry(offerFor(B, { lamport: 4 })), NOW)
    two.apply(offerEntry(offerFor(A, { lamport: 2 })), NOW)
    assert.equal(one.hash(), two.hash())
    // a tombstone of the same Lamport is a different version
    two.apply(withdrawEntry(A, 'x', 2), NOW)
    assert.notEqual(one.hash(), two.hash())
    one.apply(withdrawEntry(A, 'x', 2), NOW)
    assert.equal(one.hash(), two.hash())
    one.prune(NOW + 10 * TTL)
    assert.equal(one.hash(), empty)
  })
})

describe('offers: table pages for anti-entropy', () => {
  const origins = Array.from({ length: 25 }, (_, i) => `12D3KooWorigin${String(i).padStart(2, '0')}`)
  const table = new OfferTable({ maxEntries: 100 })
  for (const origin of origins) table.apply(offerEntry(offerFor(origin, { lamport: 2 }), `{"o":"${origin}"}`), NOW)

  test('the digest lists every entry by short id, sorted', () => {
    const digest = table.digest(NOW)
    assert.equal(digest.length, 25)
    assert.deepEqual(digest.map(d => d[0]), [...digest.map(d => d[0])].sort())
    // version: 2 × Lamport (+ 1 for a tombstone)
    assert.ok(digest.some(([short, version]) => short === shortId(origins[0] as string) && version === 4))
  })

  test('pages walk everything the requester lacks, by count and by bytes, and skip what it holds', () => {
    const have = new Map<string, number>([[shortId(origins[3] as string), 4], [shortId(origins[4] as string), 10], [shortId(origins[5] as string), 2]])
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = table.page(have, cursor, { maxCount: 7, maxBytes: 1 << 20 }, NOW)
      assert.ok(page.envelopes.length <= 7)
      seen.push(...page.envelopes)
      cursor = page.next
      pages++
    } while (cursor !== undefined && pages < 10)
    assert.equal(seen.length, 23, 'all but the two held at the same or a higher Lamport')
    assert.equal(new Set(seen).size, 23)
    assert.equal(pages, 4)
    const small = table.page(new Map(), undefined, { maxCount: 100, maxBytes: 60 }, NOW)
    assert.ok(small.envelopes.length >= 1 && small.envelopes.length < 25 && small.next !== undefined)
  })
})
