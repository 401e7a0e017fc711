/**
 * Held-back pay of provisional results (src/jobs/audit/audits.ts) on real
 * books: the part set aside at commit, paid as the rest of the same receipt
 * after the audit window, or — an audited result that disagrees — refunded
 * with every other part of that worker's still held.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeEnvelope } from '../../../src/identity/index.ts'
import { JobAudits, type JobAuditsInit, type RerunVerdict } from '../../../src/jobs/audit/audits.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { booksNode, CREDIT, type BooksNode } from '../market/books-nodes.ts'
import type { AgoraEventMap } from '../../../src/events.ts'
import type { TaskAssignment } from '../../../src/jobs/protocol/types.ts'
import type { VoidPayload } from '../../../src/market/payments/index.ts'

const PRICE = CREDIT
const WINDOW = 60_000
const JOB_HOLD = 'job:j1'

interface Setup {
  buyer: BooksNode
  sellers: BooksNode[]
  audits: JobAudits
  events: Array<AgoraEventMap['verify:audited']>
  caught: string[]
  reruns: string[]
}

async function setup (verdict: (receiptId: string) => RerunVerdict = () => 'agreed', init: Partial<JobAuditsInit> = {}): Promise<Setup> {
  const buyer = await booksNode({ grant: 100 * CREDIT })
  const sellers = [await booksNode({ grant: CREDIT }), await booksNode({ grant: CREDIT })]
  buyer.escrow.hold(JOB_HOLD, 10 * PRICE)
  const events: Setup['events'] = []
  const caught: string[] = []
  const reruns: string[] = []
  const audits = new JobAudits({
    db: buyer.db,
    market: {
      setAside: (from, to, amount, options) => { buyer.escrow.setAside(from, to, amount, options) },
      capture: input => { buyer.escrow.capture(input) },
      release: holdId => { buyer.escrow.release(holdId) },
      durable: async () => { await buyer.ledger.durable() },
      voidPart: async input => { buyer.voids.add(input) }
    },
    rerun: async audit => {
      reruns.push(audit.receiptId)
      return verdict(audit.receiptId)
    },
    caught: audit => { caught.push(audit.worker) },
    events: { emit: (name: string, event: unknown) => { if (name === 'verify:audited') events.push(event as AgoraEventMap['verify:audited']) } } as never,
    log: silentLogger().forComponent('test')
  }, { holdback: 0.2, windowMs: WINDOW, rate: 1, random: () => 0, now: () => buyer.clock.now, ...init })
  return { buyer, sellers, audits, events, caught, reruns }
}

/** Seller `s` did subtask `id`: its receipt issued, the result committed provisionally (part held back, the rest captured). */
function commit ({ buyer, sellers, audits }: Setup, s: number, id: string): number {
  const seller = sellers[s] as BooksNode
  seller.payee.issue({ receiptId: id, buyer: buyer.peerId, amount: PRICE })
  const assignment: TaskAssignment = { key: `c/j1/${id}`, jobId: 'j1', subtaskId: id, attempt: 1, type: 'text.embed', params: {}, input: { texts: ['a'] } }
  const held = audits.holdBack({ jobId: 'j1', subtaskId: id, worker: seller.peerId, type: 'text.embed', assignment, result: [[1, 0]], resultHash: 'h', receiptId: id, price: PRICE, from: JOB_HOLD })
  buyer.escrow.capture({ holdId: JOB_HOLD, receiptId: id, seller: seller.peerId, amount: PRICE - held })
  return held
}

/** Every proof the buyer owes seller `s`, accepted. */
function payAll ({ buyer, sellers }: Setup, s: number): void {
  const seller = sellers[s] as BooksNode
  for (let proof = buyer.payer.next(seller.peerId); proof !== undefined; proof = buyer.payer.next(seller.peerId)) {
    seller.payee.accept(encodeEnvelope(proof.envelope))
    buyer.payer.acknowledged(seller.peerId, proof.nonce)
  }
}

