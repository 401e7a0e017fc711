/**
 * Six real nodes split in two and healed: decisions made on each side while
 * they were apart reach the other side when the partition heals (each node
 * catches up from its peers on connecting, /agora/verify/sync/1), and every
 * node ends with one winner per thread — a later epoch displacing, and
 * orphaning, the decision the other side still held. Decisions hold pay:
 * the orphaned one is refunded (RECONCILE), the one that stands is
 * finalized once — its producer paid, FINALIZE seen by every node, and no
 * later decision can change it.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { VERIFY_TOPIC } from '../../src/p2p/index.ts'
import type { AgoraEventMap } from '../../src/events.ts'
import type { AgoraNode } from '../../src/node.ts'
import { TestSwarm, firstAddress } from '../harness/nodes.ts'
import { waitFor } from '../harness/wait.ts'

const X = 'a'.repeat(64)
const Y = 'b'.repeat(64)
const Z = 'c'.repeat(64)
/** One credit, in micro-credits. */
const PRICE = 1_000_000

async function decide (node: AgoraNode, job: string, epoch: number, result: string): Promise<void> {
  await node.components.verify.decide(`${node.peerId}/${job}`, epoch, result)
}

const winnerOf = (node: AgoraNode, thread: string): { epoch: number, result: string } | undefined => {
  const w = node.components.verify.decisions.get(thread)?.winner
  return w === undefined ? undefined : { epoch: w.epoch, result: w.result }
}

