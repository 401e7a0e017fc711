/**
 * Offers across real libp2p nodes on loopback (one process): gossip
 * propagation, a late joiner converging through anti-entropy alone, and a
 * partition healing into one table with withdrawals intact.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { OfferSwarm, tableOf, TestSource, type OfferNode } from '../harness/offer-nodes.ts'
import { waitFor } from '../harness/wait.ts'

async function counter (node: OfferNode, name: string): Promise<number> {
  const metric = node.metrics.getSingleMetric(name)
  if (metric === undefined) return 0
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0)
}

describe('offers: six nodes, then a late seventh', () => {
  const swarm = new OfferSwarm()
  let six: OfferNode[]

  before(async () => {
    six = await swarm.add(6, i => ({ source: new TestSource({ models: [`model-${i}`, 'shared-chat'] }) }))
    await swarm.mesh(six, 2)
    await swarm.topicReady(six, 2)
    // the offers made at start (before any peer) arrive by anti-entropy on connect
    await waitFor('every node to hold the six offers', () => six.every(n => n.offers.list().length === 6))
  })
  after(async () => { await swarm.stop() })

  test('an offer published on one node is on all the others in under 2 s', async () => {
    const origin = six[2] as OfferNode
    const started = performance.now()
    const offer = await origin.offers.announce()
    await waitFor('the new offer everywhere', () => six.every(n => n.offers.get(offer.id)?.lamport === offer.lamport), { timeoutMs: 2000, intervalMs: 5 })
    const elapsed = performance.now() - started
    assert.ok(elapsed < 2000, `${elapsed.toFixed(0)} ms`)
    // by gossip, not by a sync round: each other node accepted it from the topic
    for (const node of six) if (node !== origin) assert.ok(await counter(node, 'agora_offers_accepted_total') >= 1)
  })

  test('a capacity change on one node is re-announced and seen everywhere', async () => {
    const origin = six[4] as OfferNode
    origin.source.setSlots({ slotsTotal: 4, slotsIdle: 1 })
    await waitFor('the new capacity everywhere', () => six.every(n => n.offers.get(origin.peerId)?.capacity.slotsIdle === 1))
  })

  test('a 7th node joining late holds the full table within one anti-entropy round', async () => {
    const [late] = await swarm.add(1, { source: new TestSource({ models: ['model-late'] }) }) as [OfferNode]
    const first = six[0] as OfferNode
    const others = (node: OfferNode): string[] => tableOf(node).filter(entry => !entry.startsWith(late.peerId))
    assert.equal(others(first).length, 6)
    const started = performance.now()
    await swarm.connect(late, first)
    await waitFor('the late node to hold every offer', () => JSON.stringify(others(late)) === JSON.stringify(others(first)), { timeoutMs: 3000, intervalMs: 5 })
    const elapsed = performance.now() - started
    assert.ok(elapsed < 3000, `${elapsed.toFixed(0)} ms`)
    // pulled by sync (re-announcements are a minute apart here)
    assert.ok(await counter(late, 'agora_offers_sync_pulled_total') >= 6)
    assert.ok(await counter(late, 'agora_offers_sync_rounds_total') >= 1)
    // and its own offer reached the node it joined through, by the reverse round
    await waitFor('the late offer on its first peer', () => (six[0] as OfferNode).offers.get(late.peerId) !== undefined)
  })

  test('capability keys are on the DHT: findProviders finds the node serving a model', async () => {
    const target = six[1] as OfferNode
    const asker = six[4] as OfferNode
    const found = await waitFor('a provider record for model-1', async () => {
      const peers = await asker.offers.findProviders({ model: 'model-1' }, { signal: AbortSignal.timeout(2000) })
      return peers.includes(target.peerId) ? peers : undefined
    }, { timeoutMs: 15_000, intervalMs: 200 })
    assert.deepEqual(found, [target.peerId])
    const both = await asker.offers.findProviders({ model: 'shared-chat', taskType: 'classify' }, { signal: AbortSignal.timeout(3000) })
    assert.ok(both.length >= 1 && both.every(p => six.some(n => n.peerId === p)))
  })
})

describe('offers: a partition heals into one table', () => {
  const swarm = new OfferSwarm()
  let left: OfferNode[], right: OfferNode[], all: OfferNode[]

  before(async () => {
    all = await swarm.add(6)
    left = all.slice(0, 3)
    right = all.slice(3)
    await swarm.mesh(all, 2)
    await swarm.topicReady(all, 2)
    await waitFor('every node to hold the six offers', () => all.every(n => n.offers.list().length === 6))
  })
  after(async () => { await swarm.stop() })

  test('changes on both sides while apart; after the heal every node holds the same table, withdrawals intact', async () => {
    await swarm.partition(left, right)
    const [l0, l1] = left as [OfferNode, OfferNode, OfferNode]
    const [r0, r1] = right as [OfferNode, OfferNode, OfferNode]
    await l0.offers.withdraw()
    const l1Offer = await l1.offers.announce()
    r0.source.setSlots({ slotsTotal: 4, slotsIdle: 0 })
    await r1.offers.withdraw()
    await waitFor('r0 to re-announce its capacity', () => r0.offers.local()?.capacity.slotsIdle === 0)
    // each side saw its own changes only
    await waitFor('the left side to agree', () => left.every(n => n.offers.get(l0.peerId) === undefined && n.offers.get(l1.peerId)?.lamport === l1Offer.lamport))
    await waitFor('the right side to agree', () => right.every(n => n.offers.get(r1.peerId) === undefined && n.offers.get(r0.peerId)?.capacity.slotsIdle === 0))
    assert.ok(right.every(n => n.offers.get(l0.peerId) !== undefined), 'the right side still holds the offer withdrawn on the left')

    const started = performance.now()
    await swarm.heal(left, right)
    await waitFor('one table everywhere', () => {
      const reference = JSON.stringify(tableOf(all[0] as OfferNode))
      return all.every(n => JSON.stringify(tableOf(n)) === reference)
    }, { timeoutMs: 5000, intervalMs: 10 })
    const elapsed = performance.now() - started
    const table = tableOf(all[0] as OfferNode)
    assert.equal(table.length, 4, 'six nodes, two withdrawn')
    assert.ok(!table.some(e => e.startsWith(l0.peerId) || e.startsWith(r1.peerId)), 'withdrawn offers stay withdrawn')
    assert.ok(all.every(n => n.offers.get(r0.peerId)?.capacity.slotsIdle === 0))
    // (a node seeing a stale copy of its offer across the old cut may have spoken again since)
    assert.ok(all.every(n => (n.offers.get(l1.peerId)?.lamport ?? 0) >= l1Offer.lamport))
    assert.ok(elapsed < 2000, `converged in ${elapsed.toFixed(0)} ms (connects included)`)
    // more rounds across the old cut (each node with its peers on the other side) bring no stale copy back
    const across = (n: OfferNode): OfferNode[] => (left.includes(n) ? right : left).filter(m => n.libp2p.getConnections(m.libp2p.peerId).length > 0)
    const rounds = await Promise.all(all.flatMap(n => across(n).map(async m => await n.offers.syncWith(m.peerId))))
    assert.ok(rounds.length > 0 && rounds.every(r => r.outcome === 'ok' && r.pulled === 0))
    assert.ok(all.every(n => n.offers.get(l0.peerId) === undefined && n.offers.get(r1.peerId) === undefined))
  })
})