test('a provisional result: a fifth of its pay waits out the window, then is paid as the rest of the same receipt', async () => {
  const t = await setup(() => 'agreed', { rate: 0 })
  assert.equal(commit(t, 0, 's1'), PRICE / 5)
  payAll(t, 0)
  const seller = t.sellers[0] as BooksNode
  assert.equal(seller.payee.unpaid(t.buyer.peerId), PRICE / 5)
  await t.audits.settleDue()
  assert.equal(t.events.length, 0, 'nothing is due before the window has passed')
  t.buyer.clock.now += WINDOW
  await t.audits.settleDue()
  assert.deepEqual(t.events.map(e => [e.subtaskId, e.outcome, e.audited, e.amount]), [['s1', 'paid', 'not-drawn', '0.200000']])
  assert.deepEqual(t.reruns, [], 'not drawn: not re-run')
  payAll(t, 0)
  assert.equal(seller.payee.unpaid(t.buyer.peerId), 0)
  assert.equal(seller.ledger.balance('earned'), -PRICE)
  assert.equal(t.buyer.escrow.isOpen('audit:s1'), false)
  assert.deepEqual(t.audits.heldBack('j1'), { held: 0, paid: PRICE / 5, forfeited: 0, nextDueAt: null })
})

test('drawn for an audit and agreed: paid; the re-run could not be done: paid, unaudited', async () => {
  const t = await setup(id => id === 's1' ? 'agreed' : 'unverified')
  commit(t, 0, 's1')
  commit(t, 0, 's2')
  t.buyer.clock.now += WINDOW
  await t.audits.settleDue()
  assert.deepEqual(t.reruns, ['s1', 's2'])
  assert.deepEqual(t.events.map(e => [e.subtaskId, e.outcome, e.audited]), [['s1', 'paid', 'agreed'], ['s2', 'paid', 'unverified']])
  assert.deepEqual(t.caught, [])
})

test('an audited result that disagrees: its part and the worker\'s other held parts are refunded, once; another worker\'s are not', async () => {
  const t = await setup(id => id === 'bad' ? 'disagreed' : 'agreed')
  commit(t, 0, 'bad')
  commit(t, 1, 'other-worker')
  const available = t.buyer.ledger.balance('available')
  t.buyer.clock.now += WINDOW
  commit(t, 0, 'later') // the same worker, not due yet: forfeited with the one caught
  assert.deepEqual(t.audits.heldBack('j1'), { held: 3 * PRICE / 5, paid: 0, forfeited: 0, nextDueAt: t.buyer.clock.now })
  await t.audits.settleDue()
  assert.deepEqual(t.events.map(e => [e.subtaskId, e.outcome, e.audited]).sort(), [
    ['bad', 'forfeited', 'disagreed'], ['later', 'forfeited', 'with-another'], ['other-worker', 'paid', 'agreed']
  ])
  assert.deepEqual(t.caught, [(t.sellers[0] as BooksNode).peerId])
  assert.equal(t.buyer.ledger.balance('available'), available + 2 * PRICE / 5)
  assert.deepEqual(t.audits.heldBack('j1'), { held: 0, paid: PRICE / 5, forfeited: 2 * PRICE / 5, nextDueAt: null })
  payAll(t, 0)
  payAll(t, 1)
  // the cheat was paid four fifths of each result; the honest worker all of its one
  const cheat = t.sellers[0] as BooksNode
  assert.equal(cheat.payee.unpaid(t.buyer.peerId), 2 * PRICE / 5)
  assert.equal((t.sellers[1] as BooksNode).payee.unpaid(t.buyer.peerId), 0)
  // a VOID of each forfeited part, naming the audit; once delivered the cheat's books settle both receipts
  const voids = t.buyer.voids.pending(cheat.peerId)
  assert.deepEqual(voids.map(v => [v.receiptId, v.amount, (v.envelope.payload as VoidPayload).reason.audited]).sort(), [['bad', PRICE / 5, 'disagreed'], ['later', PRICE / 5, 'with-another']])
  assert.deepEqual(t.buyer.voids.pending((t.sellers[1] as BooksNode).peerId), [])
  for (const v of voids) {
    assert.equal(cheat.payee.applyVoid(encodeEnvelope(v.envelope)).outcome, 'applied')
    t.buyer.voids.acknowledged(cheat.peerId, v.receiptId)
  }
  assert.equal(cheat.payee.unpaid(t.buyer.peerId), 0)
  assert.equal(cheat.payee.voided(t.buyer.peerId), 2 * PRICE / 5)
  assert.equal(t.buyer.voids.voided(cheat.peerId), 2 * PRICE / 5)
  assert.equal(-t.buyer.ledger.balance(`payable:${cheat.peerId}`), cheat.ledger.balance(`receivable:${t.buyer.peerId}`))
  t.buyer.clock.now += WINDOW
  await t.audits.settleDue()
  assert.equal(t.events.length, 3, 'settled once each')
  assert.deepEqual(t.buyer.voids.pending(cheat.peerId), [], 'no VOID signed again')
})

