import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AgoraEvents, type AgoraEventMap, type AgoraEventName } from '../../../src/events.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { openStore, PeersRepository, type Store } from '../../../src/store/index.ts'
import { APP_SCORE_BANNED, AUTO_BAN_REASON, BAN_FOREVER, PeerBook, type PeerBookInit } from '../../../src/peers/index.ts'
import type { MultiaddrConnection } from '@libp2p/interface'

interface Fixture {
  store: Store
  book: PeerBook
  events: AgoraEvents
  clock: { now: number }
  seen: <K extends AgoraEventName>(name: K) => Array<AgoraEventMap[K]>
}

function fixture (init: PeerBookInit = {}, store: Store = openStore(':memory:')): Fixture {
  const events = new AgoraEvents()
  const clock = { now: 1_000_000 }
  const book = new PeerBook({ peers: store.peers, events, logger: silentLogger(), metrics: createRegistry({ defaultMetrics: false }) }, {
    banThreshold: 0.2, minObservations: 8, banDurationMs: 60_000, now: () => clock.now, ...init
  })
  const log = new Map<AgoraEventName, unknown[]>()
  for (const name of ['peer:reputation', 'peer:banned', 'peer:unbanned', 'peer:trusted', 'peer:untrusted'] as const) {
    log.set(name, [])
    events.on(name, (payload: unknown) => { log.get(name)?.push(payload) })
  }
  const seen = <K extends AgoraEventName>(name: K): Array<AgoraEventMap[K]> => (log.get(name) ?? []) as Array<AgoraEventMap[K]>
  return { store, book, events, clock, seen }
}

