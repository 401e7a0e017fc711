/**
 * A crash between a provisional result's commit and its capture (issue 13):
 * a child (test/fixtures/recapture-writer.ts) commits the result on real
 * file books and SIGKILLs itself at each crash point; the recovery on the
 * reopened books must split the pay as the commit path does — four fifths
 * to the worker at once, a fifth held in `audit:<receipt>` with one audit
 * row due — and a second recovery, after another restart, changes nothing.
 * The worker's books (in this process) then agree with the coordinator's to
 * the micro-credit, before and after the audit window pays the rest.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeEnvelope, loadOrCreateIdentity, readIdentity } from '../../../src/identity/index.ts'
import { recaptureCommitted } from '../../../src/jobs/coordinator/recapture.ts'
import { captureKey, holdKey } from '../../../src/market/ledger/index.ts'
import { tempDir } from '../../harness/temp.ts'
import { assertBooks, assertJournal, booksNode, restart, snapshot, type BooksNode } from '../market/books-nodes.ts'
import { GRANT, JOB, PRICE, SUBTASK, WINDOW_MS, coordinatorBooks } from './recapture-books.ts'

const WRITER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'recapture-writer.ts')
const HELD = Math.floor(PRICE / 5)

type CrashPoint = 'commit' | 'set-aside' | 'capture'

/** Run the writer to crash point `mode`; resolves once it died of its own SIGKILL. */
async function crashAt (dir: string, mode: CrashPoint, worker: string): Promise<void> {
  const child = spawn(process.execPath, [WRITER, dir, mode, worker], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const signal = await new Promise<NodeJS.Signals | null>(resolve => child.once('close', (_code, sig) => resolve(sig)))
  assert.equal(signal, 'SIGKILL', 'the writer died of its SIGKILL')
  assert.equal(out, 'ready\n', 'the job was on disk before the crash')
}

/** Every proof the coordinator owes the worker, accepted. */
function payAll (buyer: BooksNode, seller: BooksNode): void {
  for (let proof = buyer.payer.next(seller.peerId); proof !== undefined; proof = buyer.payer.next(seller.peerId)) {
    seller.payee.accept(encodeEnvelope(proof.envelope))
    buyer.payer.acknowledged(seller.peerId, proof.nonce)
  }
}

const count = (node: BooksNode, sql: string, ...params: string[]): number => (node.db.sqlite.prepare(sql).get(...params) as { n: number }).n

for (const point of ['commit', 'set-aside', 'capture'] as const) {
  test(`SIGKILL after the ${point} of a provisional result: the recovery pays four fifths, holds one fifth for its audit, once`, async () => {
    const dir = tempDir()
    try {
      await loadOrCreateIdentity(dir)
      const seller = await booksNode({ grant: GRANT })
      await crashAt(dir, point, seller.peerId)

      const clock = { now: Date.now() }
      let buyer = await booksNode({ path: join(dir, 'agora.db'), identity: await readIdentity(dir), clock, grant: GRANT })
      try {
        let c = coordinatorBooks(buyer)
        // what the crash left on disk
        assert.equal(c.store.subtask(JOB, SUBTASK)?.state, 'committed')
        assert.equal(count(buyer, 'SELECT COUNT(*) AS n FROM job_audits'), 1, 'the audit row came with the commit')
        assert.equal(buyer.ledger.has(holdKey(`audit:${c.receiptId}`)), point !== 'commit', 'set aside before the crash')
        assert.equal(buyer.ledger.has(captureKey(c.receiptId)), point === 'capture', 'captured before the crash')

        assert.equal(recaptureCommitted({ store: c.store, market: c.market, audits: c.audits, selfPeerId: buyer.peerId }, JOB), 1)
        await buyer.ledger.durable()
        const owed = buyer.db.sqlite.prepare('SELECT amount FROM payment_receipts_owed WHERE receipt_id = ?').all(c.receiptId) as Array<{ amount: number }>
        assert.deepEqual(owed.map(r => r.amount), [PRICE - HELD], 'four fifths owed to the worker at once, once')
        assert.equal(buyer.escrow.remaining(`audit:${c.receiptId}`), HELD, 'a fifth held in audit:<receipt>')
        assert.equal(buyer.ledger.balance('spent'), PRICE - HELD)
        const audit = buyer.db.sqlite.prepare('SELECT state, amount, due_at AS dueAt FROM job_audits WHERE receipt_id = ?').get(c.receiptId) as { state: string, amount: number, dueAt: number }
        assert.deepEqual({ state: audit.state, amount: audit.amount }, { state: 'held', amount: HELD })
        assert.ok(audit.dueAt > clock.now && audit.dueAt <= clock.now + WINDOW_MS, 'due after the audit window')
        assertBooks(buyer.ledger, 'coordinator')
        assertJournal(buyer.db)

        // a second recovery, after another restart (memory lost, disk kept), changes nothing
        const before = snapshot(buyer.ledger)
        buyer = restart(buyer)
        c = coordinatorBooks(buyer)
        recaptureCommitted({ store: c.store, market: c.market, audits: c.audits, selfPeerId: buyer.peerId }, JOB)
        await buyer.ledger.durable()
        assert.deepEqual(snapshot(buyer.ledger), before, 'the books did not move')
        assert.equal(count(buyer, 'SELECT COUNT(*) AS n FROM job_audits'), 1)
        assert.equal(count(buyer, "SELECT COUNT(*) AS n FROM ledger_postings WHERE kind = 'capture'"), 1)

        // the worker's side agrees to the micro-credit: four fifths paid, one owed until the audit
        seller.payee.issue({ receiptId: c.receiptId, buyer: buyer.peerId, amount: PRICE })
        payAll(buyer, seller)
        assert.equal(seller.payee.unpaid(buyer.peerId), HELD)
        assert.equal(-buyer.ledger.balance(`payable:${seller.peerId}`), seller.ledger.balance(`receivable:${buyer.peerId}`))
        assert.equal(seller.ledger.balance('earned'), -(PRICE - HELD))

        // once due, the sweep pays the held fifth as the rest of the same receipt
        clock.now = audit.dueAt
        await c.audits.settleDue()
        payAll(buyer, seller)
        assert.equal(seller.payee.unpaid(buyer.peerId), 0)
        assert.equal(seller.ledger.balance('earned'), -PRICE)
        assert.equal(buyer.ledger.balance('spent'), PRICE)
        assert.equal(-buyer.ledger.balance(`payable:${seller.peerId}`), seller.ledger.balance(`receivable:${buyer.peerId}`))
        assertBooks(buyer.ledger, 'coordinator')
        assertBooks(seller.ledger, 'worker')
      } finally {
        buyer.db.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}
