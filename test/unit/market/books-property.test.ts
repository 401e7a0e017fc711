/**
 * Property: two nodes, each with its own database and identity, buy from
 * each other — holds, receipts issued and captured, releases, expiries —
 * and pay with proofs over a network that duplicates, reorders and drops
 * messages (a proof is resent until acknowledged), with replays of every
 * kind and restarts mixed in. After every step, on each node: the books sum
 * to zero, keep their signs and grant + earned − spent = available + held;
 * nonces and cumulative amounts only grow; a replay changes nothing. Once
 * every message is delivered: payable:B in A's book = receivable:A in B's,
 * both ways, to the micro-credit; each hold was released exactly once.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encodeEnvelope } from '../../../src/identity/index.ts'
import { assertBooks, assertJournal, booksNode, CREDIT, restart, snapshot, type BooksNode } from './books-nodes.ts'

const RUNS = 120
const OPS_PER_RUN = 400
const GRANT = 300 * CREDIT

type Op =
  | { t: 'buy', buyer: number, receipts: number[], extra: number, ttl: number | null }
  | { t: 'release', who: number, recent: number }
  | { t: 'tick', ms: number }
  | { t: 'pay', payer: number }
  | { t: 'deliver', pick: number, keepCopy: boolean }
  | { t: 'drop', pick: number }
  | { t: 'replayProof', pick: number }
  | { t: 'replayCall', pick: number }
  | { t: 'restart', who: number }

const side = fc.nat(1)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('buy' as const), buyer: side, receipts: fc.array(fc.integer({ min: 0, max: 3 * CREDIT }), { minLength: 1, maxLength: 4 }), extra: fc.integer({ min: 0, max: 2 * CREDIT }), ttl: fc.option(fc.integer({ min: 1, max: 30_000 })) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), who: side, recent: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 10_000 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('pay' as const), payer: side }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('deliver' as const), pick: fc.nat(), keepCopy: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replayProof' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('replayCall' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), who: side }) }
)

type Message = { t: 'proof', from: number, bytes: Uint8Array } | { t: 'ack', to: number, nonce: number }
/** A call made before, to repeat verbatim. */
type Call =
  | { t: 'hold', who: number, id: string, amount: number, expiresAt: number | undefined }
  | { t: 'capture', who: number, holdId: string, receiptId: string, seller: string, amount: number }
  | { t: 'issue', who: number, receiptId: string, buyer: string, amount: number }

class Pair {
  nodes: [BooksNode, BooksNode]
  network: Message[] = []
  proofs: Array<{ from: number, bytes: Uint8Array }> = []
  calls: Call[] = []
  holds: Array<Array<{ id: string, captured: number }>> = [[], []]
  outcomes = { applied: 0, duplicate: 0 }
  private serial = 0
  /** The last nonce and cumulative seen per direction (payee's accepted, payer's acknowledged): they only grow. */
  private seen = new Map<string, number>()

  constructor (a: BooksNode, b: BooksNode) {
    this.nodes = [a, b]
  }

  node (i: number): BooksNode { return this.nodes[i] as BooksNode }
  other (i: number): BooksNode { return this.nodes[1 - i] as BooksNode }

  buy (o: Extract<Op, { t: 'buy' }>): void {
    const buyer = this.node(o.buyer)
    const seller = this.other(o.buyer)
    const holdId = `${o.buyer}-h${this.serial++}`
    const amount = o.receipts.reduce((sum, x) => sum + x, o.extra)
    const expiresAt = o.ttl === null ? undefined : buyer.clock.now + o.ttl
    if (amount > buyer.ledger.balance('available')) return
    buyer.escrow.hold(holdId, amount, expiresAt === undefined ? {} : { expiresAt })
    this.calls.push({ t: 'hold', who: o.buyer, id: holdId, amount, expiresAt })
    const hold = { id: holdId, captured: 0 }
    this.holds[o.buyer]?.push(hold)
    for (const x of o.receipts) {
      const receiptId = `${o.buyer}-r${this.serial++}`
      // the seller records the receipt before handing it over; the buyer checks it and captures it
      assert.equal(seller.payee.issue({ receiptId, buyer: buyer.peerId, amount: x }), 'applied')
      this.calls.push({ t: 'issue', who: 1 - o.buyer, receiptId, buyer: buyer.peerId, amount: x })
      assert.equal(buyer.escrow.capture({ holdId, receiptId, seller: seller.peerId, amount: x }), 'applied')
      this.calls.push({ t: 'capture', who: o.buyer, holdId, receiptId, seller: seller.peerId, amount: x })
      hold.captured += x
    }
  }

