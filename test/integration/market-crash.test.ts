/**
 * SIGKILL at random points loses nothing the books acknowledged and books
 * nothing twice: a child (test/fixtures/market-writer.ts) trades between two
 * file databases — holds, receipts, captures, releases, payment proofs —
 * printing each durable() acknowledgment; we kill it, reopen both books and
 * check every acknowledged thing is there and the invariants hold, start it
 * again (it resumes, repeating idempotent calls), and at the end let it pay
 * everything: A's payable:B equals B's receivable:A to the micro-credit.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadOrCreateIdentity, readIdentity } from '../../src/identity/index.ts'
import { assertBooks, assertJournal, booksNode, type BooksNode } from '../unit/market/books-nodes.ts'
import { tempDir } from '../harness/temp.ts'

const WRITER = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'market-writer.ts')
const KILLS = 6
const GRANT = 1_000_000 * 1_000_000

interface Acks { issued: number, captured: number, accepted: number, acked: number, drained: boolean }

/** Run the writer; in 'run' mode SIGKILL it `delayMs` after its `afterAcks`-th acknowledgment. The acknowledgments it printed. */
async function runWriter (dir: string, mode: 'run' | 'drain', kill = { afterAcks: 0, delayMs: 0 }): Promise<Acks> {
  const acks: Acks = { issued: -1, captured: -1, accepted: 0, acked: 0, drained: false }
  const child = spawn(process.execPath, [WRITER, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] })
  const closed = new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
  let seen = 0
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) {
      const [what, n] = line.split(' ')
      if (what === 'drained') acks.drained = true
      else if (what === 'issued' || what === 'captured' || what === 'accepted' || what === 'acked') acks[what] = Math.max(acks[what], Number(n))
      if (mode === 'run' && ++seen === kill.afterAcks) setTimeout(() => child.kill('SIGKILL'), kill.delayMs)
    }
  })
  const code = await closed
  if (mode === 'drain') assert.equal(code, 0, 'the drain run exits cleanly')
  return acks
}

async function open (dir: string): Promise<{ a: BooksNode, b: BooksNode }> {
  const clock = { now: Date.now() }
  return {
    a: await booksNode({ path: join(dir, 'a', 'agora.db'), identity: await readIdentity(join(dir, 'a')), clock, grant: GRANT }),
    b: await booksNode({ path: join(dir, 'b', 'agora.db'), identity: await readIdentity(join(dir, 'b')), clock, grant: GRANT })
  }
}

const price = (i: number, k: number): number => 1000 + (i * 7919 + k * 104_729) % 50_000
const count = (node: BooksNode, sql: string, ...params: string[]): number => (node.db.sqlite.prepare(sql).get(...params) as { n: number }).n

/** Everything acknowledged is on disk; nothing is booked twice; the invariants hold. */
function checkBooks (a: BooksNode, b: BooksNode, acks: Acks): void {
  for (let i = 0; i <= acks.captured; i++) {
    for (let k = 0; k < 3; k++) assert.ok(a.ledger.has(`capture:r${i}.${k}`), `capture r${i}.${k} acknowledged`)
    assert.ok(a.ledger.has(`release:h${i}`), `release h${i} acknowledged`)
  }
  for (let i = 0; i <= acks.issued; i++) {
    for (let k = 0; k < 3; k++) assert.equal(count(b, 'SELECT COUNT(*) AS n FROM payment_receipts_issued WHERE receipt_id = ?', `r${i}.${k}`), 1)
  }
  assert.ok(b.payee.last(a.peerId).nonce >= acks.accepted, 'accepted proofs kept')
  assert.ok(a.payer.state(b.peerId).acked.nonce >= acks.acked, 'acknowledgments kept')
  // booked once: A spent exactly the prices of the receipts it captured, one capture posting and one owed row each
  const owed = a.db.sqlite.prepare('SELECT receipt_id AS id, amount FROM payment_receipts_owed').all() as Array<{ id: string, amount: number }>
  assert.equal(count(a, "SELECT COUNT(*) AS n FROM ledger_postings WHERE kind = 'capture'"), owed.length)
  let spent = 0
  for (const row of owed) {
    const [i, k] = row.id.slice(1).split('.').map(Number) as [number, number]
    assert.equal(row.amount, price(i, k), `${row.id} at its price`)
    spent += row.amount
  }
  assert.equal(a.ledger.balance('spent'), spent)
  // B earned exactly the receipts its accepted proofs paid, and that is the last cumulative
  const paid = (b.db.sqlite.prepare('SELECT COALESCE(SUM(amount), 0) AS n FROM payment_receipts_issued WHERE paid_nonce IS NOT NULL').get() as { n: number }).n
  assert.equal(-b.ledger.balance('earned'), paid)
  assert.equal(b.ledger.balance(`receivable:${a.peerId}`), b.payee.last(a.peerId).cumulative)
  assert.ok(b.ledger.balance(`receivable:${a.peerId}`) <= -a.ledger.balance(`payable:${b.peerId}`))
  assert.equal(count(b, 'SELECT COUNT(*) AS n FROM payment_proofs_received'), b.payee.last(a.peerId).nonce, 'every proof kept')
  for (const [label, node] of [['A', a], ['B', b]] as const) {
    assertBooks(node.ledger, label)
    assertJournal(node.db)
  }
}

test(`market books survive ${KILLS} SIGKILLs at random points: nothing acknowledged lost, nothing booked twice`, async (t) => {
  const dir = tempDir()
  try {
    await loadOrCreateIdentity(join(dir, 'a'))
    await loadOrCreateIdentity(join(dir, 'b'))
    let total: Acks = { issued: -1, captured: -1, accepted: 0, acked: 0, drained: false }
    for (let kill = 0; kill < KILLS; kill++) {
      // a random point: some acknowledgments in, then a random delay (mid-commit, mid-round, mid-payment)
      const acks = await runWriter(dir, 'run', { afterAcks: 1 + Math.floor(Math.random() * 150), delayMs: Math.floor(Math.random() * 20) })
      total = {
        issued: Math.max(total.issued, acks.issued),
        captured: Math.max(total.captured, acks.captured),
        accepted: Math.max(total.accepted, acks.accepted),
        acked: Math.max(total.acked, acks.acked),
        drained: false
      }
      const { a, b } = await open(dir)
      try {
        checkBooks(a, b, total)
      } finally {
        a.db.close()
        b.db.close()
      }
    }
    const drained = await runWriter(dir, 'drain')
    assert.ok(drained.drained)
    const { a, b } = await open(dir)
    try {
      checkBooks(a, b, total)
      assert.ok(total.captured >= KILLS, `the writer got somewhere (${total.captured} rounds)`)
      assert.equal(-a.ledger.balance(`payable:${b.peerId}`), b.ledger.balance(`receivable:${a.peerId}`), 'payable:B in A = receivable:A in B')
      assert.equal(b.payee.unpaid(a.peerId), 0)
      assert.equal(a.ledger.summary().held, 0)
      t.diagnostic(`${total.captured + 1} rounds, ${b.payee.last(a.peerId).nonce} proofs, ${KILLS} kills`)
    } finally {
      a.db.close()
      b.db.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
