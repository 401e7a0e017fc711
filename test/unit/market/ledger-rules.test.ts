/** The ledger's rules, one by one, on a real SQLite database: sums, signs, idempotency, group commit, failure, history. */
import { test, mock } from 'node:test'
import fs, { rmSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { Database } from '../../../src/store/index.ts'
import { MAX_MICRO } from '../../../src/market/amount.ts'
import { Ledger, holdPosting, type PostingInput } from '../../../src/market/ledger/index.ts'
import { OFF_LOOP_SYNCS, WalSync } from '../../../src/market/ledger/wal-sync.ts'
import { isCode } from '../../harness/checks.ts'
import { tempDir } from '../../harness/temp.ts'
import { waitFor } from '../../harness/wait.ts'
import { assertBooks, assertJournal, CREDIT, snapshot } from './books-nodes.ts'

function ledgerOn (db: Database = new Database({ path: ':memory:' }), grant = 100 * CREDIT): Ledger {
  const ledger = new Ledger({ db, logger: silentLogger() }, { grant, now: () => 1000 })
  ledger.start()
  return ledger
}

const move = (key: string, from: string, to: string, amount: number): PostingInput =>
  ({ key, kind: 'test', entries: [{ account: from, amount: -amount }, { account: to, amount }] })

test('the grant is posted once: on the first start, not again after a restart', async () => {
  const db = new Database({ path: ':memory:' })
  const first = ledgerOn(db)
  assert.equal(first.balance('available'), 100 * CREDIT)
  assert.equal(first.balance('grant'), -100 * CREDIT)
  await first.durable()
  const again = ledgerOn(db, 500 * CREDIT)
  assert.equal(again.balance('available'), 100 * CREDIT, 'a changed initialCredits does not grant again')
  assert.deepEqual(again.summary(), { grant: 100 * CREDIT, earned: 0, spent: 0, available: 100 * CREDIT, held: 0, balance: 100 * CREDIT })
})

test('a posting applies at once; balances, accounts and has() see it before the commit', () => {
  const ledger = ledgerOn()
  assert.equal(ledger.post(holdPosting('h1', 30 * CREDIT)), 'applied')
  assert.equal(ledger.balance('available'), 70 * CREDIT)
  assert.equal(ledger.balance('held:h1'), 30 * CREDIT)
  assert.deepEqual(ledger.accounts('held:'), [['held:h1', 30 * CREDIT]])
  assert.equal(ledger.has('hold:h1'), true)
  assert.equal(ledger.has('hold:h2'), false)
  assertBooks(ledger)
})

test('the same key again is a duplicate and changes nothing — also after a restart', async () => {
  const db = new Database({ path: ':memory:' })
  const ledger = ledgerOn(db)
  ledger.post(holdPosting('h1', 5 * CREDIT))
  const before = snapshot(ledger)
  assert.equal(ledger.post(holdPosting('h1', 5 * CREDIT)), 'duplicate', 'pending')
  assert.deepEqual(snapshot(ledger), before)
  await ledger.durable()
  assert.equal(ledger.post(holdPosting('h1', 5 * CREDIT)), 'duplicate', 'committed')
  const restarted = ledgerOn(db)
  assert.equal(restarted.post(holdPosting('h1', 5 * CREDIT)), 'duplicate', 'after a restart')
  assert.deepEqual(snapshot(restarted), before)
  assert.equal((db.sqlite.prepare('SELECT COUNT(*) AS n FROM ledger_postings WHERE key = ?').get('hold:h1') as { n: number }).n, 1)
})

test('has() then post() under a key found nowhere: applied once; after the commit, again → duplicate (the lookup has() saved is not trusted twice)', async () => {
  const ledger = ledgerOn()
  assert.equal(ledger.has('hold:h1'), false)
  assert.equal(ledger.post(holdPosting('h1', 5 * CREDIT)), 'applied')
  await ledger.durable()
  const before = snapshot(ledger)
  assert.equal(ledger.post(holdPosting('h1', 5 * CREDIT)), 'duplicate')
  assert.throws(() => ledger.post(holdPosting('h1', 6 * CREDIT)), isCode('E1103'))
  assert.deepEqual(snapshot(ledger), before)
  // a refused posting under a key has() found nowhere takes nothing: the key stays free
  assert.equal(ledger.has('hold:h2'), false)
  assert.throws(() => ledger.post(holdPosting('h2', 500 * CREDIT)), isCode('E1101'))
  assert.equal(ledger.post(holdPosting('h2', 5 * CREDIT)), 'applied')
})

test('a key reused for different entries → E1103, nothing changes', async () => {
  const ledger = ledgerOn()
  ledger.post(holdPosting('h1', 5 * CREDIT))
  const before = snapshot(ledger)
  assert.throws(() => ledger.post(holdPosting('h1', 6 * CREDIT)), isCode('E1103'))
  await ledger.durable()
  assert.throws(() => ledger.post(holdPosting('h1', 6 * CREDIT)), isCode('E1103'))
  assert.deepEqual(snapshot(ledger), before)
})

test('entries that do not sum to zero → E1103, refused whole', () => {
  const ledger = ledgerOn()
  const before = snapshot(ledger)
  assert.throws(() => ledger.post({ key: 'k', kind: 'test', entries: [{ account: 'available', amount: -5 }, { account: 'held:h', amount: 4 }] }), isCode('E1103'))
  assert.deepEqual(snapshot(ledger), before)
  assert.equal(ledger.has('k'), false, 'a refused posting does not take its key')
})

test('an unknown account → E1103', () => {
  const ledger = ledgerOn()
  assert.throws(() => ledger.post(move('k', 'available', 'savings', 5)), isCode('E1103'))
  assert.throws(() => ledger.post(move('k', 'available', 'held:', 5)), isCode('E1103'), 'a prefix needs an id')
})

test('the same account twice in one posting → E1103', () => {
  const ledger = ledgerOn()
  assert.throws(() => ledger.post({ key: 'k', kind: 'test', entries: [{ account: 'available', amount: -5 }, { account: 'available', amount: 5 }] }), isCode('E1103'))
})

test('a posting available cannot cover → E1101 naming available, the amount and the fix', () => {
  const ledger = ledgerOn(undefined, 10 * CREDIT)
  const before = snapshot(ledger)
  assert.throws(() => ledger.post(holdPosting('big', 12_500_000)), (err: unknown) => {
    isCode('E1101')(err)
    const text = (err as Error & { format(): string }).format()
    assert.match(text, /cannot cover 12\.500000 credits/)
    assert.match(text, /available is 10\.000000 credits/)
    assert.match(text, /lower the amount/)
    return true
  })
  assert.deepEqual(snapshot(ledger), before)
})

test('every account keeps its sign: crossing it → E1103', () => {
  const ledger = ledgerOn()
  const crossings: Array<[string, PostingInput]> = [
    ['held below zero', move('a', 'held:h', 'available', 1)],
    ['spent below zero', move('b', 'spent', 'available', 1)],
    ['receivable below zero', move('c', 'receivable:p', 'settlement', 1)],
    ['payable above zero', move('d', 'settlement', 'payable:p', 1)],
    ['earned above zero', move('e', 'available', 'earned', 1)],
    ['grant above zero', move('f', 'settlement', 'grant', 101 * CREDIT)]
  ]
  for (const [label, posting] of crossings) assert.throws(() => ledger.post(posting), isCode('E1103'), label)
  assert.equal(ledger.post(move('g', 'receivable:p', 'settlement', -1)), 'applied', 'settlement may take either sign')
  assert.ok(ledger.balance('settlement') < 0)
  assert.equal(ledger.post(move('h', 'settlement', 'payable:p', -5)), 'applied')
  assert.ok(ledger.balance('settlement') > 0)
})

test('an amount that is not a whole number of micro-credits → E1100', () => {
  const ledger = ledgerOn()
  assert.throws(() => ledger.post(move('k', 'available', 'held:h', 0.5)), isCode('E1100'))
  assert.throws(() => ledger.post(move('k', 'available', 'held:h', Number.NaN)), isCode('E1100'))
})

test('an amount past the safe range → E1100', () => {
  const ledger = ledgerOn()
  assert.throws(() => ledger.post(move('k', 'settlement', 'receivable:p', MAX_MICRO + 1)), isCode('E1100'))
})

test('a balance that would pass the safe range → E1100, refused whole', () => {
  const ledger = ledgerOn()
  assert.equal(ledger.post(move('k1', 'settlement', 'receivable:p', MAX_MICRO)), 'applied')
  const before = snapshot(ledger)
  assert.throws(() => ledger.post(move('k2', 'settlement', 'receivable:p', 1)), isCode('E1100'))
  assert.deepEqual(snapshot(ledger), before)
})

test('zero entries are not stored; a posting of nothing still takes its key', async () => {
  const db = new Database({ path: ':memory:' })
  const ledger = ledgerOn(db)
  assert.equal(ledger.post(holdPosting('zero', 0)), 'applied')
  assert.equal(ledger.post(holdPosting('zero', 0)), 'duplicate')
  await ledger.durable()
  assert.equal((db.sqlite.prepare("SELECT COUNT(*) AS n FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id WHERE p.key = 'hold:zero'").get() as { n: number }).n, 0)
})

test('a posting before start() → E1103', () => {
  const ledger = new Ledger({ db: new Database({ path: ':memory:' }), logger: silentLogger() }, { grant: 0 })
  assert.throws(() => ledger.post(holdPosting('h', 0)), isCode('E1103'))
})

test('group commit: one transaction for the postings of a turn; durable() waits for the WAL to be fdatasynced', async () => {
  const dir = tempDir('agora-ledger-')
  const db = new Database({ path: join(dir, 'ledger.db') })
  const metrics = createRegistry({ defaultMetrics: false })
  const synced: number[] = []
  const realSync = fs.fdatasync
  const realSyncInline = fs.fdatasyncSync
  mock.method(fs, 'fdatasync', (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => { synced.push(fd); realSync(fd, callback) })
  mock.method(fs, 'fdatasyncSync', (fd: number) => { synced.push(fd); realSyncInline(fd) })
  syncBuiltinESMExports()
  try {
    const ledger = new Ledger({ db, logger: silentLogger(), metrics }, { grant: 100 * CREDIT })
    ledger.start()
    await ledger.durable()
    const afterGrant = synced.length
    assert.ok(afterGrant >= 1, 'the grant was synced before durable() resolved')
    for (let i = 0; i < 50; i++) ledger.post(holdPosting(`h${i}`, CREDIT))
    assert.equal((db.sqlite.prepare('SELECT COUNT(*) AS n FROM ledger_postings').get() as { n: number }).n, 1, 'nothing written before the turn ends')
    await ledger.durable()
    assert.equal(synced.length, afterGrant + 1, 'one sync for the 50 holds')
    assert.equal((db.sqlite.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous, 1, 'the connection stays NORMAL (1): SQLite never fsyncs on the event loop')
    assert.equal((db.sqlite.prepare('SELECT COUNT(*) AS n FROM ledger_postings').get() as { n: number }).n, 51)
    const commits = (await metrics.getSingleMetric('agora_market_ledger_commits_total')?.get())?.values.find(v => v.labels.outcome === 'ok')?.value
    assert.equal(commits, 2, 'the grant, then the 50 holds in one commit')
    await ledger.durable()
    assert.equal(synced.length, afterGrant + 1, 'nothing new: no sync')
    // a commit nobody waited for (LAZY_COMMIT_MS later) is synced by the next durable(), even with nothing queued
    ledger.post(holdPosting('lazy', CREDIT))
    await waitFor('the lazy commit', () => (db.sqlite.prepare('SELECT COUNT(*) AS n FROM ledger_postings').get() as { n: number }).n === 52)
    assert.equal(synced.length, afterGrant + 1)
    await ledger.durable()
    assert.equal(synced.length, afterGrant + 2)
    // callers of one turn that each post, then wait (a handler per request): one commit and one sync at the turn's end
    const handlers = Array.from({ length: 8 }, async (_, i) => {
      ledger.post(holdPosting(`turn${i}`, CREDIT))
      await ledger.durable()
    })
    assert.equal((db.sqlite.prepare('SELECT COUNT(*) AS n FROM ledger_postings').get() as { n: number }).n, 52, 'nothing written during the turn')
    await Promise.all(handlers)
    assert.equal(synced.length, afterGrant + 3)
    assert.equal((db.sqlite.prepare('SELECT COUNT(*) AS n FROM ledger_postings').get() as { n: number }).n, 60)
    ledger.stop()
    assertJournal(db)
  } finally {
    mock.restoreAll()
    syncBuiltinESMExports()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('WAL syncs run inline while the disk is fast; a slow one moves them off the event loop for a while, then inline is tried again', async () => {
  const dir = tempDir('agora-wal-')
  const db = new Database({ path: join(dir, 'ledger.db') })
  let clock = 0
  let syncMs = 0.3
  const inline: number[] = []
  const pooled: number[] = []
  const realSync = fs.fdatasync
  const realSyncInline = fs.fdatasyncSync
  mock.method(fs, 'fdatasync', (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => { pooled.push(fd); realSync(fd, callback) })
  mock.method(fs, 'fdatasyncSync', (fd: number) => { inline.push(fd); clock += syncMs; realSyncInline(fd) })
  syncBuiltinESMExports()
  try {
    db.sqlite.exec('CREATE TABLE t (x)')
    const wal = new WalSync(db.path, { now: () => clock })
    for (let i = 0; i < 10; i++) await wal.sync()
    assert.deepEqual([inline.length, pooled.length], [10, 0], 'a fast disk is synced inline')
    syncMs = 12
    await wal.sync()
    assert.equal(wal.inline, false, 'one 12 ms sync moves the syncs off the loop')
    for (let i = 0; i < OFF_LOOP_SYNCS; i++) await wal.sync()
    assert.deepEqual([inline.length, pooled.length], [11, OFF_LOOP_SYNCS])
    syncMs = 0.3
    await wal.sync()
    assert.equal(inline.length, 12, 'then inline again')
    assert.equal(wal.inline, true)
    wal.close()
  } finally {
    mock.restoreAll()
    syncBuiltinESMExports()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('durable() resolves at once when nothing is pending', async () => {
  const ledger = ledgerOn()
  await ledger.durable()
  await ledger.durable()
})

test('a failed commit reloads balances from disk and rejects durable() (E400): memory never stays ahead of disk', async () => {
  const db = new Database({ path: ':memory:' })
  const ledger = ledgerOn(db)
  ledger.post(holdPosting('kept', 10 * CREDIT))
  await ledger.durable()
  let reloaded = 0
  ledger.onReload(() => reloaded++)
  ledger.post(holdPosting('lost', 20 * CREDIT))
  ledger.write(() => { throw new Error('disk I/O error') })
  assert.equal(ledger.balance('held:lost'), 20 * CREDIT)
  await assert.rejects(ledger.durable(), isCode('E400'))
  assert.equal(reloaded, 1)
  assert.equal(ledger.balance('held:lost'), 0)
  assert.equal(ledger.balance('available'), 90 * CREDIT)
  assert.equal(ledger.has('hold:lost'), false)
  assert.equal((db.sqlite.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous, 1)
  // and it goes on
  assert.equal(ledger.post(holdPosting('lost', 20 * CREDIT)), 'applied')
  await ledger.durable()
  assert.equal(ledger.balance('available'), 70 * CREDIT)
  assertJournal(db)
})

test('history: newest first, each entry with the balance after it, by account or prefix, paged by posting id', async () => {
  const ledger = ledgerOn()
  ledger.post(holdPosting('h1', 10 * CREDIT, 'job:1'))
  ledger.post(holdPosting('h2', 5 * CREDIT))
  const all = ledger.history()
  assert.equal(all.length, 6)
  assert.deepEqual(all.slice(0, 2).map(e => e.postingId), [3, 3])
  assert.deepEqual(all.find(e => e.account === 'held:h2'), { postingId: 3, at: 1000, kind: 'hold', account: 'held:h2', amount: 5 * CREDIT, balance: 5 * CREDIT, ref: null, peer: null })
  assert.deepEqual(ledger.history({ account: 'available' }).map(e => e.balance), [85 * CREDIT, 90 * CREDIT, 100 * CREDIT])
  assert.deepEqual(ledger.history({ account: 'held:' }).map(e => e.account), ['held:h2', 'held:h1'])
  assert.deepEqual(ledger.history({ account: 'held:h1' }).map(e => e.ref), ['job:1'])
  assert.deepEqual(ledger.history({ before: 3 }).map(e => e.postingId), [2, 2, 1, 1])
  assert.equal(ledger.history({ limit: 1 }).length, 1)
})
