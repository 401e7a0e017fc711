import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgoraEvents, type AgoraEventMap } from '../../src/events.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { createAgoraLibp2p, PeerManager, type AgoraLibp2p, type PeerManagerInit } from '../../src/p2p/index.ts'
import { PeerBook, PeerGuard, type PeerBookInit } from '../../src/peers/index.ts'
import { openStore, type Store } from '../../src/store/index.ts'
import { identifiedBy, testNetworkConfig, waitFor, type TestNode } from '../harness/libp2p-nodes.ts'
import type { PrivateKey } from '@libp2p/interface'

interface PeerNode {
  libp2p: AgoraLibp2p
  store: Store
  events: AgoraEvents
  book: PeerBook
  manager: PeerManager
  guard: PeerGuard | undefined
  privateKey: PrivateKey
  peerId: string
  port: number
  /** As the harness's TestNode, for its connect helpers. */
  asTestNode: TestNode
  stop(): Promise<void>
}

interface PeerNodeOptions {
  privateKey?: PrivateKey
  /** Listen on this TCP port (a restart keeps its address); 0 picks one. */
  port?: number
  reputation?: PeerBookInit
  manager?: PeerManagerInit
  /** Run a PeerGuard (default true). */
  guard?: boolean
}

/** A node wired as src/node.ts does it: peer book → libp2p (gater + app score) → peer manager (ping observer) → guard. */
async function startPeerNode (options: PeerNodeOptions = {}): Promise<PeerNode> {
  const logger = silentLogger()
  const privateKey = options.privateKey ?? await generateKeyPair('Ed25519')
  const store = openStore(':memory:')
  const events = new AgoraEvents()
  const book = new PeerBook({ peers: store.peers, events, logger }, options.reputation)
  const network = testNetworkConfig({ listen: [`/ip4/127.0.0.1/tcp/${options.port ?? 0}`], dht: { enabled: false } })
  const libp2p = await createAgoraLibp2p({ privateKey, logger, metrics: undefined, connectionGater: book.connectionGater(), appSpecificScore: book.appSpecificScore }, network)
  const manager = new PeerManager({ libp2p, peers: store.peers, events, logger, pingObserver: book }, {
    target: 4, reconnectIntervalMs: 100_000, pingIntervalMs: 100_000, pingTimeoutMs: 1000, ...options.manager
  })
  const guard = options.guard === false ? undefined : new PeerGuard({ libp2p, peerBook: book, events, logger }, { trustedReconnectMinMs: 100, trustedReconnectMaxMs: 1000, dialTimeoutMs: 2000 })
  await manager.start()
  await guard?.start()
  const address = libp2p.getMultiaddrs()[0]
  assert.ok(address !== undefined)
  const port = Number(address.toString().split('/')[4])
  const stop = async (): Promise<void> => {
    await guard?.stop()
    await manager.stop()
    await libp2p.stop()
    store.close()
  }
  const asTestNode: TestNode = { libp2p, privateKey, network, logger, registry: undefined, peerId: libp2p.peerId.toString(), address, stop }
  return { libp2p, store, events, book, manager, guard, privateKey, peerId: libp2p.peerId.toString(), port, asTestNode, stop }
}

/** `from` dials `to` and both identify each other. */
async function connect (from: PeerNode, to: PeerNode): Promise<void> {
  const identified = Promise.all([identifiedBy(from.asTestNode, to.peerId), identifiedBy(to.asTestNode, from.peerId)])
  identified.catch(() => {})
  await from.libp2p.dial(to.asTestNode.address, { signal: AbortSignal.timeout(5000) })
  await identified
}

function connected (node: PeerNode, other: PeerNode): boolean {
  return node.libp2p.getConnections(peerIdFromString(other.peerId)).length > 0
}

async function stopAll (nodes: Array<PeerNode | undefined>): Promise<void> {
  await Promise.allSettled(nodes.map(async node => { await node?.stop() }))
}

