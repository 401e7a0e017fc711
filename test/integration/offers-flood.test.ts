/**
 * One peer floods /agora/offers/1 with its own (validly signed) offers at
 * an ever higher Lamport, straight through gossipsub (no app-side cap):
 * the victim rate-limits it per origin, counts every refused message
 * against it, stops looking at it once it is banned, and keeps serving
 * others all along (how quickly: bench/offers.bench.ts, part flood).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope, signEnvelope } from '../../src/identity/index.ts'
import { offerFor } from '../unit/offers/fixtures.ts'
import { OFFERS_TOPIC } from '../../src/p2p/index.ts'
import { OfferSwarm, type OfferNode } from '../harness/offer-nodes.ts'
import { waitFor } from '../harness/wait.ts'

const FLOOD = 1000
const BAN_AFTER = 150

async function rejected (node: OfferNode, reason: string): Promise<number> {
  const metric = node.metrics.getSingleMetric('agora_offers_rejected_total')
  return (await metric?.get())?.values.find(v => v.labels.reason === reason)?.value ?? 0
}

describe('offers: a flood from one peer', () => {
  const swarm = new OfferSwarm()
  let victim: OfferNode, flooder: OfferNode, honest: OfferNode

  before(async () => {
    // no DHT: it would connect the flooder and the honest node directly; the test needs a line flooder — victim — honest
    const network = { dht: { enabled: false } }
    ;[victim] = await swarm.add(1, { network, offers: { perOriginPerMinute: 60 } }) as [OfferNode]
    ;[flooder, honest] = await swarm.add(2, { network }) as [OfferNode, OfferNode]
    await swarm.connect(flooder, victim)
    await swarm.connect(honest, victim)
    await swarm.topicReady([flooder, honest], 1)
    await waitFor('the victim to hold the three offers', () => victim.offers.list().length === 3)
    victim.feedback.banAfter = BAN_AFTER
  })
  after(async () => { await swarm.stop() })

  test('an offer claiming another node\'s id is rejected (E803), counted against the sender, and not forwarded', async () => {
    const forged = offerFor(honest.peerId, { lamport: 1_000, expiresAt: Date.now() + 20_000 })
    await flooder.libp2p.services.pubsub.publish(OFFERS_TOPIC, encodeEnvelope(signEnvelope(flooder.identity, { kind: 'OFFER', payload: forged })))
    await waitFor('the victim to reject it', async () => (await rejected(victim, 'sender')) === 1)
    assert.equal(victim.feedback.invalid.get(flooder.peerId), 1)
    assert.notEqual(victim.offers.get(honest.peerId)?.lamport, 1_000)
    // a message the victim let through would be at the honest node by now; the honest node never saw it
    const probe = await flooder.offers.announce()
    await waitFor('a valid offer from the same sender to cross the victim', () => honest.offers.get(flooder.peerId)?.lamport === probe.lamport)
    assert.equal(await rejected(honest, 'sender'), 0)
  })

  test('rate-limited and counted against the flooder; the victim keeps serving others', async () => {
    const pubsub = flooder.libp2p.services.pubsub
    const start = flooder.offers.local()?.lamport ?? 1
    let accepted = 0
    const onUpdate = (event: { node: string, lamport: number }): void => { if (event.node === flooder.peerId && event.lamport > start) accepted++ }
    victim.events.on('offer:updated', onUpdate)
    const started = performance.now()
    const flood = (async () => {
      for (let i = 1; i <= FLOOD; i++) {
        const payload = offerFor(flooder.peerId, { id: flooder.offers.stats().offerId, lamport: start + i, expiresAt: Date.now() + 20_000 })
        await pubsub.publish(OFFERS_TOPIC, encodeEnvelope(signEnvelope(flooder.identity, { kind: 'OFFER', payload })))
        // one process: let the event loop breathe, or the flooder's own CPU is what we measure
        await new Promise(resolve => setImmediate(resolve))
      }
    })()

    // while flooded, the victim answers another peer and takes its news (how fast: bench/offers.bench.ts, part flood;
    // the timeouts here are hang guards)
    const info = await honest.info.request(victim.peerId, { signal: AbortSignal.timeout(20_000) })
    assert.equal(info.peerId, victim.peerId)
    const news = await honest.offers.announce()
    await waitFor('the honest update at the victim', () => (victim.offers.get(honest.peerId)?.lamport ?? 0) >= news.lamport, { timeoutMs: 20_000, intervalMs: 5 })
    const sync = await honest.offers.syncWith(victim.peerId)
    assert.equal(sync.outcome, 'ok')

    await flood
    await waitFor('the flood to be processed', async () => (await rejected(victim, 'rate-limited')) + (await rejected(victim, 'banned')) >= FLOOD - 20, { timeoutMs: 20_000 })
    victim.events.off('offer:updated', onUpdate)
    // a burst (ten seconds' worth of 60/min) got through, then one a second while the flood lasted; the rest was refused
    const seconds = (performance.now() - started) / 1000
    assert.ok(accepted >= 1 && accepted <= 10 + Math.ceil(seconds) + 1, `${accepted} of the flooder's offers accepted in ${seconds.toFixed(1)} s`)
    assert.ok((victim.offers.get(flooder.peerId)?.lamport ?? 0) > start)
    assert.ok(await rejected(victim, 'rate-limited') >= BAN_AFTER - 12)
    // counted against the flooder until banned, then not even looked at
    assert.equal(victim.feedback.invalid.get(flooder.peerId), BAN_AFTER)
    assert.ok(victim.feedback.isBanned(flooder.peerId))
    assert.ok(await rejected(victim, 'banned') > 0)
    assert.equal(victim.feedback.invalid.get(honest.peerId) ?? 0, 0, 'the honest peer is not blamed')
  })
})
