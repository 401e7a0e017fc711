import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { isAgoraError } from '../../src/errors.ts'
import { connectNodes, createTestNode, createTestNodes, waitFor, type TestNodes } from '../harness/libp2p-nodes.ts'

describe('p2p: libp2p assembly on loopback', () => {
  const cleanup: TestNodes[] = []
  after(async () => { await Promise.all(cleanup.map(async nodes => { await nodes.stop() })) })

  test('two nodes dial, identify each other and ping', async () => {
    const pair = await createTestNodes(2)
    cleanup.push(pair)
    const [a, b] = pair.nodes as [typeof pair.nodes[0], typeof pair.nodes[0]]
    await connectNodes(a, b)
    assert.ok(a.libp2p.getPeers().some(p => p.equals(b.libp2p.peerId)))
    const peer = await a.libp2p.peerStore.get(b.libp2p.peerId)
    assert.ok(peer.protocols.includes('/agora/kad/1.0.0'), 'identify told a which protocols b speaks')
    assert.match(new TextDecoder().decode(peer.metadata.get('AgentVersion')), /^agora\//)
    const rtt = await a.libp2p.services.ping.ping(b.libp2p.peerId, { signal: AbortSignal.timeout(5000) })
    assert.ok(rtt >= 0 && rtt < 1000, `ping took ${rtt} ms`)
  })

  test('the DHT speaks our protocol id, never the public one', async () => {
    const single = await createTestNodes(1)
    cleanup.push(single)
    const protocols = single.nodes[0]?.libp2p.getProtocols() ?? []
    assert.ok(protocols.includes('/agora/kad/1.0.0'), protocols.join(' '))
    assert.ok(!protocols.some(p => p.startsWith('/ipfs/kad') || p.startsWith('/ipfs/lan/kad')), protocols.join(' '))
  })

  test('three nodes in a line: a provider record put by A is found by C through B', async () => {
    const trio = await createTestNodes(3)
    cleanup.push(trio)
    const [a, b, c] = trio.nodes as [typeof trio.nodes[0], typeof trio.nodes[0], typeof trio.nodes[0]]
    await connectNodes(a, b)
    await connectNodes(c, b)
    assert.equal(a.libp2p.getConnections(c.libp2p.peerId).length, 0, 'A and C start unconnected')
    const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('agora capability: test')))
    // the DHT adds a peer to its routing table shortly after identify; retry the provide until it has one
    await waitFor(async () => {
      try {
        await a.libp2p.contentRouting.provide(cid, { signal: AbortSignal.timeout(3000) })
        return true
      } catch {
        return false
      }
    }, { timeoutMs: 10_000, intervalMs: 100, what: 'A to provide the CID' })
    const found: string[] = []
    for await (const provider of c.libp2p.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
      found.push(provider.id.toString())
      if (provider.id.equals(a.libp2p.peerId)) break
    }
    assert.ok(found.includes(a.peerId), `providers found: ${found.join(', ')}`)
    const peerInfo = await c.libp2p.peerRouting.findPeer(a.libp2p.peerId, { signal: AbortSignal.timeout(10_000) })
    assert.ok(peerInfo.multiaddrs.some(ma => ma.toString().startsWith('/ip4/127.0.0.1/tcp/')), 'C learned a loopback address of A')
  })

  test('a listen port already taken → E201 naming the address, with a hint', async () => {
    const first = await createTestNodes(1)
    cleanup.push(first)
    const port = first.nodes[0]?.address.getComponents().find(component => component.name === 'tcp')?.value
    const address = `/ip4/127.0.0.1/tcp/${port}`
    await assert.rejects(createTestNode({ network: { listen: [address] } }), (err: unknown) => {
      assert.ok(isAgoraError(err, 'E201'), String(err))
      assert.equal(err.what, `cannot listen on ${address}`)
      assert.match(err.hint, /--listen \/ip4\/0\.0\.0\.0\/tcp\/0/)
      return true
    })
  })
})