  /** The payer signs (or re-sends) its proof once the captures it lists are durable. */
  pay (payer: number): void {
    const node = this.node(payer)
    node.ledger.flush()
    const proof = node.payer.next(this.other(payer).peerId)
    if (proof === undefined) return
    const bytes = encodeEnvelope(proof.envelope)
    this.network.push({ t: 'proof', from: payer, bytes })
    this.proofs.push({ from: payer, bytes })
  }

  /** The payee checks and books it (never refused between honest nodes), answers once durable. */
  receive (message: Message): void {
    if (message.t === 'ack') {
      this.node(message.to).payer.acknowledged(this.other(message.to).peerId, message.nonce)
      return
    }
    const payee = this.other(message.from)
    const before = snapshot(payee.ledger)
    const result = payee.payee.accept(message.bytes)
    this.outcomes[result.outcome]++
    if (result.outcome === 'duplicate') assert.deepEqual(snapshot(payee.ledger), before, 'a duplicate proof changes nothing')
    payee.ledger.flush()
    this.network.push({ t: 'ack', to: message.from, nonce: result.nonce })
  }

  replay (call: Call): void {
    const node = this.node(call.who)
    const before = [snapshot(this.node(0).ledger), snapshot(this.node(1).ledger)]
    const outcome = call.t === 'hold'
      ? node.escrow.hold(call.id, call.amount, call.expiresAt === undefined ? {} : { expiresAt: call.expiresAt })
      : call.t === 'capture' ? node.escrow.capture(call) : node.payee.issue(call)
    assert.equal(outcome, 'duplicate', `${call.t} replayed`)
    assert.deepEqual([snapshot(this.node(0).ledger), snapshot(this.node(1).ledger)], before, `${call.t} replayed changes nothing`)
  }

  check (): void {
    for (const i of [0, 1]) {
      const payer = this.node(i)
      const payee = this.other(i)
      assertBooks(payer.ledger, `node ${i}`)
      const accepted = payee.payee.last(payer.peerId)
      const acked = payer.payer.state(payee.peerId).acked
      this.grows(`${i} accepted nonce`, accepted.nonce)
      this.grows(`${i} accepted cumulative`, accepted.cumulative)
      this.grows(`${i} acked nonce`, acked.nonce)
      this.grows(`${i} acked cumulative`, acked.cumulative)
      assert.ok(acked.nonce <= accepted.nonce, 'acknowledged only what the payee accepted')
      assert.equal(payee.ledger.balance(`receivable:${payer.peerId}`), accepted.cumulative, 'receivable = the last accepted cumulative')
      assert.ok(accepted.cumulative <= -payer.ledger.balance(`payable:${payee.peerId}`), 'never proven more than owed')
    }
  }

  private grows (what: string, value: number): void {
    assert.ok(value >= (this.seen.get(what) ?? 0), `${what} went down`)
    this.seen.set(what, value)
  }
}

