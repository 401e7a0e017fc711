import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { isAgoraError } from '../../src/errors.ts'
import { Gossip, NEEDS_TOPIC, OFFERS_TOPIC, type GossipMessage } from '../../src/p2p/index.ts'
import { connectNodes, createTestNodes, waitFor, type TestNode, type TestNodes } from '../harness/libp2p-nodes.ts'

async function counterValue (node: TestNode, name: string, topic: string): Promise<number> {
  const metric = node.registry?.getSingleMetric(name)
  if (metric === undefined) return 0
  return (await metric.get()).values.find(v => v.labels.topic === topic)?.value ?? 0
}

describe('p2p: gossip with a topic allow-list and a publish rate limit', () => {
  let nodes: TestNodes
  let a: TestNode, b: TestNode, c: TestNode
  let gossipA: Gossip, gossipB: Gossip, gossipC: Gossip
  let clock = 0

  before(async () => {
    nodes = await createTestNodes(3, { metrics: true })
    ;[a, b, c] = nodes.nodes as [TestNode, TestNode, TestNode]
    // A's clock stands still so the rate-limit test is deterministic
    gossipA = new Gossip({ libp2p: a.libp2p, logger: a.logger, metrics: a.registry }, { publishPerSecond: 3, now: () => clock })
    gossipB = new Gossip({ libp2p: b.libp2p, logger: b.logger })
    gossipC = new Gossip({ libp2p: c.libp2p, logger: c.logger })
    for (const gossip of [gossipA, gossipB, gossipC]) gossip.start()
    // a line: A - B - C, so C only hears A through B
    await connectNodes(a, b)
    await connectNodes(c, b)
  })

  after(async () => {
    for (const gossip of [gossipA, gossipB, gossipC]) gossip?.stop()
    await nodes?.stop()
  })

  test('a topic outside the allow-list is refused for publish and subscribe (E209)', async () => {
    await assert.rejects(gossipA.publish('/ipfs/random/1', new Uint8Array([1])), (err: unknown) => isAgoraError(err, 'E209'))
    assert.throws(() => gossipA.subscribe('/agora/offers/2', () => {}), (err: unknown) => isAgoraError(err, 'E209'))
    assert.throws(() => gossipA.topicPeers('anything'), (err: unknown) => isAgoraError(err, 'E209'))
    assert.ok(!a.libp2p.services.pubsub.getTopics().includes('/agora/offers/2'))
  })

  test('a message on /agora/offers/1 published by A reaches C through B', async () => {
    const atC: GossipMessage[] = []
    const atB: GossipMessage[] = []
    const offC = gossipC.subscribe(OFFERS_TOPIC, message => { atC.push(message) })
    const offB = gossipB.subscribe(OFFERS_TOPIC, message => { atB.push(message) })
    try {
      assert.ok(await gossipA.waitForTopicPeers(OFFERS_TOPIC, { signal: AbortSignal.timeout(5000) }) >= 1)
      // B forwards to its mesh: C must be grafted there (a heartbeat after C subscribed), or the
      // message reaches C only later through IHAVE gossip — slow on a loaded machine
      const meshOf = b.libp2p.services.pubsub as unknown as { getMeshPeers: (topic: string) => string[] }
      await waitFor(() => meshOf.getMeshPeers(OFFERS_TOPIC).includes(c.libp2p.peerId.toString()), { what: 'C in B\'s mesh for the topic', timeoutMs: 15_000 })
      const result = await gossipA.publish(OFFERS_TOPIC, new TextEncoder().encode('offer #1'))
      assert.ok(result.recipients >= 1)
      await waitFor(() => atC.length === 1, { what: 'C to receive the offer' })
      assert.equal(new TextDecoder().decode(atC[0]?.data), 'offer #1')
      assert.equal(atC[0]?.from, a.peerId)
      assert.equal(atC[0]?.topic, OFFERS_TOPIC)
      assert.equal(atB.length, 1)
      assert.equal(await counterValue(a, 'agora_gossip_published_total', OFFERS_TOPIC), 1)
    } finally {
      offB()
      offC()
    }
  })

  test('waitForTopicPeers gives up with E204 when nobody follows the topic', async () => {
    await assert.rejects(gossipA.waitForTopicPeers(NEEDS_TOPIC, { signal: AbortSignal.timeout(100) }), (err: unknown) => isAgoraError(err, 'E204'))
  })

  test('publishing faster than publishPerSecond → E206, counted', async () => {
    const offB = gossipB.subscribe(NEEDS_TOPIC, () => {})
    try {
      await gossipA.waitForTopicPeers(NEEDS_TOPIC, { signal: AbortSignal.timeout(5000) })
      clock += 10_000 // a full bucket: 3 tokens
      for (let i = 0; i < 3; i++) await gossipA.publish(NEEDS_TOPIC, new Uint8Array([i]))
      await assert.rejects(gossipA.publish(NEEDS_TOPIC, new Uint8Array([9])), (err: unknown) => isAgoraError(err, 'E206'))
      assert.equal(await counterValue(a, 'agora_gossip_rate_limited_total', NEEDS_TOPIC), 1)
      clock += 1000 // a second later the bucket has refilled
      await gossipA.publish(NEEDS_TOPIC, new Uint8Array([10]))
    } finally {
      offB()
    }
  })

  test('peers cannot make us track topics outside the allow-list', async () => {
    // B subscribes to a foreign topic directly on gossipsub; A must ignore it
    b.libp2p.services.pubsub.subscribe('/spam/topic/1')
    b.libp2p.services.pubsub.subscribe(OFFERS_TOPIC)
    await waitFor(() => a.libp2p.services.pubsub.getSubscribers(OFFERS_TOPIC).some(p => p.equals(b.libp2p.peerId)), { what: 'A to see B on the offers topic' })
    assert.deepEqual(a.libp2p.services.pubsub.getSubscribers('/spam/topic/1'), [])
    b.libp2p.services.pubsub.unsubscribe('/spam/topic/1')
  })
})
