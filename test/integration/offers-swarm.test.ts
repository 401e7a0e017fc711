/**
 * Offers across real libp2p nodes on loopback (one process): gossip
 * propagation, a late joiner converging (and a node outside the gossip mesh
 * converging through anti-entropy alone), and a partition healing into one
 * table with withdrawals intact. How fast is measured by bench/offers.bench.ts;
 * the timeouts here are hang guards, ten times what the bench sees or more.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { OFFERS_TOPIC } from '../../src/p2p/index.ts'
import { OfferSwarm, tableOf, TestSource, type OfferNode, type OfferNodeOptions } from '../harness/offer-nodes.ts'
import { waitFor } from '../harness/wait.ts'

async function counter (node: OfferNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = node.metrics.getSingleMetric(name)
  if (metric === undefined) return 0
  return (await metric.get()).values.filter(v => Object.entries(labels).every(([k, value]) => v.labels[k] === value)).reduce((sum, v) => sum + v.value, 0)
}

describe('offers: six nodes, then a late seventh', () => {
  const swarm = new OfferSwarm()
  // no periodic rounds: what arrives here comes by gossip, or by a round on identify or a nudge
  const options = (i: number): OfferNodeOptions => ({ source: new TestSource({ models: [`model-${i}`, 'shared-chat'] }), offers: { syncIntervalMs: 10 * 60_000 } })
  let six: OfferNode[]

  before(async () => {
    six = await swarm.add(6, options)
    await swarm.mesh(six, 2)
    await swarm.topicReady(six, 2)
    // the offers made at start (before any peer) arrive by anti-entropy on connect
    await waitFor('every node to hold the six offers', () => six.every(n => n.offers.list().length === 6))
  })
  after(async () => { await swarm.stop() })

  test('an offer published on one node reaches all the others by gossip', async () => {
    const origin = six[2] as OfferNode
    const others = six.filter(n => n !== origin)
    const before = await Promise.all(others.map(async n => await counter(n, 'agora_offers_accepted_total', { source: 'gossip' })))
    const offer = await origin.offers.announce()
    await waitFor('the new offer everywhere', () => six.every(n => n.offers.get(offer.id)?.lamport === offer.lamport), { timeoutMs: 20_000, intervalMs: 5 })
    // from the topic, not from a sync round: each other node accepted one more offer by gossip
    const after = await Promise.all(others.map(async n => await counter(n, 'agora_offers_accepted_total', { source: 'gossip' })))
    assert.deepEqual(after.map((count, i) => count - (before[i] as number)), others.map(() => 1))
  })

  test('a capacity change on one node is re-announced and seen everywhere', async () => {
    const origin = six[4] as OfferNode
    origin.source.setSlots({ slotsTotal: 4, slotsIdle: 1 })
    await waitFor('the new capacity everywhere', () => six.every(n => n.offers.get(origin.peerId)?.capacity.slotsIdle === 1))
  })

  test('a 7th node joining late holds the full table, and identify started a sync round', async () => {
    const [late] = await swarm.add(1, { source: new TestSource({ models: ['model-late'] }), offers: { syncIntervalMs: 10 * 60_000 } }) as [OfferNode]
    const first = six[0] as OfferNode
    const others = (node: OfferNode): string[] => tableOf(node).filter(entry => !entry.startsWith(late.peerId))
    assert.equal(others(first).length, 6)
    await swarm.connect(late, first)
    // offers gossiped in the last few heartbeats may also come by gossip (IHAVE/IWANT when the late node grafts): either way is fine
    await waitFor('the late node to hold every offer', () => JSON.stringify(others(late)) === JSON.stringify(others(first)), { timeoutMs: 30_000, intervalMs: 5 })
    // identify started a round with `first` (periodic rounds are 10 min apart here); on a loaded machine it may end after the table converged
    await waitFor('the round started on identify to end', async () => await counter(late, 'agora_offers_sync_rounds_total', { outcome: 'ok' }) >= 1, { timeoutMs: 30_000 })
    // and its own offer reached the node it joined through, by the reverse round
    await waitFor('the late offer on its first peer', () => first.offers.get(late.peerId) !== undefined, { timeoutMs: 30_000 })
  })

  test('a node outside the gossip mesh converges by anti-entropy alone', async () => {
    const [outsider] = await swarm.add(1, { source: new TestSource({ models: ['model-outside'] }), offers: { syncIntervalMs: 10 * 60_000 } }) as [OfferNode]
    // not subscribed to the offers topic: gossip can bring it nothing
    outsider.libp2p.services.pubsub.unsubscribe(OFFERS_TOPIC)
    const first = six[1] as OfferNode
    const held = (node: OfferNode): string[] => tableOf(node).filter(entry => six.some(n => entry.startsWith(n.peerId)))
    await swarm.connect(outsider, first)
    await waitFor('the outsider to hold the six offers', () => JSON.stringify(held(outsider)) === JSON.stringify(held(first)), { timeoutMs: 30_000, intervalMs: 5 })
    assert.ok(await counter(outsider, 'agora_offers_sync_pulled_total') >= 6)
    assert.equal(await counter(outsider, 'agora_offers_accepted_total', { source: 'gossip' }), 0)
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

    await swarm.heal(left, right)
    await waitFor('one table everywhere', () => {
      const reference = JSON.stringify(tableOf(all[0] as OfferNode))
      return all.every(n => JSON.stringify(tableOf(n)) === reference)
    }, { timeoutMs: 30_000, intervalMs: 10 })
    const table = tableOf(all[0] as OfferNode)
    assert.equal(table.length, 4, 'six nodes, two withdrawn')
    assert.ok(!table.some(e => e.startsWith(l0.peerId) || e.startsWith(r1.peerId)), 'withdrawn offers stay withdrawn')
    assert.ok(all.every(n => n.offers.get(r0.peerId)?.capacity.slotsIdle === 0))
    // (a node seeing a stale copy of its offer across the old cut may have spoken again since)
    assert.ok(all.every(n => (n.offers.get(l1.peerId)?.lamport ?? 0) >= l1Offer.lamport))
    // more rounds across the old cut (each node with its peers on the other side) bring no stale copy back
    const across = (n: OfferNode): OfferNode[] => (left.includes(n) ? right : left).filter(m => n.libp2p.getConnections(m.libp2p.peerId).length > 0)
    const rounds = await Promise.all(all.flatMap(n => across(n).map(async m => await n.offers.syncWith(m.peerId))))
    assert.ok(rounds.length > 0 && rounds.every(r => r.outcome === 'ok' && r.pulled === 0))
    assert.ok(all.every(n => n.offers.get(l0.peerId) === undefined && n.offers.get(r1.peerId) === undefined))
  })
})
