import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AgoraEvents, type AgoraEventMap } from '../../src/events.ts'
import { isAgoraError } from '../../src/errors.ts'
import { PeerManager } from '../../src/p2p/index.ts'
import { CODE_P2P } from '@multiformats/multiaddr'
import { openStore, type Store } from '../../src/store/index.ts'
import { connectNodes, createTestNode, waitFor, type TestNode } from '../harness/libp2p-nodes.ts'

interface Running {
  node: TestNode
  store: Store
  manager: PeerManager
  events: AgoraEvents
}

async function startNode (storePath: string, options: Parameters<typeof createTestNode>[0] = {}, init: ConstructorParameters<typeof PeerManager>[1] = {}): Promise<Running> {
  const node = await createTestNode(options)
  const store = openStore(storePath)
  const events = new AgoraEvents()
  const manager = new PeerManager({ libp2p: node.libp2p, peers: store.peers, events, logger: node.logger }, { target: 4, reconnectIntervalMs: 200, pingIntervalMs: 100_000, ...init })
  await manager.start()
  return { node, store, manager, events }
}

async function stopNode (running: Running | undefined): Promise<void> {
  if (running === undefined) return
  await running.manager.stop()
  await running.node.stop()
  running.store.close()
}

describe('p2p: peer manager', () => {
  test('records peers, measures latency, and a restarted node reconnects without bootstrap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    let a: Running | undefined
    let b: Running | undefined
    try {
      a = await startNode(':memory:')
      b = await startNode(join(dir, 'agora.db'), {}, { pingIntervalMs: 100 })
      const connected: Array<AgoraEventMap['peer:connected']> = []
      const latencies: Array<AgoraEventMap['peer:latency']> = []
      b.events.on('peer:connected', event => { connected.push(event) })
      b.events.on('peer:latency', event => { latencies.push(event) })

      await connectNodes(b.node, a.node)
      await waitFor(() => connected.some(e => e.peerId === a?.node.peerId), { what: 'peer:connected on B' })
      // B dialled A: the peer book holds A's dialable address (identify or the outbound connection)
      await waitFor(() => (b?.store.peers.get(a?.node.peerId ?? '')?.addresses ?? []).some(x => x.startsWith('/ip4/127.0.0.1/tcp/')), { what: "A's address in B's peer book" })
      // A saw B connect inbound too
      await waitFor(() => a?.store.peers.get(b?.node.peerId ?? '') !== undefined, { what: "B in A's peer book" })

      // the ping loop fills in latency; the event and the book agree
      await waitFor(() => latencies.some(e => e.peerId === a?.node.peerId), { what: 'peer:latency from the ping loop' })
      const latency = b.store.peers.get(a.node.peerId)?.latencyMs
      assert.ok(typeof latency === 'number' && latency >= 0 && latency < 1000, `latency ${latency}`)
      const listed = b.manager.connected()
      assert.deepEqual(listed.map(p => p.peerId), [a.node.peerId])
      assert.ok(listed[0]?.addresses[0]?.startsWith('/ip4/127.0.0.1/tcp/'))
      assert.equal(typeof listed[0]?.latencyMs, 'number')
      assert.ok(await b.manager.ping(a.node.peerId) >= 0)
      await assert.rejects(b.manager.ping('not-a-peer-id'), (err: unknown) => isAgoraError(err, 'E200'))

      // restart B with the same key and the same store file, no bootstrap
      const key = b.node.privateKey
      await stopNode(b)
      b = undefined
      await waitFor(() => a?.node.libp2p.getPeers().length === 0, { what: 'A to see B leave' })
      b = await startNode(join(dir, 'agora.db'), { privateKey: key })
      assert.equal(b.node.network.bootstrap.length, 0)
      await waitFor(() => b?.node.libp2p.getPeers().some(p => p.toString() === a?.node.peerId) === true, { timeoutMs: 10_000, what: 'B to reconnect to A' })
    } finally {
      await stopNode(b)
      await stopNode(a)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('banned peers are not dialled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    let a: Running | undefined
    let b: Running | undefined
    try {
      a = await startNode(':memory:')
      const path = join(dir, 'agora.db')
      const book = openStore(path)
      book.peers.seen(a.node.peerId, [a.node.address.toString().replace(`/p2p/${a.node.peerId}`, '')])
      book.peers.setBan(a.node.peerId, Date.now() + 60_000, 'test')
      book.close()
      b = await startNode(path, {}, { reconnectIntervalMs: 100_000 })
      assert.equal(await b.manager.topUp(), 0)
      assert.equal(b.node.libp2p.getPeers().length, 0)
      // lift the ban: the next top-up reaches A with the address from the book
      b.store.peers.setBan(a.node.peerId, null, null)
      assert.equal(await b.manager.topUp(), 1)
    } finally {
      await stopNode(b)
      await stopNode(a)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a newly discovered peer is dialled at once, not at the next top-up', async () => {
    let a: Running | undefined
    let b: Running | undefined
    try {
      a = await startNode(':memory:')
      b = await startNode(':memory:', {}, { reconnectIntervalMs: 100_000 })
      await b.manager.topUp() // the start-up top-up is over: only discovery can dial now
      // what mDNS does when it hears a peer: its addresses go into the peer store
      await b.node.libp2p.peerStore.merge(a.node.libp2p.peerId, { multiaddrs: [a.node.address.decapsulateCode(CODE_P2P)] })
      await waitFor(() => b?.node.libp2p.getPeers().some(p => p.equals(a?.node.libp2p.peerId)) === true, { timeoutMs: 10_000, what: 'B to dial the peer it discovered' })
    } finally {
      await stopNode(b)
      await stopNode(a)
    }
  })
})
