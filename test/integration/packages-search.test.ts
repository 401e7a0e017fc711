/**
 * Package search across real libp2p nodes: A–B–C in a line (C never
 * connects to A, and C's catalogue runs no gossip or anti-entropy, so what
 * C learns comes only from searching). A package only A and B know is
 * found from C through B; a peer that never answers does not hold the
 * search past its timeout; /agora/search/1 refuses a peer over its rate
 * limit with E1421; a peer answering with a forged envelope or a malformed
 * answer is refused and counted against it.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity } from '../../src/identity/index.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { encodeManifest } from '../../src/packages/manifest.ts'
import { signPackage } from '../../src/packages/package-envelope.ts'
import { SEARCH_PROTOCOL_ID } from '../../src/packages/search-constants.ts'
import { SearchIndex } from '../../src/packages/search-index.ts'
import { askSearch, searchProtocol, SearchServer, type SearchAnswer } from '../../src/packages/search-protocol.ts'
import { ReqResp } from '../../src/protocols/index.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import { isCode } from '../harness/checks.ts'
import { connectNodes, createTestNode, type TestNode } from '../harness/libp2p-nodes.ts'
import { manifestFor } from '../harness/search-catalog.ts'
import { createSearchNodes, type SearchNode } from '../harness/search-nodes.ts'
import { stopAll, waitFor } from '../harness/wait.ts'

/** A bare node serving /agora/search/1 its own way. */
interface BareNode { node: TestNode, reqresp: ReqResp, store?: Store, server?: SearchServer }

async function bareNode (): Promise<BareNode> {
  const node = await createTestNode({ network: { dht: { enabled: false } } })
  const reqresp = new ReqResp({ libp2p: node.libp2p, logger: silentLogger() })
  return { node, reqresp }
}