describe('a partition with decisions on both sides heals to one winner per thread', () => {
  const swarm = new TestSwarm()
  let nodes: AgoraNode[]
  /** Per node: the decisions it booked that displaced (orphaned) another. */
  const orphans = new Map<string, Array<AgoraEventMap['verify:decision']>>()
  /** a's decisions whose pay was refunded. */
  const reconciled: Array<AgoraEventMap['verify:reconciled']> = []

  before(async () => {
    const a = await swarm.add()
    const d = await swarm.add({ config: { network: { bootstrap: [firstAddress(a)] } } })
    const config = { network: { bootstrap: [firstAddress(a), firstAddress(d)] } }
    nodes = [a, ...await Promise.all([1, 2].map(async () => await swarm.add({ config }))), d, ...await Promise.all([1, 2].map(async () => await swarm.add({ config })))]
    ;(nodes[0] as AgoraNode).components.events.on('verify:reconciled', e => { reconciled.push(e) })
    for (const n of nodes) {
      orphans.set(n.peerId, [])
      n.components.events.on('verify:decision', e => { if (e.orphaned > 0) orphans.get(n.peerId)?.push(e) })
    }
    // each node knows a and d at least: gossip reaches everyone through them
    await waitFor('every node in the verify topic with two others at least', () => nodes.every(n => n.components.gossip.topicPeers(VERIFY_TOPIC).length >= 2), { timeoutMs: 30_000 })
  })
  after(async () => { await swarm.stop() })

  test('apart, each side decides; healed, every node holds both sides\' decisions and the later epoch wins', async () => {
    const [a, b, c, d, e, f] = nodes as [AgoraNode, AgoraNode, AgoraNode, AgoraNode, AgoraNode, AgoraNode]
    const left = [a, b, c]
    const right = [d, e, f]
    const t = `${a.peerId}/job-t`
    const u = `${d.peerId}/job-u`
    // together: a decides t (epoch 1, X), holding 1 credit for b, whose receipt rX X is
    b.components.market.issue({ receiptId: 'rX', buyer: a.peerId, amount: PRICE })
    await a.components.verify.decide(t, 1, X, { payee: b.peerId, receiptId: 'rX', amount: PRICE })
    assert.equal(a.components.market.wallet().held, PRICE)
    await waitFor('everyone to book t@1', () => nodes.every(n => winnerOf(n, t)?.epoch === 1), { timeoutMs: 20_000 })

    // apart: each side bans the other and hangs up
    for (const n of left) for (const m of right) { n.components.peerBook.ban(m.peerId, { reason: 'partition' }); m.components.peerBook.ban(n.peerId, { reason: 'partition' }) }
    await waitFor('the two sides disconnected', () => left.every(n => right.every(m => !n.components.libp2p.getPeers().some(p => p.toString() === m.peerId))), { timeoutMs: 20_000 })
    await waitFor('each side in the topic on its own', () => nodes.every(n => n.components.gossip.topicPeers(VERIFY_TOPIC).length >= 1), { timeoutMs: 20_000 })
    // a decides t again (epoch 2, Y: c's result, receipt rY) on the left; d decides u (epoch 1, Z) on the right
    c.components.market.issue({ receiptId: 'rY', buyer: a.peerId, amount: PRICE })
    await a.components.verify.decide(t, 2, Y, { payee: c.peerId, receiptId: 'rY', amount: PRICE })
    await waitFor('t@1\'s pay refunded at a', () => reconciled.length === 1, { timeoutMs: 5000 })
    assert.deepEqual(reconciled.map(e => [e.thread, e.epoch, e.result, e.refund, e.winnerEpoch]), [[t, 1, X, '1.000000', 2]], 't@1 orphaned at a: its pay refunded')
    assert.equal(a.components.market.wallet().held, PRICE, 'only t@2 holds now')
    await decide(d, 'job-u', 1, Z)
    await waitFor('the left to book t@2', () => left.every(n => winnerOf(n, t)?.epoch === 2), { timeoutMs: 20_000 })
    await waitFor('the right to book u@1', () => right.every(n => winnerOf(n, u)?.epoch === 1), { timeoutMs: 20_000 })
    assert.ok(right.every(n => winnerOf(n, t)?.result === X), 'the right still holds t@1')
    assert.ok(left.every(n => winnerOf(n, u) === undefined), 'the left never heard of u')
    await assert.rejects(b.components.verify.decide(t, 3, Z), (err: unknown) => (err as { code?: string }).code === 'E1205', 'only a decides its own thread')

    // healed: the bans lifted, the sides dial each other; each catches up on connecting
    for (const n of left) for (const m of right) { n.components.peerBook.unban(m.peerId); m.components.peerBook.unban(n.peerId) }
    for (const n of left) for (const m of right) await n.components.libp2p.dial(m.components.libp2p.getMultiaddrs()[0] ?? (() => { throw new Error('no address') })(), { signal: AbortSignal.timeout(5000) })
    await waitFor('one winner per thread on every node', () => nodes.every(n => winnerOf(n, t)?.result === Y && winnerOf(n, t)?.epoch === 2 && winnerOf(n, u)?.result === Z), { timeoutMs: 30_000 })
    // t@1 was displaced on the right: each of those nodes booked t@2 as the winner orphaning it; the left had done so while apart
    for (const n of nodes) assert.deepEqual(orphans.get(n.peerId)?.map(o => [o.thread, o.epoch, o.result, o.outcome, o.orphaned]), [[t, 2, Y, 'won', 1]], n.peerId.slice(-6))

    // a finalizes t: c is paid for Y, b never for X; every node takes the FINALIZE, and t cannot change any more
    assert.equal(await a.components.verify.finalize(t), 'finalized')
    assert.equal(await a.components.verify.finalize(t), 'nothing-held', 'never two FINALIZEs for one thread')
    await waitFor('every node to take the FINALIZE', () => nodes.every(n => n.components.verify.decisions.get(t)?.finalized === true), { timeoutMs: 20_000 })
    a.components.market.flushPayments(c.peerId)
    await waitFor('c paid for its result', () => c.components.market.wallet().earned === PRICE, { timeoutMs: 20_000 })
    const wallet = a.components.market.wallet()
    assert.deepEqual([wallet.spent, wallet.held, b.components.market.wallet().earned], [PRICE, 0, 0])
    await assert.rejects(a.components.verify.decide(t, 3, Z), (err: unknown) => (err as { code?: string }).code === 'E1200', 'a finalized thread is not decided again')
  })
})
