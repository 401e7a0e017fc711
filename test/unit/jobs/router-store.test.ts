import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seededRandom } from '../../../src/jobs/router/index.ts'
import { openStore, type Store } from '../../../src/store/index.ts'
import { waitFor } from '../../harness/wait.ts'
import { A, B, C, T0, fixture, offer, request } from './router-fakes.ts'

const rows = (store: Store): Array<{ peer: string, task_type: string, successes: number, failures: number, last_success_at: number | null, updated_at: number }> =>
  store.db.sqlite.prepare('SELECT * FROM job_bandit ORDER BY peer, task_type').all() as never

describe('jobs router: bandit store', () => {
  test('migration 007 creates job_bandit', () => {
    const store = openStore(':memory:')
    try {
      const columns = (store.db.sqlite.prepare('PRAGMA table_info(job_bandit)').all() as Array<{ name: string }>).map(c => c.name)
      assert.deepEqual(columns, ['peer', 'task_type', 'successes', 'failures', 'last_success_at', 'updated_at'])
      assert.ok(store.db.schemaVersion >= 7)
    } finally {
      store.close()
    }
  })

  test('stats survive reopening the store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-'))
    try {
      const path = join(dir, 'agora.db')
      const first = fixture([offer({ node: A }), offer({ node: B })], {}, { store: openStore(path), neutral: true })
      first.router.start()
      for (let i = 0; i < 10; i++) {
        first.router.record(A, 'text.embed', 'failure')
        first.router.record(B, 'text.embed', 'success')
      }
      first.router.record(C, 'text.chunk', 'timeout')
      const before = [first.router.stats(A, 'text.embed'), first.router.stats(B, 'text.embed'), first.router.stats(C, 'text.chunk')]
      first.router.stop()
      first.store.close()

      const second = fixture([offer({ node: A }), offer({ node: B })], { exploration: 0.3, random: seededRandom(11) }, { store: openStore(path), neutral: true })
      try {
        second.router.start()
        assert.deepEqual([second.router.stats(A, 'text.embed'), second.router.stats(B, 'text.embed'), second.router.stats(C, 'text.chunk')], before)
        assert.equal(before[1]?.lastSuccessAt, T0)
        // and the choices still avoid the failing worker
        let a = 0
        for (let i = 0; i < 1000; i++) if (second.router.choose(request()).candidate.peerId === A) a++
        assert.ok(a < 100, `A chosen ${a} times after the restart`)
        second.router.stop()
      } finally {
        second.store.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('changes are written behind: on the flush timer, on flush() and at stop()', async () => {
    const f = fixture([offer({ node: A })], { flushIntervalMs: 20 })
    try {
      f.router.record(A, 'text.embed', 'success')
      assert.equal(rows(f.store).length, 0, 'nothing written yet')
      assert.equal(f.router.flush(), 1)
      assert.equal(rows(f.store)[0]?.successes, 1)
      f.router.start()
      f.router.record(A, 'text.embed', 'failure')
      await waitFor('the timer to write the failure', () => rows(f.store)[0]?.failures === 1)
      f.router.record(A, 'text.embed', 'failure')
      f.router.stop()
      assert.equal(rows(f.store)[0]?.failures, 2)
      assert.equal(rows(f.store)[0]?.updated_at, T0)
    } finally {
      f.router.stop()
      f.store.close()
    }
  })

  test('rows are bounded: the least recently updated pairs are forgotten, in memory and in the store', () => {
    const f = fixture([offer({ node: A })], { maxArms: 2 })
    try {
      f.router.record(A, 'text.embed', 'success')
      f.clock.now += 1
      f.router.record(B, 'text.embed', 'success')
      f.router.flush()
      f.clock.now += 1
      f.router.record(A, 'text.embed', 'success') // A is now the most recent
      f.clock.now += 1
      f.router.record(C, 'text.embed', 'success') // B goes
      f.router.flush()
      assert.deepEqual(rows(f.store).map(r => r.peer), [A, C])
      assert.equal(f.router.stats(B, 'text.embed').successes, 0)
      assert.ok(Math.abs(f.router.stats(A, 'text.embed').successes - 2) < 1e-6)
    } finally {
      f.store.close()
    }
  })

  test('loading keeps the most recent rows up to the bound and trims the table', () => {
    const store = openStore(':memory:')
    try {
      const insert = store.db.sqlite.prepare('INSERT INTO job_bandit (peer, task_type, successes, failures, last_success_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      insert.run(A, 'text.embed', 1, 0, T0 - 3, T0 - 3)
      insert.run(B, 'text.embed', 2, 0, T0 - 2, T0 - 2)
      insert.run(C, 'text.embed', 3, 0, T0 - 1, T0 - 1)
      const f = fixture([offer({ node: A })], { maxArms: 2, halfLifeMs: 1e15 }, { store })
      f.router.start()
      f.router.stop()
      assert.deepEqual(rows(store).map(r => r.peer), [B, C])
      assert.equal(f.router.stats(A, 'text.embed').successes, 0)
      assert.ok(Math.abs(f.router.stats(C, 'text.embed').successes - 3) < 1e-9)
    } finally {
      store.close()
    }
  })

  test('outcomes recorded before start are kept when the stored stats load', () => {
    const store = openStore(':memory:')
    try {
      store.db.sqlite.prepare('INSERT INTO job_bandit (peer, task_type, successes, failures, last_success_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(B, 'text.embed', 5, 0, T0, T0)
      const f = fixture([offer({ node: A })], {}, { store, neutral: true })
      f.router.record(A, 'text.embed', 'failure') // loads first, then counts
      f.router.start()
      assert.equal(f.router.stats(A, 'text.embed').failures, 1)
      assert.equal(f.router.stats(B, 'text.embed').successes, 5)
      f.router.stop()
      assert.deepEqual(rows(store).map(r => [r.peer, r.successes, r.failures]), [[A, 0, 1], [B, 5, 0]])
    } finally {
      store.close()
    }
  })

  test('a store that fails to write keeps the changes pending and the router working', () => {
    const f = fixture([offer({ node: A })])
    f.router.record(A, 'text.embed', 'success')
    f.store.close()
    f.router.stop() // logs, does not throw
    assert.equal(f.router.stats(A, 'text.embed').successes, 1)
    assert.throws(() => f.router.flush())
  })
})
