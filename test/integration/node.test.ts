/**
 * Real nodes in one process: the chassis end to end — start/stop order,
 * peers over the control API, the event socket, metrics, restart with
 * persisted peers, and the start-up errors a user meets.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { AgoraNode } from '../../src/node.ts'
import { EventsClient } from '../../src/client/index.ts'
import { statusResponse, peersResponse, identityResponse } from '../../src/client/schemas.ts'
import { isAgoraError } from '../../src/errors.ts'
import { TestSwarm, clientOf, firstAddress, testConfig, tempDir, waitForPeers } from '../harness/nodes.ts'
import { waitFor } from '../harness/wait.ts'
import { NEEDS_TOPIC } from '../../src/p2p/index.ts'
import { decodeEnvelope, encodeEnvelope, signEnvelope } from '../../src/identity/index.ts'

describe('node', () => {
  const swarm = new TestSwarm()
  after(async () => { await swarm.stop() })

  test('two nodes: b bootstraps from a; peers over the API carry latency', async () => {
    const [a, b] = await swarm.addMany(2) as [AgoraNode, AgoraNode]
    await waitForPeers(b, 1)
    const peers = await waitFor('a latency on b', async () => {
      const list = await clientOf(b).peers()
      const entry = list.find(p => p.peerId === a.peerId)
      return entry?.connected === true && entry.latencyMs !== null ? entry : undefined
    })
    assert.ok(peers.addresses.length > 0)
    // and a lists b by where b listens, not by the ephemeral port of b's inbound connection
    const bListens = b.components.libp2p.getMultiaddrs().map(ma => ma.toString().replace(/\/p2p\/.*$/, ''))
    const onA = await waitFor('b on a with its listen addresses', async () => {
      const entry = (await clientOf(a).peers()).find(p => p.peerId === b.peerId)
      return entry !== undefined && entry.addresses.length > 0 && entry.addresses.every(addr => bListens.includes(addr)) ? entry : undefined
    })
    assert.ok(onA.addresses.length > 0)
    const status = statusResponse.parse(await clientOf(a).status())
    peersResponse.parse(await clientOf(a).peers())
    identityResponse.parse(await clientOf(a).identity())
    assert.equal(status.peerId, a.peerId)
    assert.ok(status.addresses.every(addr => addr.endsWith(`/p2p/${a.peerId}`)), 'every address ends in /p2p/<peerId>')
    assert.ok(status.peers >= 1)
    const ping = await clientOf(b).ping(a.peerId)
    assert.ok(ping.latencyMs >= 0)
  })

  test('the event socket streams peer connects and the node stopping', async () => {
    const hub = await swarm.add()
    const events = await EventsClient.connect(hub.apiUrl, readFileSync(join(hub.components.dataDir, 'api.token'), 'utf8').trim())
    try {
      const joiner = await swarm.add({ config: { network: { bootstrap: [firstAddress(hub)] } } })
      const connected = await events.waitFor(e => e.type === 'peer:connected' && (e.data as { peerId: string }).peerId === joiner.peerId)
      assert.ok(connected.at > 0)
      await joiner.stop()
      await events.waitFor(e => e.type === 'peer:disconnected' && (e.data as { peerId: string }).peerId === joiner.peerId)
      void hub.stop()
      await events.waitFor(e => e.type === 'node:stopping')
    } finally {
      events.close()
    }
  })

  test('gossip and the info protocol are wired: a message crosses, a peer answers who it is', async () => {
    const [a, b] = await swarm.addMany(2) as [AgoraNode, AgoraNode]
    await waitForPeers(b, 1)
    const received: string[] = []
    a.components.gossip.subscribe(NEEDS_TOPIC, message => { received.push(decodeEnvelope(message.data).kind) })
    await b.components.gossip.waitForTopicPeers(NEEDS_TOPIC)
    // the topic's validator (the market's auction) forwards only a well-formed NEED of its signer's own thread
    const need = signEnvelope(b.components.identity, {
      kind: 'NEED',
      payload: { thread: `${b.peerId}/need/n1`, epoch: 0, lamport: 1, taskType: 'classify', quantity: 1, budget: '1.000000', deadline: Date.now() + 60_000 }
    })
    await b.components.gossip.publish(NEEDS_TOPIC, encodeEnvelope(need))
    await waitFor('the gossip message on a', () => received.includes('NEED'))
    const info = await b.info.request(a.peerId)
    assert.equal(info.peerId, a.peerId)
  })

  test('peers connect dials the address it is given, even to a peer connected already', async () => {
    const [a, b] = await swarm.addMany(2) as [AgoraNode, AgoraNode]
    await waitForPeers(b, 1)
    const real = firstAddress(a)
    const ok = await clientOf(b).connect(real)
    assert.equal(ok.peerId, a.peerId)
    // nothing listens on port 1: connected or not, that address does not reach the peer
    const wrong = real.replace(/\/tcp\/\d+\//, '/tcp/1/')
    await assert.rejects(clientOf(b).connect(wrong), (err: unknown) => isAgoraError(err, 'E202'))
  })

  test('metrics include libp2p\'s own and the process\'s', async () => {
    const node = await swarm.add()
    const text = (await clientOf(node).raw('/metrics')).body
    assert.match(text, /^libp2p_/m)
    assert.match(text, /^agora_/m)
    // Prometheus naming: one prefix, counters end in _total, gauges never do
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(m => ({ name: m[1] as string, type: m[2] as string })).filter(m => m.name.startsWith('agora_'))
    assert.ok(types.length > 20)
    assert.deepEqual(types.filter(m => m.name.includes('process_process')).map(m => m.name), [], 'no doubled prefix')
    assert.deepEqual(types.filter(m => m.type === 'counter' && !m.name.endsWith('_total')).map(m => m.name), [], 'counters end in _total')
    assert.deepEqual(types.filter(m => m.type !== 'counter' && m.name.endsWith('_total')).map(m => m.name), [], 'no gauge ends in _total')
  })

  test('a restarted node reconnects to known peers without bootstrap', async () => {
    const a = await swarm.add()
    const dir = tempDir()
    swarm.track(dir)
    const b1 = await swarm.add({ dataDir: dir, config: { network: { bootstrap: [firstAddress(a)] } } })
    await waitForPeers(b1, 1)
    await b1.stop()
    const b2 = await swarm.add({ dataDir: dir })
    assert.equal(b2.peerId, b1.peerId, 'same identity after restart')
    await waitFor('b to reconnect to a', () => b2.components.libp2p.getPeers().some(p => p.toString() === a.peerId))
  })

  test('a second node on the same data dir is refused with the running PID', async () => {
    const node = await swarm.add()
    await assert.rejects(AgoraNode.create({ dataDir: node.components.dataDir, config: testConfig() }), err => {
      assert.ok(isAgoraError(err, 'E602'))
      assert.match(err.message, new RegExp(`pid ${process.pid}`))
      return true
    })
  })

  test('an API port in use is E201 with a hint', async () => {
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      await assert.rejects(swarm.add({ config: { api: { port } } }), err => {
        assert.ok(isAgoraError(err, 'E201'))
        assert.match(err.format(), /--api-port 0/)
        return true
      })
    } finally {
      blocker.close()
    }
  })

  test('a listen port in use is E201', async () => {
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      await assert.rejects(swarm.add({ config: { network: { listen: [`/ip4/127.0.0.1/tcp/${port}`] } } }), err => isAgoraError(err, 'E201'))
    } finally {
      blocker.close()
    }
  })

  test('a corrupt identity key stops start-up and is left untouched', async () => {
    const dir = tempDir()
    swarm.track(dir)
    writeFileSync(join(dir, 'identity.key'), 'not a key', { mode: 0o600 })
    await assert.rejects(AgoraNode.create({ dataDir: dir, config: testConfig() }), err => isAgoraError(err, 'E100'))
    assert.equal(readFileSync(join(dir, 'identity.key'), 'utf8'), 'not a key')
  })

  test('a data dir that cannot be written is E603', async () => {
    const dir = tempDir()
    swarm.track(dir)
    const file = join(dir, 'a-file')
    writeFileSync(file, '')
    await assert.rejects(AgoraNode.create({ dataDir: join(file, 'data'), config: testConfig() }), err => isAgoraError(err, 'E603'))
  })
})
