/** OfferService with stub gossip, reqresp and libp2p: the local offer's life, persistence, ingest and sync. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../../src/errors.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import { capabilityCid } from '../../../src/offers/index.ts'
import { waitFor } from '../../harness/wait.ts'
import { fakeNode, FakeNetwork, FakeSource, type FakeNode } from './fakes.ts'
import { identities, offerFor, signedOfferRaw } from './fixtures.ts'
import type { NodeIdentity } from '../../../src/identity/index.ts'
import type { OfferEvent } from '../../../src/events.ts'

let a: NodeIdentity, b: NodeIdentity, c: NodeIdentity
const stores: Store[] = []
const running: FakeNode[] = []

/** An offer of `node` signed by `signer`, dated now, valid for a minute unless overridden. */
function fresh (signer: NodeIdentity, node: string, overrides: Parameters<typeof offerFor>[1] = {}): string {
  return signedOfferRaw(signer, offerFor(node, { expiresAt: Date.now() + 60_000, ...overrides }), Date.now())
}

function store (): Store {
  const s = openStore(':memory:')
  stores.push(s)
  return s
}

async function started (node: FakeNode): Promise<FakeNode> {
  running.push(node)
  await node.service.start()
  return node
}

function recordEvents (node: FakeNode): string[] {
  const seen: string[] = []
  for (const name of ['offer:added', 'offer:updated', 'offer:withdrawn', 'offer:expired'] as const) {
    node.events.on(name, (event: OfferEvent) => { seen.push(`${name}:${event.node === a.peerIdString ? 'a' : event.node === b.peerIdString ? 'b' : 'c'}@${event.lamport}`) })
  }
  return seen
}

before(async () => { [a, b, c] = await identities(3) as [NodeIdentity, NodeIdentity, NodeIdentity] })
after(async () => {
  for (const node of running) await node.service.stop()
  for (const s of stores) s.close()
})

describe('offers: the local offer', () => {
  test('start announces the offer built from the registry and provides its capability keys', async () => {
    const node = fakeNode(a, store())
    const events = recordEvents(node)
    await started(node)
    const local = node.service.local()
    assert.ok(local !== undefined)
    assert.equal(local.node, a.peerIdString)
    assert.deepEqual(local.models.map(m => m.name), ['fake-chat'])
    assert.equal(local.lamport, 1)
    assert.deepEqual(node.gossip.kinds(), ['OFFER'])
    assert.deepEqual(events, ['offer:added:a@1'])
    assert.deepEqual(node.service.stats().capabilityKeys, ['model:fake-chat', 'task:classify'])
    assert.ok(node.provided.includes(capabilityCid('model', 'fake-chat').toString()))
    assert.deepEqual(node.service.list().map(o => o.node), [a.peerIdString])
  })

  test('no peers to gossip to (E210) is not an error for the announcer', async () => {
    const node = fakeNode(a, store())
    node.gossip.lonely = true
    await started(node)
    assert.ok(node.service.local() !== undefined)
    assert.equal((await node.service.announce()).lamport, 2)
  })

  test('withdraw publishes a tombstone and stays withdrawn through registry changes until announce()', async () => {
    const node = await started(fakeNode(a, store()))
    const events = recordEvents(node)
    assert.deepEqual(await node.service.withdraw(), { withdrawn: true, offerId: node.service.stats().offerId })
    assert.equal(node.service.local(), undefined)
    assert.deepEqual(node.gossip.kinds(), ['OFFER', 'WITHDRAW'])
    node.registry.changed()
    await new Promise(resolve => setTimeout(resolve, 80)) // several debounce windows: nothing may be announced
    assert.deepEqual(node.gossip.kinds(), ['OFFER', 'WITHDRAW'])
    assert.deepEqual(await node.service.withdraw(), { withdrawn: false, offerId: null })
    const back = await node.service.announce()
    assert.equal(back.lamport, 3)
    assert.deepEqual(events, ['offer:withdrawn:a@2', 'offer:added:a@3'])
  })

  test('registry changes are debounced into one re-announcement with the new capacity', async () => {
    const node = await started(fakeNode(a, store()))
    for (let i = 0; i < 5; i++) {
      node.source.slots = { slotsTotal: 2, slotsIdle: i % 2 }
      node.registry.changed()
    }
    await waitFor('a re-announcement', () => node.gossip.published.length === 2)
    await new Promise(resolve => setTimeout(resolve, 60))
    assert.equal(node.gossip.published.length, 2)
    assert.deepEqual(node.service.local()?.capacity, { slotsTotal: 2, slotsIdle: 0 })
  })

  test('an explicit announce() takes in a change scheduled before it: no second offer right behind it', async () => {
    const node = await started(fakeNode(a, store()))
    node.source.slots = { slotsTotal: 2, slotsIdle: 1 }
    node.registry.changed() // scheduled, debounced
    const offer = await node.service.announce()
    assert.deepEqual(offer.capacity, { slotsTotal: 2, slotsIdle: 1 })
    const published = node.gossip.published.length
    await new Promise(resolve => setTimeout(resolve, 80)) // several debounce windows
    assert.equal(node.gossip.published.length, published, 'the scheduled change was already in the announced offer')
  })

  test('nothing to offer: announce() is E810, and a live offer is withdrawn when capacity goes', async () => {
    const source = new FakeSource('empty', { models: [], tasks: [] })
    const node = await started(fakeNode(a, store(), {}, source))
    assert.equal(node.service.local(), undefined)
    await assert.rejects(node.service.announce(), (err: unknown) => isAgoraError(err, 'E810'))
    source.tasks = ['classify']
    assert.equal((await node.service.announce()).taskTypes[0], 'classify')
    source.slots = { slotsTotal: 0, slotsIdle: 0 }
    node.registry.changed()
    await waitFor('the withdrawal', () => node.gossip.kinds().at(-1) === 'WITHDRAW')
    assert.equal(node.service.local(), undefined)
  })
})

