/**
 * The package catalogue across three real libp2p nodes on loopback: A
 * publishes three packages, B (connected) learns them by gossip, C (joining
 * late, connected to B only) learns them by anti-entropy; a peer gossiping a
 * forged, a tampered and a name-stealing envelope is refused by every node,
 * and each refusal is counted (metric by reason, and the forgeries against
 * the peer in the peer book). Timeouts are hang guards, not speed bars.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope, signEnvelope, type Envelope } from '../../src/identity/index.ts'
import { PACKAGES_TOPIC } from '../../src/p2p/index.ts'
import { PackageCatalog } from '../../src/packages/catalog.ts'
import { encodeManifest, type Manifest } from '../../src/packages/manifest.ts'
import { signPackage } from '../../src/packages/package-envelope.ts'
import { PackageRepository } from '../../src/packages/repository.ts'
import { defaultConfig } from '../../src/config/schema.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { OfferSwarm, type OfferNode } from '../harness/offer-nodes.ts'
import { waitFor } from '../harness/wait.ts'

const FILE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

interface CatalogNode { node: OfferNode, repo: PackageRepository, catalog: PackageCatalog }

function manifestOf (publisher: string, name: string, version = '1.0.0'): Manifest {
  return {
    v: 1, name, version, kind: 'prompt', description: `the ${name} prompts`, license: 'MIT', tags: ['test'], created: Date.now(), publisher,
    files: [{ path: 'prompt.txt', cid: FILE_CID, size: 12, sha256: 'c'.repeat(64), mediaType: 'text/plain' }], dependencies: {}
  }
}

async function counter (node: OfferNode, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = node.metrics.getSingleMetric(name)
  if (metric === undefined) return 0
  return (await metric.get()).values.filter(v => Object.entries(labels).every(([k, value]) => v.labels[k] === value)).reduce((sum, v) => sum + v.value, 0)
}

async function withCatalog (node: OfferNode): Promise<CatalogNode> {
  const repo = new PackageRepository(node.store.db.sqlite)
  const catalog = new PackageCatalog({
    repository: repo, gossip: node.gossip, reqresp: node.reqresp, libp2p: node.libp2p, peerFeedback: node.feedback,
    events: node.events, logger: silentLogger(), metrics: node.metrics
  }, { ...defaultConfig().packages, syncIntervalMs: 10 * 60_000, syncMinGapMs: 200 })
  await catalog.start()
  return { node, repo, catalog }
}

describe('package catalogue: gossip, a late joiner, refusals', () => {
  const swarm = new OfferSwarm()
  const catalogs: CatalogNode[] = []
  let a: CatalogNode
  let b: CatalogNode
  let c: CatalogNode
  const published: string[] = []

  before(async () => {
    const [na, nb] = await swarm.add(2, { noOffers: true }) as [OfferNode, OfferNode]
    a = await withCatalog(na)
    b = await withCatalog(nb)
    catalogs.push(a, b)
    await swarm.connect(na, nb)
    await waitFor('A and B to follow the packages topic', () => [na, nb].every(n => n.gossip.topicPeers(PACKAGES_TOPIC).length >= 1))
  })
  after(async () => {
    await Promise.allSettled(catalogs.map(async n => { await n.catalog.stop() }))
    await swarm.stop()
  })

  test('A publishes three packages; B learns them by gossip, with A as their provider', async () => {
    const seen: string[] = []
    b.node.events.on('package:announced', e => { seen.push(`${e.name}@${e.version} from ${e.from}`) })
    for (const name of ['acme/summarize', 'acme/translate', 'acme/classify']) {
      const { envelope, cid } = await signPackage(a.node.identity, manifestOf(a.node.peerId, name))
      const stored = await a.catalog.accept(envelope, 'local')
      assert.equal(stored.cid, cid.toString())
      assert.ok(await a.catalog.announce(envelope) >= 1)
      published.push(cid.toString())
    }
    await waitFor('B to hold the three packages', () => published.every(cid => b.repo.has(cid)), { timeoutMs: 20_000 })
    assert.equal(await counter(b.node, 'agora_packages_accepted_total', { source: 'gossip' }), 3)
    assert.deepEqual(seen.sort(), ['acme/classify', 'acme/summarize', 'acme/translate'].map(n => `${n}@1.0.0 from ${a.node.peerId}`))
    for (const cid of published) assert.deepEqual(b.repo.providers(cid), [a.node.peerId])
    assert.deepEqual(b.repo.owners('acme/summarize'), [a.node.peerId])
    assert.equal(b.repo.resolve('acme/translate@^1')?.cid, published[1])
    // the same envelope again (a re-announce by another node) is a duplicate: held once, not an error
    const again = b.repo.get(published[0] as string)?.envelope as Envelope
    await b.catalog.accept(again, a.node.peerId)
    assert.equal(b.catalog.size, 3)
  })

  test('C joins late, connected to B only, and learns the catalogue by anti-entropy', async () => {
    const [nc] = await swarm.add(1, { noOffers: true }) as [OfferNode]
    c = await withCatalog(nc)
    catalogs.push(c)
    // C must learn from B: no link to A (the DHT or a peer manager could dial it otherwise)
    nc.gater.blocked.add(a.node.peerId)
    a.node.gater.blocked.add(nc.peerId)
    await swarm.connect(nc, b.node)
    await waitFor('C to hold the three packages', () => published.every(cid => c.repo.has(cid)), { timeoutMs: 30_000 })
    assert.equal(await counter(nc, 'agora_packages_sync_pulled_total'), 3)
    assert.equal(nc.libp2p.getConnections(a.node.libp2p.peerId).length, 0, 'C never spoke to A')
    // a forwarder is not a provider: the publisher is
    for (const cid of published) assert.deepEqual(c.repo.providers(cid), [a.node.peerId])
    // once equal, a round is one summary
    const round = await c.catalog.syncWith(b.node.peerId)
    assert.deepEqual({ outcome: round.outcome, pulled: round.pulled, requests: round.requests }, { outcome: 'ok', pulled: 0, requests: 1 })
  })

  test('a forged, a tampered and a name-stealing envelope from a peer are refused by every node and counted', async () => {
    const [mallory] = await swarm.add(1, { noOffers: true }) as [OfferNode]
    for (const n of [a, b, c]) await swarm.connect(mallory, n.node)
    mallory.gossip.subscribe(PACKAGES_TOPIC, () => {})
    await mallory.gossip.waitForTopicPeers(PACKAGES_TOPIC, { minPeers: 3, signal: AbortSignal.timeout(15_000) })
    const m = mallory.identity

    // name-stealing: a valid, signed manifest for A's name (first: a refusal not blamed on the sender, so gossipsub scores stay clean)
    const steal = await signPackage(m, manifestOf(m.peerIdString, 'acme/summarize', '9.9.9'))
    // tampered: bytes that do not hash to the CID they are announced under
    const real = await encodeManifest(manifestOf(m.peerIdString, 'mallory/tools'))
    const altered = await encodeManifest({ ...manifestOf(m.peerIdString, 'mallory/tools'), description: 'swapped after hashing' })
    const tampered = signEnvelope(m, { kind: 'PACKAGE', payload: { cid: real.cid.toString(), manifest: Buffer.from(altered.bytes).toString('base64url') } })
    // forged: A's signed envelope with another payload under A's name
    const own = await signPackage(m, manifestOf(m.peerIdString, 'mallory/other'))
    const original = a.repo.get(published[0] as string)?.envelope as Envelope
    const forged: Envelope = { ...original, payload: own.envelope.payload }

    const refusedAll = async (n: CatalogNode): Promise<boolean> =>
      await counter(n.node, 'agora_packages_refused_total', { reason: 'name-claimed' }) >= 1 &&
      await counter(n.node, 'agora_packages_refused_total', { reason: 'tampered' }) >= 1 &&
      await counter(n.node, 'agora_packages_refused_total', { reason: 'signature' }) >= 1
    // gossip is best effort and refused messages are not forwarded: one that missed a node is sent again (a new message id)
    let sentAt = 0
    await waitFor('every node to refuse all three', async () => {
      if ((await Promise.all([a, b, c].map(refusedAll))).every(Boolean)) return true
      if (Date.now() - sentAt >= 2000) {
        sentAt = Date.now()
        for (const envelope of [steal.envelope, tampered, forged]) await mallory.gossip.publish(PACKAGES_TOPIC, encodeEnvelope(envelope))
      }
      return false
    }, { timeoutMs: 30_000, intervalMs: 100 })

    for (const n of [a, b, c]) {
      const label = n === a ? 'A' : n === b ? 'B' : 'C'
      assert.equal(n.repo.cidOf('acme/summarize', '9.9.9'), undefined)
      assert.equal(n.repo.has(real.cid.toString()) || n.repo.has(altered.cid.toString()) || n.repo.has(own.cid.toString()), false)
      assert.deepEqual(n.repo.owners('acme/summarize'), [a.node.peerId])
      assert.equal(n.catalog.size, 3)
      // the forgeries count against the peer that sent them; the name claim does not (honest nodes may race for a name)
      assert.ok((n.node.feedback.invalid.get(mallory.peerId) ?? 0) >= 2, `${label} counted the forgeries against the sender`)
    }
  })
})
