/**
 * Verification in real nodes: a node that verifies carries the verify tag
 * in its offer; every node counts it as an active verifier and reports the
 * quorum (bootstrap mode below 10 verifiers: K = 1) on the control API and
 * as an event; a decision gossiped by one node is booked by the others.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeEnvelope, encodeEnvelope, generateIdentity, signEnvelope, type Envelope, type NodeIdentity } from '../../src/identity/index.ts'
import { signReceipt } from '../../src/jobs/protocol/receipt.ts'
import { VERIFY_TOPIC } from '../../src/p2p/index.ts'
import type { AgoraNode } from '../../src/node.ts'
import { TestSwarm, clientOf, firstAddress } from '../harness/nodes.ts'
import { waitFor, within } from '../harness/wait.ts'

describe('verification in a node', () => {
  const swarm = new TestSwarm()
  let nodes: AgoraNode[]
  const quorumEvents: Array<{ mode: string, k: number, active: number }> = []

  before(async () => {
    const first = await swarm.add({ config: { verify: { verifies: ['text.embed', 'text.chunk'] } } })
    first.components.events.on('verify:quorum', e => { quorumEvents.push(e) })
    const config = { network: { bootstrap: [firstAddress(first)] }, verify: { verifies: ['text.embed'] } }
    nodes = [first, ...await Promise.all([1, 2].map(async () => await swarm.add({ config })))]
  })
  after(async () => { await swarm.stop() })

  test('verifiers advertise the verify tag; every node counts them and reports bootstrap mode, K = 1', async () => {
    await waitFor('every node to count the three verifiers', () => nodes.every(n => n.components.verify.status().active === 3), { timeoutMs: 30_000 })
    const offer = nodes[1]?.components.offers.list().find(o => o.node === nodes[0]?.peerId)
    assert.ok(offer?.tags.includes('verify') && offer.tags.includes('verify:text.embed') && offer.tags.includes('verify:text.chunk'), JSON.stringify(offer?.tags))
    const status = await clientOf(nodes[0] as AgoraNode).verifyStatus()
    assert.deepEqual(status, { mode: 'bootstrap', k: 1, active: 3, stableSince: null, provisional: true, backend: 'quorum', verifies: ['text.embed', 'text.chunk'], threads: 0 })
    assert.ok(quorumEvents.some(e => e.active === 3 && e.mode === 'bootstrap' && e.k === 1), JSON.stringify(quorumEvents))
  })

  test('a DECIDE gossiped by one node is booked by every other, with a verify:decision event', async () => {
    const [a, b] = nodes as [AgoraNode, AgoraNode]
    const seen = new Promise<unknown>(resolve => { b.components.events.once('verify:decision', resolve) })
    const decide = signEnvelope(a.components.identity, { kind: 'DECIDE', payload: { thread: `${a.peerId}/job-x`, epoch: 1, lamport: 1, result: 'f'.repeat(64) } })
    await waitFor('a peer in the verify topic', () => a.components.gossip.topicPeers(VERIFY_TOPIC).length > 0, { timeoutMs: 20_000 })
    await a.components.gossip.publish(VERIFY_TOPIC, encodeEnvelope(decide))
    await waitFor('the other nodes to book it', () => nodes.slice(1).every(n => n.components.verify.decisions.get(`${a.peerId}/job-x`)?.winner.decider === a.peerId), { timeoutMs: 20_000 })
    assert.deepEqual(await seen, { thread: `${a.peerId}/job-x`, epoch: 1, lamport: 1, decider: a.peerId, result: 'f'.repeat(64), outcome: 'won', orphaned: 0 })
    assert.equal((await clientOf(b).verifyStatus()).threads, 1)
  })

  test('a coordinator\'s CHALLENGE reaches the others, who check the evidence and lower the accused themselves', async () => {
    const [a, b, c] = nodes as [AgoraNode, AgoraNode, AgoraNode]
    const cheat = await generateIdentity()
    const honest = [await generateIdentity(), await generateIdentity()]
    const key = `${a.peerId}/j9/s1`
    const receipt = (who: NodeIdentity, k: string, hash: string): Envelope => decodeEnvelope(Buffer.from(signReceipt(who, { key: k, attempt: 1, jobId: 'j9', subtaskId: 's1', type: 'text.chunk', worker: who.peerIdString, coordinator: a.peerId, resultHash: hash, price: '0.100000', startedAt: 1, finishedAt: 2 }), 'base64url'))
    const upheld = (node: AgoraNode): Promise<unknown> => new Promise(resolve => { node.components.events.on('verify:challenge', e => { if (e.accused === cheat.peerIdString) resolve(e) }) })
    const seen = [upheld(b), upheld(c)]
    await a.components.verify.challenge({ thread: `${a.peerId}/j9`, epoch: 1, receipt: receipt(cheat, key, 'a'.repeat(64)), resultHash: 'a'.repeat(64), expectedHash: 'b'.repeat(64), replicas: honest.map((h, i) => receipt(h, `${key}#r${i + 1}`, 'b'.repeat(64))) })
    assert.deepEqual(await within('both peers to uphold the challenge', Promise.all(seen), 20_000), [0, 1].map(() => ({ challenger: a.peerId, thread: `${a.peerId}/j9`, accused: cheat.peerIdString, refuted: null })))
    for (const node of [b, c]) assert.ok((node.components.peerBook.view(cheat.peerIdString)?.reputation ?? 1) < 0.5, 'lowered')
  })

  test('decisions survive a restart: the node books them again from its store', async () => {
    const [a, b] = nodes as [AgoraNode, AgoraNode]
    const thread = `${a.peerId}/job-x`
    const before = b.components.verify.decisions.get(thread)?.winner
    assert.ok(before !== undefined, 'booked by the previous test')
    const dataDir = b.components.dataDir
    await swarm.stopNode(b)
    const again = await swarm.add({ dataDir, config: { network: { bootstrap: [firstAddress(a)] } } })
    assert.deepEqual(again.components.verify.decisions.get(thread)?.winner, before)
    assert.equal(again.components.verify.status().threads, 1)
  })

  test('a node that was not there catches up on the decisions it missed, from a peer, on connecting', async () => {
    const [a] = nodes as [AgoraNode]
    const thread = `${a.peerId}/job-x`
    const late = await swarm.add({ config: { network: { bootstrap: [firstAddress(a)] } } })
    await waitFor('the newcomer to book the decision made before it existed', () => late.components.verify.decisions.get(thread)?.winner.decider === a.peerId, { timeoutMs: 20_000 })
    // asked again, the peer has nothing newer: the cursor moved past it
    const again = await late.components.verify.catchUp(a.peerId)
    assert.deepEqual(again, { received: 0, booked: 0, finalized: 0, invalid: 0 })
  })
})