describe('offers: persistence across restarts', () => {
  test('same offer id, higher Lamport; what the node knew is still there; stop withdraws', async () => {
    const s = store()
    const first = await started(fakeNode(a, s))
    assert.equal(await first.gossip.deliver(fresh(b, b.peerIdString), b.peerIdString), 'accept')
    const { offerId } = first.service.stats()
    await first.service.stop()
    assert.deepEqual(first.gossip.kinds(), ['OFFER', 'WITHDRAW'])
    const second = await started(fakeNode(a, s))
    assert.equal(second.service.local()?.id, offerId)
    assert.equal(second.service.local()?.lamport, 3)
    assert.deepEqual(second.service.list().map(o => o.node).sort(), [a.peerIdString, b.peerIdString].sort())
  })

  test('our own offer from an older life (higher Lamport, seen from a peer) is overtaken', async () => {
    const node = await started(fakeNode(a, store()))
    const old = fresh(a, a.peerIdString, { id: node.service.stats().offerId, lamport: 50 })
    assert.equal(await node.gossip.deliver(old, a.peerIdString, b.peerIdString), 'accept')
    await waitFor('a re-announcement above Lamport 50', () => (node.service.local()?.lamport ?? 0) > 50)
    assert.equal(node.service.local()?.node, a.peerIdString)
  })
})

describe('offers: ingest and anti-entropy through the service', () => {
  test('gossip: a valid offer is accepted, a forged one rejected and counted against the sender', async () => {
    const node = await started(fakeNode(a, store()))
    const events = recordEvents(node)
    assert.equal(await node.gossip.deliver(fresh(b, b.peerIdString), b.peerIdString, c.peerIdString), 'accept')
    assert.deepEqual(events, ['offer:added:b@1'])
    assert.equal(node.feedback.count(c.peerIdString, 'success'), 1)
    const forged = fresh(c, b.peerIdString, { lamport: 2 })
    assert.equal(await node.gossip.deliver(forged, c.peerIdString), 'reject')
    assert.equal(node.feedback.count(c.peerIdString, 'invalid'), 1)
    assert.equal(node.service.get(b.peerIdString)?.lamport, 1)
    // a banned forwarder is ignored without a look
    node.feedback.banned.add(c.peerIdString)
    assert.equal(await node.gossip.deliver(forged, c.peerIdString), 'ignore')
    assert.equal(node.feedback.count(c.peerIdString, 'invalid'), 1)
  })

  test('expired offers leave the table with an event', async () => {
    const node = await started(fakeNode(a, store()))
    const events = recordEvents(node)
    await node.gossip.deliver(fresh(b, b.peerIdString, { expiresAt: Date.now() + 150 }), b.peerIdString)
    assert.equal(node.service.list().length, 2)
    await waitFor('b to expire', () => events.includes('offer:expired:b@1'))
    assert.deepEqual(node.service.list().map(o => o.node), [a.peerIdString])
  })

  test('syncWith pulls what the peer has and we lack, tombstones included', async () => {
    const network = new FakeNetwork()
    const one = await started(fakeNode(a, store(), {}, new FakeSource(), network))
    const two = await started(fakeNode(b, store(), {}, new FakeSource(), network))
    await two.service.withdraw()
    await one.gossip.deliver(fresh(c, c.peerIdString), c.peerIdString)
    const result = await two.service.syncWith(a.peerIdString)
    assert.deepEqual(result, { pulled: 2, pages: 2, outcome: 'ok' }, 'a check, then one page')
    assert.deepEqual(two.service.list().map(o => o.node).sort(), [a.peerIdString, c.peerIdString].sort())
    assert.equal((await one.service.syncWith(b.peerIdString)).pulled, 1, 'the tombstone of b')
    assert.equal(one.service.get(b.peerIdString), undefined)
    assert.equal(one.service.stats().tombstones, 1)
    assert.equal((await one.service.syncWith(b.peerIdString)).pulled, 0)
  })

  test('news pulled by sync is passed on: the puller nudges its other peers, who pull from it', async () => {
    const network = new FakeNetwork()
    const one = await started(fakeNode(a, store(), {}, new FakeSource(), network))
    const two = await started(fakeNode(b, store(), {}, new FakeSource(), network))
    const three = await started(fakeNode(c, store(), {}, new FakeSource(), network))
    // a line: one — two — three
    two.peers.push(a.peerIdString, c.peerIdString)
    three.peers.push(b.peerIdString)
    const result = await two.service.syncWith(a.peerIdString)
    assert.equal(result.pulled, 1)
    await waitFor('three to hold one\'s offer, through two', () => three.service.get(a.peerIdString) !== undefined)
    assert.equal(one.service.get(c.peerIdString), undefined, 'nobody nudged one: two pulled from it')
  })
})