test('a restart keeps what is held: new audits on the same books settle it once due', async () => {
  const t = await setup(() => 'agreed', { rate: 0 })
  commit(t, 0, 's1')
  await t.audits.stop()
  const events: string[] = []
  const again = new JobAudits({
    db: t.buyer.db,
    market: {
      setAside: () => { throw new Error('not used') },
      capture: input => { t.buyer.escrow.capture(input) },
      release: holdId => { t.buyer.escrow.release(holdId) },
      durable: async () => { await t.buyer.ledger.durable() },
      voidPart: async () => { throw new Error('not used') }
    },
    rerun: async () => 'agreed',
    caught: () => {},
    events: { emit: (name: string, event: { subtaskId: string }) => { events.push(`${name} ${event.subtaskId}`) } } as never,
    log: silentLogger().forComponent('test')
  }, { holdback: 0.2, windowMs: WINDOW, rate: 0, random: () => 0, now: () => t.buyer.clock.now + WINDOW })
  await again.settleDue()
  assert.deepEqual(events, ['verify:audited s1'])
})

test('a hold gone by the time it is due (released by its expiry) → forfeited, nothing captured', async () => {
  const t = await setup(() => 'agreed', { rate: 0 })
  commit(t, 0, 's1')
  t.buyer.escrow.release('audit:s1', 'expire')
  t.buyer.clock.now += WINDOW
  await t.audits.settleDue()
  assert.deepEqual(t.events.map(e => [e.outcome, e.audited]), [['forfeited', 'hold-gone']])
  assert.equal(t.buyer.payer.state((t.sellers[0] as BooksNode).peerId).unlisted, 1, 'only the first part is owed')
})

test('nothing is held back with holdback 0, for a price too small to split, or when the hold has no room', async () => {
  const none = await setup(() => 'agreed', { holdback: 0 })
  assert.equal(commit(none, 0, 's1'), 0)
  const t = await setup()
  const tiny = t.audits.holdBack({ jobId: 'j1', subtaskId: 'x', worker: 'w', type: 'text.embed', assignment: {} as TaskAssignment, result: null, resultHash: 'h', receiptId: 'x', price: 4, from: JOB_HOLD })
  assert.equal(tiny, 0)
  const roomless = t.audits.holdBack({ jobId: 'j1', subtaskId: 'y', worker: 'w', type: 'text.embed', assignment: {} as TaskAssignment, result: null, resultHash: 'h', receiptId: 'y', price: 1000 * PRICE, from: JOB_HOLD })
  assert.equal(roomless, 0)
  assert.deepEqual(t.audits.heldBack('j1'), { held: 0, paid: 200 * PRICE, forfeited: 0, nextDueAt: null }, 'the whole price paid at once')
})