describe('peers: peer book', () => {
  test('migration 002 adds the reputation columns; a stranger reads 0.5', () => {
    const { store, book } = fixture()
    assert.ok(store.db.schemaVersion >= 2)
    const columns = (store.db.sqlite.prepare('PRAGMA table_info(peers)').all() as Array<{ name: string }>).map(c => c.name)
    for (const column of ['invalids', 'rep_alpha', 'rep_beta', 'rep_updated_at', 'uptime_ok', 'uptime_total', 'uptime_updated_at']) {
      assert.ok(columns.includes(column), column)
    }
    assert.equal(book.reputation('nobody'), 0.5)
    assert.equal(book.view('nobody'), undefined)
    assert.equal(book.isBanned('nobody'), false)
    assert.equal(book.appSpecificScore('nobody'), 0)
    store.close()
  })

  test('failures lower the reputation, emit peer:reputation, and ban below the threshold after enough evidence', () => {
    const { store, book, clock, seen } = fixture()
    const reputations: number[] = []
    for (let i = 0; i < 7; i++) {
      reputations.push(book.record('p1', 'failure'))
      clock.now += 10
    }
    assert.ok(reputations.every((r, i) => i === 0 || r < (reputations[i - 1] ?? 1)), 'each failure lowers it')
    assert.ok((reputations.at(-1) ?? 1) < 0.2, 'already under the threshold…')
    assert.equal(book.isBanned('p1'), false, '…but seven observations are not enough evidence')
    assert.equal(seen('peer:reputation').length, 7)
    assert.deepEqual(seen('peer:reputation')[0], { peerId: 'p1', reputation: 1 / 3, previous: 0.5 })

    book.record('p1', 'failure')
    assert.equal(book.isBanned('p1'), true)
    assert.deepEqual(seen('peer:banned'), [{ peerId: 'p1', reason: AUTO_BAN_REASON, until: clock.now + 60_000, auto: true }])
    const view = book.view('p1')
    assert.equal(view?.failures, 8)
    assert.equal(view?.banReason, AUTO_BAN_REASON)
    assert.equal(view?.banned, true)
    assert.equal(book.appSpecificScore('p1'), APP_SCORE_BANNED)

    // a banned peer is not banned again by further observations
    book.record('p1', 'failure')
    assert.equal(seen('peer:banned').length, 1)

    // the cool-down ends
    clock.now += 60_001
    assert.equal(book.isBanned('p1'), false)
    assert.equal(book.view('p1')?.banned, false)
    store.close()
  })

  test('peer:reputation only when the score moved by 0.01 since the last event', () => {
    const { store, book, seen } = fixture({ minObservations: 1000 })
    for (let i = 0; i < 200; i++) book.record('p1', 'success')
    const events = seen('peer:reputation')
    assert.ok(events.length > 5 && events.length < 60, `${events.length} events for 200 successes`)
    for (const event of events) assert.ok(Math.abs(event.reputation - event.previous) >= 0.01)
    for (let i = 1; i < events.length; i++) assert.equal(events[i]?.previous, events[i - 1]?.reputation, 'previous is the last announced value')
    store.close()
  })

  test('an invalid message weighs more than a failure and is counted', () => {
    const { store, book } = fixture()
    const afterFailure = book.record('a', 'failure')
    const afterInvalid = book.record('b', 'invalid')
    assert.ok(afterInvalid < afterFailure)
    assert.equal(book.view('b')?.invalids, 1)
    assert.equal(book.view('b')?.evidence, 3)
    // three forged messages are enough for a ban
    book.record('b', 'invalid')
    book.record('b', 'invalid')
    assert.equal(book.isBanned('b'), true)
    store.close()
  })

  test('a trusted peer is never banned automatically; trust and untrust emit events once', () => {
    const { store, book, seen } = fixture()
    assert.equal(book.trust('t'), true)
    assert.equal(book.trust('t'), false)
    assert.equal(book.isTrusted('t'), true)
    for (let i = 0; i < 50; i++) book.record('t', 'invalid')
    assert.ok(book.reputation('t') < 0.05)
    assert.equal(book.isBanned('t'), false)
    assert.deepEqual(seen('peer:banned'), [])
    assert.equal(book.appSpecificScore('t'), 10)
    assert.deepEqual(book.trusted().map(p => p.peerId), ['t'])
    assert.equal(book.untrust('t'), true)
    assert.equal(book.untrust('t'), false)
    assert.deepEqual(seen('peer:trusted'), [{ peerId: 't' }])
    assert.deepEqual(seen('peer:untrusted'), [{ peerId: 't' }])
    // untrusted now: the next failure bans it
    book.record('t', 'failure')
    assert.equal(book.isBanned('t'), true)
    store.close()
  })

  test('manual ban (trusted peers too), without expiry, and unban starts the peer over as a stranger', () => {
    const { store, book, clock, seen } = fixture()
    book.trust('m')
    book.ban('m', { reason: 'spam' })
    assert.equal(book.isBanned('m'), true)
    assert.equal(book.view('m')?.bannedUntil, BAN_FOREVER)
    assert.deepEqual(seen('peer:banned'), [{ peerId: 'm', reason: 'spam', until: null, auto: false }])
    clock.now += 365 * 24 * 3600 * 1000
    assert.equal(book.isBanned('m'), true, 'a ban without expiry lasts')

    for (let i = 0; i < 5; i++) book.record('m', 'failure')
    assert.ok(book.reputation('m') < 0.5)
    assert.equal(book.unban('m'), true)
    assert.equal(book.unban('m'), false)
    assert.deepEqual(seen('peer:unbanned'), [{ peerId: 'm' }])
    assert.equal(book.isBanned('m'), false)
    assert.equal(book.reputation('m'), 0.5)
    assert.equal(book.view('m')?.failures, 5, 'counters are history and stay')

    book.ban('x', { reason: 'test', durationMs: 1000 })
    assert.equal(book.isBanned('x'), true)
    assert.equal(book.isBanned('x', clock.now + 1001), false)
    store.close()
  })

  test('a ban longer than the clock can count is a ban without expiry, and its row reads back', () => {
    const { store, book } = fixture()
    book.ban('h', { reason: 'test', durationMs: Number.MAX_SAFE_INTEGER })
    assert.equal(book.view('h')?.bannedUntil, BAN_FOREVER)
    // a fresh repository reads the row from SQLite, not from the book's cache
    assert.equal(new PeersRepository(store.db).get('h')?.bannedUntil, BAN_FOREVER)
    store.close()
  })

  test('pings: latency EWMA, decayed uptime, success and timeout counts', () => {
    const { store, book } = fixture()
    book.recordPing('p', true, 10)
    book.recordPing('p', true, 20)
    book.recordPing('p', false)
    book.recordPing('p', true, 10)
    const view = book.view('p')
    assert.equal(view?.successes, 3)
    assert.equal(view?.timeouts, 1)
    assert.equal(view?.uptime, 0.75)
    assert.ok(view !== undefined && view.latencyMs !== null && view.latencyMs > 10 && view.latencyMs < 20)
    store.close()
  })

  test('the reputation is persisted in the store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    try {
      const path = join(dir, 'agora.db')
      const first = fixture({}, openStore(path))
      for (let i = 0; i < 4; i++) first.book.record('p', 'failure')
      first.book.trust('t')
      const reputation = first.book.reputation('p')
      first.store.close()
      const second = fixture({}, openStore(path))
      second.clock.now = first.clock.now
      assert.equal(second.book.reputation('p'), reputation)
      assert.equal(second.book.isTrusted('t'), true)
      second.store.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('connection gater refuses banned peers at dial, inbound and outbound', async () => {
    const { store, book } = fixture()
    const banned = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const fine = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    book.ban(banned.toString(), { reason: 'test', durationMs: 60_000 })
    const gater = book.connectionGater()
    const conn = {} as unknown as MultiaddrConnection
    assert.equal(await gater.denyDialPeer?.(banned), true)
    assert.equal(await gater.denyDialPeer?.(fine), false)
    assert.equal(await gater.denyInboundEncryptedConnection?.(banned, conn), true)
    assert.equal(await gater.denyInboundEncryptedConnection?.(fine, conn), false)
    assert.equal(await gater.denyOutboundEncryptedConnection?.(banned, conn), true)
    assert.equal(await gater.denyInboundRelayedConnection?.(fine, banned), true)
    book.unban(banned.toString())
    assert.equal(await gater.denyDialPeer?.(banned), false)
    // a closed store does not make the gater throw
    store.close()
    assert.equal(await gater.denyDialPeer?.(banned), false)
  })

  test('record never throws, even when the store is gone', () => {
    const { store, book } = fixture()
    store.close()
    assert.equal(book.record('p', 'failure'), 0.5)
    assert.doesNotThrow(() => { book.recordPing('p', false) })
  })
})