describe('peers: reputation, bans and trusted peers on real libp2p nodes', () => {
  test('a peer that keeps failing pings loses reputation and is banned below the threshold', async () => {
    let a: PeerNode | undefined
    let b: PeerNode | undefined
    try {
      a = await startPeerNode({ reputation: { minObservations: 6, banThreshold: 0.2, banDurationMs: 60_000 }, manager: { pingIntervalMs: 100, pingTimeoutMs: 500 } })
      b = await startPeerNode()
      const reputations: Array<AgoraEventMap['peer:reputation']> = []
      const bans: Array<AgoraEventMap['peer:banned']> = []
      a.events.on('peer:reputation', event => { if (event.peerId === b?.peerId) reputations.push(event) })
      a.events.on('peer:banned', event => { bans.push(event) })

      // B does not answer pings (before connecting, so no ping ever succeeds); the connection itself stays up
      await b.libp2p.unhandle('/ipfs/ping/1.0.0')
      await connect(a, b)
      await waitFor(() => a?.book.isBanned(b?.peerId ?? '') === true, { timeoutMs: 15_000, what: 'A to ban B' })

      const view = a.book.view(b.peerId)
      assert.ok(view !== undefined)
      assert.ok(view.reputation < 0.2, `reputation ${view.reputation}`)
      assert.ok(view.timeouts >= 6, `timeouts ${view.timeouts}`)
      assert.ok(view.uptime !== null && view.uptime < 0.5, `uptime ${view.uptime}`)
      assert.ok(reputations.length > 0 && reputations.every(e => e.reputation < e.previous), 'every peer:reputation for B went down')
      assert.deepEqual(bans.map(e => [e.peerId, e.auto, e.reason]), [[b.peerId, true, 'reputation below threshold']])

      // the guard hangs up, the gater refuses both directions
      await waitFor(() => !connected(a as PeerNode, b as PeerNode) && !connected(b as PeerNode, a as PeerNode), { what: 'B disconnected from A' })
      const reconnects: string[] = []
      a.libp2p.addEventListener('peer:connect', event => { reconnects.push(event.detail.toString()) })
      await assert.rejects(a.libp2p.dial(peerIdFromString(b.peerId), { signal: AbortSignal.timeout(3000) }))
      // B's side may finish its handshake before A refuses (then B sees the connection close): A never opens one
      const redial = await b.libp2p.dial(a.asTestNode.address, { signal: AbortSignal.timeout(3000) }).then(() => 'completed', () => 'refused')
      await waitFor(() => !connected(a as PeerNode, b as PeerNode) && !connected(b as PeerNode, a as PeerNode), { what: `B's re-dial (${redial}) to be dropped` })
      assert.deepEqual(reconnects, [], 'A never accepted B again')
      // and the peer manager does not dial it back
      assert.equal(await a.manager.topUp(), 0)
      assert.equal(connected(a, b), false)
    } finally {
      await stopAll([a, b])
    }
  })

  test('a trusted peer is reconnected after it restarts', async () => {
    let a: PeerNode | undefined
    let b: PeerNode | undefined
    try {
      a = await startPeerNode()
      b = await startPeerNode()
      const { privateKey, port, peerId } = b
      await connect(a, b)
      const trusted: Array<AgoraEventMap['peer:trusted']> = []
      a.events.on('peer:trusted', event => { trusted.push(event) })
      assert.equal(a.book.trust(peerId), true)
      assert.deepEqual(trusted, [{ peerId }])
      assert.deepEqual(a.guard?.pending(), [], 'already connected: nothing to redial')

      await b.stop()
      b = undefined
      await waitFor(() => a?.libp2p.getPeers().length === 0, { what: 'A to see B leave' })
      // A keeps redialling with backoff while B is down
      await waitFor(() => (a?.guard?.pending()[0]?.attempt ?? 0) >= 2, { what: 'A to fail two redials' })

      // B comes back on the same port with the same key; it does not know A (empty store), so A must dial
      b = await startPeerNode({ privateKey, port })
      assert.equal(b.peerId, peerId)
      await waitFor(() => connected(a as PeerNode, b as PeerNode), { timeoutMs: 10_000, what: 'A to reconnect to B' })
      const connections = a.libp2p.getConnections(peerIdFromString(peerId))
      assert.ok(connections.some(c => c.direction === 'outbound'), 'A dialled B')
      assert.deepEqual(a.guard?.pending(), [])

      // once untrusted, a disconnect is not repaired
      assert.equal(a.book.untrust(peerId), true)
      await a.libp2p.hangUp(peerIdFromString(peerId))
      await waitFor(() => !connected(a as PeerNode, b as PeerNode), { what: 'A to hang up on B' })
      assert.deepEqual(a.guard?.pending(), [])
    } finally {
      await stopAll([a, b])
    }
  })

  test('gossipsub scores peers by reputation: low is negative, trusted is +10, banned is graylisted', async () => {
    let a: PeerNode | undefined
    let b: PeerNode | undefined
    let c: PeerNode | undefined
    try {
      // no guard on A: a banned peer stays connected long enough to read its score
      a = await startPeerNode({ guard: false, reputation: { minObservations: 1000 } })
      b = await startPeerNode()
      c = await startPeerNode()
      await connect(b, a)
      await connect(c, a)
      // the GossipSub class has getScore; its exported interface does not declare it
      const pubsub = a.libp2p.services.pubsub as unknown as { getScore(peerId: string): number }
      assert.equal(typeof pubsub.getScore, 'function')
      for (let i = 0; i < 6; i++) a.book.record(b.peerId, 'failure')
      const reputation = a.book.reputation(b.peerId)
      assert.ok(reputation < 0.25, `reputation ${reputation}`)
      a.book.trust(c.peerId)
      const bId = b.peerId
      const cId = c.peerId
      // gossipsub caches a score for one heartbeat
      await waitFor(() => Math.abs(pubsub.getScore(bId) - (reputation - 0.5) * 20) < 0.1, { what: `B's gossipsub score (${pubsub.getScore(bId)}) to follow its reputation` })
      assert.ok(pubsub.getScore(bId) < -5)
      await waitFor(() => pubsub.getScore(cId) === 10, { what: `trusted C's gossipsub score (${pubsub.getScore(cId)}) to be +10` })
      a.book.ban(bId, { reason: 'test', durationMs: 60_000 })
      await waitFor(() => pubsub.getScore(bId) <= -80, { what: 'banned B to fall under the graylist threshold' })
    } finally {
      await stopAll([a, b, c])
    }
  })
})
