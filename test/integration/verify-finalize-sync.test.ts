/**
 * A FINALIZE missed while away is caught up (/agora/verify/sync/1), on real
 * nodes. a decides a thread holding pay for b (a verifier, the result's
 * producer); b stops; a finalizes — c takes the FINALIZE by gossip. Then a
 * and c restart, so no running node's gossip has ever carried that
 * FINALIZE: b, back and connected to c alone, can learn it only from the
 * catch-up, which c serves from its store. b's decision is then final (in
 * its book and on its disk, a later decision refused), `verify:finalized`
 * is emitted on it, and once a is back b is paid for the result. A page
 * carrying an altered FINALIZE is refused and counted against the peer that
 * handed it over.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { signEnvelope } from '../../src/identity/index.ts'
import { VERIFY_TOPIC } from '../../src/p2p/index.ts'
import type { AgoraEventMap } from '../../src/events.ts'
import type { AgoraNode } from '../../src/node.ts'
import { TestSwarm, firstAddress } from '../harness/nodes.ts'
import { waitFor, within } from '../harness/wait.ts'

const X = 'a'.repeat(64)
/** One credit, in micro-credits. */
const PRICE = 1_000_000

const stored = (node: AgoraNode, thread: string): { finalizedAt: number | null, finalize: string | null } | undefined =>
  node.components.store.db.prepare('SELECT finalized_at AS finalizedAt, finalize_envelope AS finalize FROM verify_decisions WHERE thread = ?').get(thread) as { finalizedAt: number | null, finalize: string | null } | undefined

async function dial (from: AgoraNode, to: AgoraNode): Promise<void> {
  await from.components.libp2p.dial(to.components.libp2p.getMultiaddrs()[0] ?? (() => { throw new Error('no address') })(), { signal: AbortSignal.timeout(5000) })
}

describe('a verifier away when the FINALIZE went out catches it up on coming back', () => {
  const swarm = new TestSwarm()
  let a: AgoraNode
  let b: AgoraNode
  let c: AgoraNode

  before(async () => {
    a = await swarm.add()
    const config = { network: { bootstrap: [firstAddress(a)] }, verify: { verifies: ['text.embed'] } }
    ;[b, c] = await Promise.all([swarm.add({ config }), swarm.add({ config })]) as [AgoraNode, AgoraNode]
    await waitFor('every node in the verify topic', () => [a, b, c].every(n => n.components.gossip.topicPeers(VERIFY_TOPIC).length >= 1), { timeoutMs: 30_000 })
  })
  after(async () => { await swarm.stop() })

  test('its decision becomes final from a peer\'s store, the event is emitted, a later decision is refused, and its pay arrives', async () => {
    const thread = `${a.peerId}/job-f`
    b.components.market.issue({ receiptId: 'rF', buyer: a.peerId, amount: PRICE })
    await a.components.verify.decide(thread, 1, X, { payee: b.peerId, receiptId: 'rF', amount: PRICE })
    await waitFor('every node to book the decision', () => [a, b, c].every(n => n.components.verify.decisions.get(thread)?.winner.result === X), { timeoutMs: 20_000 })

    // b goes away; a finalizes (b's pay captured) and c takes the FINALIZE by gossip
    const bDir = b.components.dataDir
    await swarm.stopNode(b)
    assert.equal(await a.components.verify.finalize(thread), 'finalized')
    await waitFor('c to take the FINALIZE', () => c.components.verify.decisions.get(thread)?.finalized === true, { timeoutMs: 20_000 })
    assert.ok(stored(c, thread)?.finalize?.includes('"FINALIZE"'), 'c keeps the signed FINALIZE to hand on')

    // a and c restart: nothing running has the FINALIZE in its gossip any more, only c's store
    const [aDir, cDir] = [a.components.dataDir, c.components.dataDir]
    await Promise.all([swarm.stopNode(a), swarm.stopNode(c)])
    c = await swarm.add({ dataDir: cDir, config: { verify: { verifies: ['text.embed'] } } })
    assert.equal(c.components.verify.decisions.get(thread)?.finalized, true, 'final across c\'s restart')

    // b comes back knowing the decision, not that it is final; it connects to c alone
    b = await swarm.add({ dataDir: bDir, config: { verify: { verifies: ['text.embed'] } } })
    const finalized: Array<AgoraEventMap['verify:finalized']> = []
    b.components.events.on('verify:finalized', e => { finalized.push(e) })
    assert.deepEqual([b.components.verify.decisions.get(thread)?.winner.result, b.components.verify.decisions.get(thread)?.finalized], [X, false])
    assert.equal(stored(b, thread)?.finalizedAt, null)
    await dial(b, c)
    await waitFor('b to catch up the FINALIZE from c', () => b.components.verify.decisions.get(thread)?.finalized === true, { timeoutMs: 20_000 })
    assert.deepEqual(finalized, [{ thread, epoch: 1, result: X, decider: a.peerId, amount: '1.000000' }])
    const onDisk = stored(b, thread)
    assert.ok(onDisk?.finalizedAt !== null && onDisk?.finalize?.includes('"FINALIZE"') === true, 'final on b\'s disk, and kept to hand on')
    assert.throws(() => b.components.verify.decisions.offer({ thread, epoch: 2, lamport: 9, decider: a.peerId, result: 'b'.repeat(64) }), (err: unknown) => (err as { code?: string }).code === 'E1200', 'a finalized result is not changed on b')
    // asked again, c has nothing newer: the FINALIZE counts once
    assert.deepEqual(await b.components.verify.catchUp(c.peerId), { received: 0, booked: 0, finalized: 0, invalid: 0 })

    // a comes back: what its FINALIZE captured for b reaches b
    a = await swarm.add({ dataDir: aDir, config: { network: { bootstrap: [firstAddress(b)] } } })
    await waitFor('a and b connected', () => a.components.libp2p.getPeers().some(p => p.toString() === b.peerId), { timeoutMs: 20_000 })
    a.components.market.flushPayments(b.peerId)
    await waitFor('b paid for its result', () => b.components.market.wallet().earned === PRICE, { timeoutMs: 20_000 })
    assert.deepEqual([a.components.market.wallet().spent, a.components.market.wallet().held], [PRICE, 0])
  })

  test('a peer that hands over an altered FINALIZE is refused and counted against', async () => {
    const thread = `${a.peerId}/job-g`
    await a.components.verify.decide(thread, 1, X)
    await waitFor('c to book the decision', () => c.components.verify.decisions.get(thread) !== undefined, { timeoutMs: 20_000 })
    // c's store is tampered with: the FINALIZE it hands on claims a price a never signed
    const signed = signEnvelope(a.components.identity, { kind: 'FINALIZE', payload: { thread, epoch: 1, lamport: 2, result: X, amount: '1.000000' } })
    const altered = { ...signed, payload: { ...(signed.payload as object), amount: '5.000000' } }
    c.components.store.db.prepare('UPDATE verify_decisions SET finalize_envelope = ?, finalized_at = ? WHERE thread = ?').run(JSON.stringify(altered), Date.now(), thread)
    const before = b.components.peerBook.view(c.peerId)?.reputation ?? 1
    const pulled = await within('b to pull from c', b.components.verify.catchUp(c.peerId), 20_000)
    assert.equal(pulled.invalid, 1, JSON.stringify(pulled))
    assert.equal(b.components.verify.decisions.get(thread)?.finalized, false, 'not final on b')
    assert.ok((b.components.peerBook.view(c.peerId)?.reputation ?? 1) < before, 'c counted against')
  })
})
