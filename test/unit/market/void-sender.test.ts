/**
 * Delivery of VOIDs (src/market/void-sender.ts) on real SQLite books: a VOID
 * the payee could not be reached for is sent again, unchanged, with a
 * doubling delay, until acknowledged; one left unacknowledged at a stop goes
 * out again at the next start, the same signed message; once acknowledged
 * it is not sent again.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { encodeEnvelope, type Envelope } from '../../../src/identity/index.ts'
import type { SentVoids } from '../../../src/market/payments/voids-sent.ts'
import { VoidSender } from '../../../src/market/void-sender.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { waitFor } from '../../harness/wait.ts'
import { booksNode, CREDIT, restart, type BooksNode } from './books-nodes.ts'

const PRICE = CREDIT
const REST = 200_000

async function forfeited (): Promise<{ a: BooksNode, b: BooksNode }> {
  const a = await booksNode({ grant: 100 * CREDIT })
  const b = await booksNode({ grant: 100 * CREDIT })
  b.payee.issue({ receiptId: 'r1', buyer: a.peerId, amount: PRICE })
  a.voids.add({ payee: b.peerId, receiptId: 'r1', amount: REST, reason: { kind: 'audit', jobId: 'j', subtaskId: 'j:0', resultHash: 'h1', auditHash: 'h2', audited: 'disagreed' } })
  await a.ledger.durable()
  return { a, b }
}

/** A sender over `voids` whose payee is offline until `online()` says otherwise. */
function sender (voids: SentVoids, b: BooksNode, online: () => boolean, sent: Envelope[]): VoidSender {
  return new VoidSender({
    voids,
    durable: async () => {},
    send: async (_payee, envelope) => {
      sent.push(envelope)
      if (!online()) throw new AgoraError('E201', 'the payee could not be dialled')
      b.payee.applyVoid(encodeEnvelope(envelope))
    },
    log: silentLogger().forComponent('test')
  }, { retryMinMs: 5, retryMaxMs: 40, timeoutMs: 1000 })
}

test('a VOID not delivered is sent again later, unchanged, until the payee books it; then never again', async () => {
  const { a, b } = await forfeited()
  const sent: Envelope[] = []
  const voids = sender(a.voids, b, () => sent.length >= 3, sent)
  voids.start()
  await waitFor('the VOID acknowledged', () => a.voids.pending(b.peerId).length === 0, { timeoutMs: 5000 })
  voids.stop()
  assert.equal(sent.length, 3, 'two failures, then delivered')
  assert.ok(sent.every(e => e.sig === sent[0]?.sig), 'the same signed VOID each time')
  assert.equal(b.payee.unpaid(a.peerId), PRICE - REST)
  assert.equal(b.payee.voided(a.peerId), REST)
  // acknowledged is on disk: a restart does not send it again
  await a.ledger.durable()
  const a2 = restart(a)
  const again = sender(a2.voids, b, () => true, sent)
  again.start()
  again.queued(b.peerId)
  again.stop()
  assert.equal(sent.length, 3)
  assert.equal(a2.voids.voided(b.peerId), REST, 'what it voided still shows')
})

test('a VOID still undelivered at a stop goes out at the next start, the same signed message', async () => {
  const { a, b } = await forfeited()
  const sent: Envelope[] = []
  const offline = sender(a.voids, b, () => false, sent)
  offline.start()
  await waitFor('a first attempt', () => sent.length >= 1, { timeoutMs: 5000 })
  offline.stop()
  const a2 = restart(a)
  const back = sender(a2.voids, b, () => true, sent)
  back.start()
  await waitFor('the VOID acknowledged after the restart', () => a2.voids.pending(b.peerId).length === 0, { timeoutMs: 5000 })
  back.stop()
  assert.equal(sent.at(-1)?.sig, sent[0]?.sig, 'the VOID kept on disk is the one sent')
  assert.equal(b.payee.voided(a.peerId), REST)
  assert.equal(a2.voids.add({ payee: b.peerId, receiptId: 'r1', amount: REST, reason: { kind: 'audit', jobId: 'j', subtaskId: 'j:0', resultHash: 'h1', audited: 'disagreed' } }), false, 'once per receipt')
})