describe('package search over /agora/search/1', () => {
  let swarm: { nodes: SearchNode[], stop(): Promise<void> }
  let a: SearchNode, b: SearchNode, c: SearchNode
  const bare: BareNode[] = []
  let cidA: string

  before(async () => {
    swarm = await createSearchNodes(3, i => ({ catalog: i < 2 }))
    ;[a, b, c] = swarm.nodes as [SearchNode, SearchNode, SearchNode]
    // published before A meets B: B learns it by anti-entropy when they connect
    cidA = await a.publish({ name: 'acme/summarize-prompts', version: '1.2.0', description: 'Summarise a text in three lines', tags: ['summarize', 'en'] })
    await connectNodes(a.node, b.node)
    await waitFor('B to learn A\'s package', () => b.repository.has(cidA))
    await connectNodes(c.node, b.node)
  })

  after(async () => {
    await stopAll(bare, n => `bare node ${n.node.peerId.slice(-6)}`, async n => {
      await n.server?.stop()
      await n.reqresp.stop()
      await n.node.stop()
      n.store?.close()
    })
    await swarm.stop()
  })

  test('a package only A and B know is found from C through B, with its providers and size', async () => {
    assert.equal(c.node.libp2p.getConnections(a.node.libp2p.peerId).length, 0, 'C is not connected to A')
    assert.deepEqual((await c.search.search({ text: 'summarize', localOnly: true })).results, [], 'C does not know it yet')
    const found = await c.search.search({ text: 'summ', timeoutMs: 5000 })
    assert.equal(found.peersAsked, 1)
    assert.equal(found.peersAnswered, 1)
    const [hit] = found.results
    assert.ok(hit !== undefined, 'found through B')
    assert.equal(hit.cid, cidA)
    assert.equal(hit.name, 'acme/summarize-prompts')
    assert.equal(hit.version, '1.2.0')
    assert.equal(hit.publisher, a.peerId)
    assert.equal(hit.size, 5)
    assert.equal(hit.providers, 1, 'the publisher holds it')
    assert.ok(c.repository.has(cidA), 'C verified and stored the envelope')
    // the kind filter travels to the peer
    assert.deepEqual((await c.search.search({ text: 'summarize', kind: 'model' })).results, [])
  })

  test('a peer that never answers does not hold the search past its timeout', async () => {
    const silent = await bareNode()
    bare.push(silent)
    // takes the stream and never writes a byte
    await silent.node.libp2p.handle(SEARCH_PROTOCOL_ID, () => {})
    await connectNodes(c.node, silent.node)
    const timeoutMs = 800
    const started = Date.now()
    const result = await c.search.search({ text: 'summarize', timeoutMs })
    const elapsed = Date.now() - started
    assert.ok(elapsed < timeoutMs + 2000, `answered in ${elapsed} ms with a ${timeoutMs} ms timeout`)
    assert.equal(result.peersAsked, 2)
    assert.equal(result.peersAnswered, 1, 'B answered, the silent peer did not')
    assert.deepEqual(result.results.map(r => r.cid), [cidA])
  })

  test('/agora/search/1 refuses a peer over packages.searchPerPeerPerMinute with E1421', async () => {
    const limited = await bareNode()
    bare.push(limited)
    limited.store = openStore(':memory:')
    limited.server = new SearchServer({ reqresp: limited.reqresp, index: new SearchIndex({ db: limited.store.db.sqlite, reputation: () => 0.5 }, { self: limited.node.peerId }), log: silentLogger().forComponent('test') }, { perPeerPerMinute: 2 })
    await limited.server.start()
    await limited.reqresp.start()
    await connectNodes(c.node, limited.node)
    const ask = async (): Promise<SearchAnswer> => await askSearch(c.reqresp, limited.node.peerId, { text: 'anything', limit: 5 }, AbortSignal.timeout(5000))
    assert.deepEqual(await ask(), { results: [] })
    assert.deepEqual(await ask(), { results: [] })
    await assert.rejects(ask(), isCode('E1421'))
    // another peer is still served: the limit is per peer
    await connectNodes(b.node, limited.node)
    assert.deepEqual(await askSearch(b.reqresp, limited.node.peerId, { text: 'anything' }, AbortSignal.timeout(5000)), { results: [] })
  })

  test('a forged envelope or a malformed answer is refused and counted against the peer', async () => {
    const liar = await bareNode()
    bare.push(liar)
    const liarKey = await generateIdentity()
    // a correctly signed package, then its manifest swapped for another: the signature no longer covers the payload
    const { envelope } = await signPackage(liarKey, manifestFor(liarKey.peerIdString, { name: 'forged/summarize-pack', description: 'summarize everything' }))
    const swapped = await encodeManifest(manifestFor(liarKey.peerIdString, { name: 'forged/summarize-pack', description: 'summarize everything, now with malware' }))
    const forged = { ...envelope, payload: { cid: swapped.cid.toString(), manifest: Buffer.from(swapped.bytes).toString('base64url') } }
    let answer: SearchAnswer = { results: [{ envelope: JSON.stringify(forged), held: true }] }
    await liar.reqresp.handle(searchProtocol, async () => answer)
    await liar.reqresp.start()
    await connectNodes(c.node, liar.node)
    const liarId = liar.node.peerId
    assert.equal(c.peerBook.reputation(liarId), 0.5, 'a stranger to start with')

    const result = await c.search.search({ text: 'summarize', timeoutMs: 1000 })
    assert.ok(!result.results.some(r => r.name === 'forged/summarize-pack'), 'the forged package is not a result')
    assert.ok(!c.repository.has(swapped.cid.toString()), 'nor stored')
    assert.ok(result.results.some(r => r.cid === cidA), 'the honest answer still counts')
    assert.equal(result.peersAsked, 4, 'B, the silent peer, the rate-limited peer and the liar')
    assert.equal(result.peersAnswered, 1, 'only B answered well (the limited peer refused: over its limit)')
    const afterForgery = c.peerBook.reputation(liarId)
    assert.ok(afterForgery < 0.5, `reported: reputation ${afterForgery}`)

    answer = { results: [{ envelope: 'not json {', held: false }] }
    await c.search.search({ text: 'summarize', timeoutMs: 1000 })
    assert.ok(c.peerBook.reputation(liarId) < afterForgery, 'a malformed answer is reported too')

    // more results than asked is malformed
    const valid = JSON.stringify(envelope)
    answer = { results: [{ envelope: valid, held: false }, { envelope: valid, held: false }] }
    const before = c.peerBook.reputation(liarId)
    await c.search.search({ text: 'summarize', limit: 1, timeoutMs: 1000 })
    assert.ok(c.peerBook.reputation(liarId) < before, 'an answer larger than asked is reported')

    const answers = await c.metrics.getSingleMetricAsString('agora_packages_search_answers_total')
    assert.match(answers, /outcome="forged"\} 1$/m)
    assert.match(answers, /outcome="malformed"\} 2$/m)
  })
})