test(`books property: two nodes, ${RUNS} runs × ${OPS_PER_RUN} random trades, payments over a lossy network, replays and restarts`, async (t) => {
  let operations = 0
  let delivered = 0
  const proofs = { applied: 0, duplicate: 0 }
  const started = performance.now()
  const [baseA, baseB] = [await booksNode(), await booksNode()]
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: OPS_PER_RUN, maxLength: OPS_PER_RUN }), async ops => {
    const pair = new Pair(await booksNode({ grant: GRANT, identity: baseA.identity }), await booksNode({ grant: GRANT, identity: baseB.identity }))
    for (const o of ops) {
      operations++
      const net = pair.network
      if (o.t === 'buy') pair.buy(o)
      else if (o.t === 'release') {
        const holds = pair.holds[o.who] ?? []
        const hold = holds[Math.max(0, holds.length - 1 - o.recent)]
        if (hold !== undefined) pair.node(o.who).escrow.release(hold.id)
      } else if (o.t === 'tick') {
        for (const node of pair.nodes) {
          node.clock.now += o.ms
          node.escrow.expire()
        }
      } else if (o.t === 'pay') pair.pay(o.payer)
      else if (o.t === 'deliver' && net.length > 0) {
        const index = o.pick % net.length
        const message = net[index] as Message
        if (!o.keepCopy) net.splice(index, 1)
        pair.receive(message)
        delivered++
      } else if (o.t === 'drop' && net.length > 0) net.splice(o.pick % net.length, 1)
      else if (o.t === 'replayProof' && pair.proofs.length > 0) pair.receive({ t: 'proof', ...pair.proofs[o.pick % pair.proofs.length] as { from: number, bytes: Uint8Array } })
      else if (o.t === 'replayCall' && pair.calls.length > 0) pair.replay(pair.calls[o.pick % pair.calls.length] as Call)
      else if (o.t === 'restart') pair.nodes[o.who] = restart(pair.node(o.who))
      pair.check()
    }
    // traffic stops: every proof delivered and acknowledged, every hold released
    for (let rounds = 0; pair.nodes.some((n, i) => n.payer.payees().includes(pair.other(i).peerId)); rounds++) {
      assert.ok(rounds < 1000, 'payments settle')
      for (const i of [0, 1]) {
        pair.pay(i)
        for (const message of pair.network.splice(0)) pair.receive(message)
        for (const message of pair.network.splice(0)) pair.receive(message)
      }
    }
    pair.check()
    const [a, b] = pair.nodes
    assert.equal(-a.ledger.balance(`payable:${b.peerId}`), b.ledger.balance(`receivable:${a.peerId}`), 'payable:B in A = receivable:A in B')
    assert.equal(-b.ledger.balance(`payable:${a.peerId}`), a.ledger.balance(`receivable:${b.peerId}`), 'payable:A in B = receivable:B in A')
    assert.equal(b.payee.unpaid(a.peerId), 0)
    assert.equal(a.payee.unpaid(b.peerId), 0)
    for (const i of [0, 1]) {
      const node = pair.node(i)
      for (const hold of pair.holds[i] ?? []) node.escrow.release(hold.id)
      node.ledger.flush()
      for (const hold of pair.holds[i] ?? []) {
        const released = node.db.sqlite.prepare('SELECT COUNT(*) AS n FROM ledger_postings WHERE key = ?').get(`release:${hold.id}`) as { n: number }
        assert.equal(released.n, 1, `${hold.id} released once`)
        const captured = node.db.sqlite.prepare("SELECT COALESCE(SUM(-e.amount), 0) AS x FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id WHERE p.kind = 'capture' AND e.account = ?").get(`held:${hold.id}`) as { x: number }
        assert.equal(captured.x, hold.captured, `${hold.id} captured`)
      }
      assert.equal(node.ledger.summary().held, 0)
      assertBooks(node.ledger, `node ${i} at the end`)
      assertJournal(node.db)
      node.db.close()
    }
    proofs.applied += pair.outcomes.applied
    proofs.duplicate += pair.outcomes.duplicate
  }), { numRuns: RUNS })
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(`${operations} operations (${delivered} messages delivered; proofs accepted ${proofs.applied}, duplicates ${proofs.duplicate}) in ${seconds.toFixed(1)} s`)
  assert.ok(operations >= RUNS * OPS_PER_RUN)
})
