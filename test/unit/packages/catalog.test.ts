/**
 * PackageCatalog.accept and its gossip validator over a real SQLite
 * catalogue: owner rotation with real keys, history arriving out of order,
 * immutable versions, the per-publisher gossip limit, banned senders, and
 * what is counted against whom. Gossip and reqresp are in-test stand-ins
 * that capture the validator (the three-node run is
 * test/integration/packages-catalog.test.ts).
 */
import { test, describe, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope, generateIdentity, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { AgoraEvents } from '../../../src/events.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { createRegistry, type Registry } from '../../../src/observability/metrics.ts'
import { PackageCatalog, type PackageCatalogComponents } from '../../../src/packages/catalog.ts'
import type { Manifest } from '../../../src/packages/manifest.ts'
import { signPackage } from '../../../src/packages/package-envelope.ts'
import { PackageRepository } from '../../../src/packages/repository.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import type { GossipValidator } from '../../../src/p2p/index.ts'
import { isCode } from '../../harness/checks.ts'

const FILE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'

function manifestOf (publisher: string, version: string, over: Partial<Manifest> = {}): Manifest {
  return {
    v: 1, name: 'acme/tool', version, kind: 'tool', description: 'a tool', license: 'MIT', tags: [], created: 1_760_000_000_000, publisher,
    files: [{ path: 'tool.json', cid: FILE_CID, size: 3, sha256: 'd'.repeat(64), mediaType: 'application/json' }], dependencies: {}, ...over
  }
}

class Feedback {
  readonly invalid: string[] = []
  readonly banned = new Set<string>()
  record (peer: string, outcome: 'invalid' | 'success'): void { if (outcome === 'invalid') this.invalid.push(peer) }
  isBanned (peer: string): boolean { return this.banned.has(peer) }
}

async function refused (metrics: Registry, reason: string): Promise<number> {
  const metric = metrics.getSingleMetric('agora_packages_refused_total')
  return metric === undefined ? 0 : (await metric.get()).values.filter(v => v.labels.reason === reason).reduce((s, v) => s + v.value, 0)
}

describe('package catalogue: accept', () => {
  let alice: NodeIdentity
  let alice2: NodeIdentity
  let mallory: NodeIdentity
  let store: Store
  let repo: PackageRepository
  let catalog: PackageCatalog
  let feedback: Feedback
  let metrics: Registry
  let validator: GossipValidator | undefined
  const announced: string[] = []

  const sign = async (who: NodeIdentity, version: string, over: Partial<Manifest> = {}): Promise<{ envelope: Envelope, cid: string }> => {
    const signed = await signPackage(who, manifestOf(who.peerIdString, version, over))
    return { envelope: signed.envelope, cid: signed.cid.toString() }
  }
  const gossip = async (envelope: Envelope, from = 'peer-x'): Promise<string> =>
    await (validator as GossipValidator)({ topic: '/agora/packages/1', data: encodeEnvelope(envelope), from, propagationSource: from })

  beforeEach(async () => {
    [alice, alice2, mallory] = await Promise.all([generateIdentity(), generateIdentity(), generateIdentity()])
    store = openStore(':memory:')
    repo = new PackageRepository(store.db.sqlite)
    feedback = new Feedback()
    metrics = createRegistry({ defaultMetrics: false })
    const events = new AgoraEvents()
    announced.length = 0
    events.on('package:announced', e => { announced.push(`${e.version}<${e.from}`) })
    const components: PackageCatalogComponents = {
      repository: repo,
      gossip: { publish: async () => ({ recipients: 0 }), subscribe: () => () => {}, validate: (_topic: string, fn: GossipValidator) => { validator = fn; return () => {} } },
      reqresp: { handle: async () => {}, unhandle: async () => {}, request: async () => { throw new Error('no peers here') } },
      libp2p: { addEventListener: () => {}, removeEventListener: () => {}, getPeers: () => [] },
      peerFeedback: feedback,
      events,
      logger: silentLogger(),
      metrics
    } as unknown as PackageCatalogComponents
    catalog = new PackageCatalog(components, { maxManifestBytes: 256 * 1024, announcePerPublisherPerMinute: 6 })
    await catalog.start()
  })
  afterEach(async () => {
    await catalog.stop()
    store.close()
  })

  test('owner rotation with real keys: the old key is refused after it, the new one accepted', async () => {
    const v1 = await sign(alice, '1.0.0')
    await catalog.accept(v1.envelope, 'local')
    const v11 = await sign(alice, '1.1.0', { previous: v1.cid, owners: [alice2.peerIdString] })
    await catalog.accept(v11.envelope, 'peer-b')
    assert.deepEqual(repo.owners('acme/tool'), [alice2.peerIdString])
    const late = await sign(alice, '1.2.0', { previous: v11.cid })
    await assert.rejects(catalog.accept(late.envelope, 'peer-b'), isCode('E1410'))
    const v12 = await sign(alice2, '1.2.0', { previous: v11.cid })
    await catalog.accept(v12.envelope, 'peer-b')
    assert.equal(repo.resolve('acme/tool')?.manifest.publisher, alice2.peerIdString)
    assert.deepEqual(announced, ['1.0.0<local', '1.1.0<peer-b', '1.2.0<peer-b'])
    assert.deepEqual(repo.providers(v12.cid), [alice2.peerIdString], 'the publisher, not the forwarder')
  })

  test('history out of order: a later version waits (E1415) and is taken once its previous arrives', async () => {
    const v1 = await sign(alice, '1.0.0', { owners: [alice.peerIdString, alice2.peerIdString] })
    const v2 = await sign(alice2, '2.0.0', { previous: v1.cid })
    await assert.rejects(catalog.accept(v2.envelope, 'peer-b'), isCode('E1415'))
    assert.equal(repo.owners('acme/tool').length, 0, 'the later version did not claim the name')
    await catalog.accept(v1.envelope, 'peer-b')
    await catalog.accept(v2.envelope, 'peer-b')
    assert.deepEqual(repo.versions('acme/tool').map(p => p.manifest.version), ['2.0.0', '1.0.0'])
    assert.deepEqual(feedback.invalid, [], 'ordering refusals are nobody\'s fault')
  })

  test('a version is immutable (E1411); the same envelope again is a duplicate', async () => {
    const v1 = await sign(alice, '1.0.0')
    await catalog.accept(v1.envelope, 'local')
    const rewrite = await sign(alice, '1.0.0', { description: 'changed' })
    await assert.rejects(catalog.accept(rewrite.envelope, 'peer-b'), isCode('E1411'))
    assert.equal((await catalog.accept(v1.envelope, 'peer-c')).cid, v1.cid)
    assert.equal(catalog.size, 1)
    assert.equal(await refused(metrics, 'version-taken'), 1)
  })

  test('gossip: new is accepted, a copy ignored, a forgery rejected and counted against the sender, a name claim ignored', async () => {
    const v1 = await sign(alice, '1.0.0')
    assert.equal(await gossip(v1.envelope), 'accept')
    assert.equal(await gossip(v1.envelope), 'ignore')
    const steal = await sign(mallory, '9.0.0')
    assert.equal(await gossip(steal.envelope, 'peer-m'), 'ignore')
    const forged = { ...steal.envelope, from: alice.peerIdString }
    assert.equal(await gossip(forged, 'peer-m'), 'reject')
    assert.equal(await (validator as GossipValidator)({ topic: '/agora/packages/1', data: new TextEncoder().encode('{not json'), from: 'peer-m', propagationSource: 'peer-m' }), 'reject')
    assert.deepEqual(feedback.invalid, ['peer-m', 'peer-m'])
    assert.equal(await refused(metrics, 'name-claimed'), 1)
    assert.equal(await refused(metrics, 'signature'), 1)
    assert.equal(await refused(metrics, 'malformed'), 1)
  })

  test('gossip: past packages.announcePerPublisherPerMinute a publisher\'s packages are dropped (E1412) and counted; sync is not limited', async () => {
    const verdicts: string[] = []
    let previous: string | undefined
    for (let i = 0; i < 8; i++) {
      const next = await sign(alice, `1.0.${i}`, previous === undefined ? {} : { previous })
      const verdict = await gossip(next.envelope)
      verdicts.push(verdict)
      if (verdict === 'accept') previous = next.cid
    }
    // burst: at least five (ten seconds' worth of 6 per minute is one)
    assert.deepEqual(verdicts, ['accept', 'accept', 'accept', 'accept', 'accept', 'ignore', 'ignore', 'ignore'])
    assert.equal(await refused(metrics, 'rate-limited'), 3)
    assert.ok(feedback.invalid.includes(alice.peerIdString), 'counted against the publisher')
    const more = await sign(alice, '1.0.5', { previous })
    await catalog.accept(more.envelope, 'peer-b')
  })

  test('a banned peer\'s envelopes are refused before any work (E1414)', async () => {
    feedback.banned.add('peer-banned')
    const v1 = await sign(alice, '1.0.0')
    await assert.rejects(catalog.accept(v1.envelope, 'peer-banned'), isCode('E1414'))
    assert.equal(await gossip(v1.envelope, 'peer-banned'), 'ignore')
    assert.equal(catalog.size, 0)
  })

  test('bounds: a peer hands over at most catalogBytesPerPeerPerHour of new manifests (E1416), and past catalogMaxBytes nothing more is taken from peers (E1417); neither blames the peer nor limits this node', async () => {
    const signed = await Promise.all(['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'].map(async (v, i) => await signPackage(alice, manifestOf(alice.peerIdString, v, { name: `acme/tool-${i}` }))))
    const size = Math.max(...signed.map(s => s.bytes.byteLength))
    const bounded = (init: { catalogMaxBytes?: number, catalogBytesPerPeerPerHour?: number }): { catalog: PackageCatalog, repo: PackageRepository, close: () => void } => {
      const own = openStore(':memory:')
      const ownRepo = new PackageRepository(own.db.sqlite)
      const components = {
        repository: ownRepo,
        gossip: { publish: async () => ({ recipients: 0 }), subscribe: () => () => {}, validate: () => () => {} },
        reqresp: { handle: async () => {}, unhandle: async () => {}, request: async () => { throw new Error('no peers here') } },
        libp2p: { addEventListener: () => {}, removeEventListener: () => {}, getPeers: () => [] },
        peerFeedback: feedback,
        events: new AgoraEvents(),
        logger: silentLogger()
      } as unknown as PackageCatalogComponents
      return { catalog: new PackageCatalog(components, { maxManifestBytes: 256 * 1024, announcePerPublisherPerMinute: 600, ...init }), repo: ownRepo, close: () => { own.close() } }
    }
    const [s0, s1, s2, s3, s4] = signed.map(s => s.envelope) as [Envelope, Envelope, Envelope, Envelope, Envelope]

    const budget = bounded({ catalogBytesPerPeerPerHour: 2 * size })
    try {
      await budget.catalog.accept(s0, 'peer-a')
      await budget.catalog.accept(s1, 'peer-a')
      await assert.rejects(budget.catalog.accept(s2, 'peer-a'), isCode('E1416'))
      await budget.catalog.accept(s2, 'peer-b')
      await budget.catalog.accept(s3, 'local')
      assert.equal(budget.repo.count(), 4)
    } finally { budget.close() }

    const cap = bounded({ catalogMaxBytes: 2 * size })
    try {
      await cap.catalog.accept(s0, 'peer-a')
      await cap.catalog.accept(s1, 'peer-b')
      await assert.rejects(cap.catalog.accept(s2, 'peer-c'), isCode('E1417'))
      await cap.catalog.accept(s4, 'local')
      assert.equal(cap.repo.count(), 3)
    } finally { cap.close() }
    assert.deepEqual(feedback.invalid, [], 'a budget or a full catalogue is nobody\'s fault')
  })
})
