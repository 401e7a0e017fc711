import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openStore, Database, PeersRepository } from '../../../src/store/index.ts'
import { MIGRATIONS } from '../../../src/store/migrations/index.ts'
import { isAgoraError } from '../../../src/errors.ts'
import { tempDir } from '../../harness/temp.ts'

test('migrations run once, record their version, and the file is in WAL mode', () => {
  const dir = tempDir()
  try {
    const file = join(dir, 'agora.db')
    const first = openStore(file)
    assert.equal(first.db.schemaVersion, MIGRATIONS.at(-1)?.version)
    const mode = first.db.sqlite.prepare('PRAGMA journal_mode').get() as { journal_mode: string }
    assert.equal(mode.journal_mode, 'wal')
    first.kv.set('k', { a: 1 })
    first.close()
    const again = openStore(file) // migrations must not run twice
    assert.deepEqual(again.kv.get('k'), { a: 1 })
    again.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a store from a newer agora is refused with E401', () => {
  const dir = tempDir()
  try {
    const file = join(dir, 'agora.db')
    const db = new Database({ path: file })
    db.sqlite.exec('PRAGMA user_version = 999')
    db.close()
    assert.throws(() => openStore(file), err => isAgoraError(err, 'E401'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('migration 008 turns a stored ban expiry past the safe integers into a ban without expiry', () => {
  const dir = tempDir()
  try {
    const file = join(dir, 'agora.db')
    const old = new Database({ path: file, migrations: MIGRATIONS.filter(m => m.version < 8) })
    // what a ban of durationMs 2^53 − 1 stored before bans were clamped
    old.sqlite.exec("INSERT INTO peers (peer_id, first_seen, last_seen, banned_until, ban_reason) VALUES ('p', 1, 1, 1800000000000000000, 'huge')")
    assert.throws(() => new PeersRepository(old).list(), /too large|out of range/i, 'the row such a ban left cannot be read')
    old.close()
    const store = openStore(file)
    assert.deepEqual(store.peers.list().map(p => [p.peerId, p.bannedUntil]), [['p', Number.MAX_SAFE_INTEGER]])
    store.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a failing transaction stores nothing', () => {
  const store = openStore(':memory:')
  assert.throws(() => store.db.transaction(() => {
    store.kv.set('a', 1)
    throw new Error('boom')
  }), /boom/)
  assert.equal(store.kv.get('a'), undefined)
  store.close()
})

test('kv set, overwrite, delete', () => {
  const store = openStore(':memory:')
  store.kv.set('x', [1, 2])
  store.kv.set('x', 'y')
  assert.equal(store.kv.get('x'), 'y')
  assert.equal(store.kv.delete('x'), true)
  assert.equal(store.kv.delete('x'), false)
  store.close()
})

test('peer book: addresses merge newest first, latency is an EWMA, outcomes count', () => {
  const store = openStore(':memory:')
  store.peers.seen('p1', ['/a'], 1000)
  store.peers.seen('p1', ['/b'], 2000)
  const record = store.peers.get('p1')
  assert.deepEqual(record?.addresses, ['/b', '/a'])
  assert.equal(record?.firstSeen, 1000)
  assert.equal(record?.lastSeen, 2000)
  assert.equal(store.peers.recordLatency('p1', 10), 10)
  assert.equal(store.peers.recordLatency('p1', 20), 13)
  store.peers.recordOutcome('p1', 'success')
  store.peers.recordOutcome('p1', 'timeout')
  store.peers.setTrusted('p1', true)
  store.peers.setBan('p1', 5000, 'spam')
  const after = store.peers.get('p1')
  assert.deepEqual([after?.successes, after?.failures, after?.timeouts, after?.trusted, after?.bannedUntil, after?.banReason], [1, 0, 1, true, 5000, 'spam'])
  assert.equal(store.peers.count(), 1)
  store.close()
})

test('the peer book keeps a bounded number of peers: the least recently seen go first, never trusted or banned ones', () => {
  const db = new Database({ path: ':memory:' })
  const peers = new PeersRepository(db, { maxRows: 300 })
  peers.seen('trusted', [], 1)
  peers.setTrusted('trusted', true)
  peers.seen('banned', [], 2)
  peers.setBan('banned', 1e12, 'spam')
  peers.seen('expired-ban', [], 3)
  peers.setBan('expired-ban', 500, 'old')
  // throwaway identities, each seen once
  for (let i = 0; i < 600; i++) peers.seen(`sybil-${i}`, ['/ip4/10.0.0.1/tcp/1'], 1000 + i)
  const before = peers.count()
  assert.ok(before > 300 && before <= 300 + 256, `${before} rows: the count is checked every 256 writes`)
  assert.equal(peers.prune(2000), before - 300)
  assert.equal(peers.count(), 300)
  assert.equal(peers.get('trusted')?.trusted, true)
  assert.equal(peers.get('banned')?.banReason, 'spam')
  assert.equal(peers.get('expired-ban'), undefined, 'an expired ban protects nothing')
  assert.equal(peers.get('sybil-0'), undefined)
  assert.ok(peers.get('sybil-599') !== undefined, 'the most recently seen stay')
  // a ban on the stalest peer lands even when pruning is due: ensure() never prunes, seen() spares the peer it writes
  for (let i = 0; i < 255; i++) peers.seen(`late-${i}`, [], 5000 + i)
  peers.ensure('sybil-300')
  peers.setBan('sybil-300', 1e12, 'late ban')
  peers.seen('sybil-301', [], 1)
  assert.equal(peers.get('sybil-300')?.banReason, 'late ban')
  assert.ok(peers.get('sybil-301') !== undefined, 'the peer just seen is never the one pruned')
  db.close()
})

test('peer records are read through a cache that every write refreshes; cached records are frozen', () => {
  const db = new Database({ path: ':memory:' })
  const peers = new PeersRepository(db)
  peers.seen('p1', ['/ip4/127.0.0.1/tcp/1'], 1)
  const first = peers.get('p1')
  assert.equal(peers.get('p1'), first, 'a second read comes from memory')
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first?.addresses))
  peers.recordObservation('p1', 'success', { alpha: 3, beta: 1, updatedAt: 5 })
  assert.deepEqual(peers.get('p1')?.reputationState, { alpha: 3, beta: 1, updatedAt: 5 })
  peers.setTrusted('p1', true)
  assert.equal(peers.get('p1')?.trusted, true)
  peers.seen('p1', ['/ip4/127.0.0.1/tcp/2'], 2)
  assert.deepEqual(peers.get('p1')?.addresses, ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/1'])
  assert.equal(peers.recordLatency('p1', 10), 10)
  assert.equal(peers.get('p1')?.latencyMs, 10)
  db.close()
})

test('replay guard remembers pairs until they expire', () => {
  const store = openStore(':memory:')
  assert.equal(store.replay.remember('s', 'n1', 100), true)
  assert.equal(store.replay.remember('s', 'n1', 100), false)
  assert.equal(store.replay.remember('t', 'n1', 100), true, 'nonces are per signer')
  assert.equal(store.replay.prune(101), 2)
  assert.equal(store.replay.count(), 0)
  store.close()
})
