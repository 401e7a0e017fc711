/** Migration 009: REAL credits in jobs, subtasks and metered requests become exact INTEGER micro-credits. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Database } from '../../../src/store/index.ts'
import { MIGRATIONS } from '../../../src/store/migrations/index.ts'
import { JobStore } from '../../../src/jobs/store/job-store.ts'
import { Metering } from '../../../src/gateway/index.ts'
import { tempDir } from '../../harness/temp.ts'

const JOB = `INSERT INTO jobs (id, type, input, params, constraints, state, total, committed, spent, created_at, updated_at)
  VALUES (?, 'debug.noop', '{"kind":"items","items":[]}', '{}', ?, 'running', 3, 3, ?, 1, 1)`
const SUBTASK = `INSERT INTO subtasks (job_id, id, seq, type, params, deps, state, price, created_at)
  VALUES (?, ?, ?, 'debug.noop', '{}', '[]', ?, ?, 1)`
const REQUEST = `INSERT INTO requests (id, ts, requester_kind, server, model, op, total_ms, outcome, price)
  VALUES (?, 1, 'local', 'local', 'm', 'chat', 1, 'ok', ?)`

test('migration 009: spent, subtask and request prices become exact micro-credits; constraints become six-decimal strings', () => {
  const dir = tempDir()
  try {
    const file = join(dir, 'agora.db')
    const old = new Database({ path: file, migrations: MIGRATIONS.filter(m => m.version <= 8) })
    assert.equal(old.schemaVersion, 8)
    // what summing 0.1 three times in floating point left behind, and a budget of 0.3 with a cap of 0.1
    old.prepare(JOB).run('j1', '{"budget":0.3,"maxPricePerSubtask":0.1,"redundancy":1}', 0.1 + 0.1 + 0.1)
    old.prepare(JOB).run('j2', '{"redundancy":1,"budget":12}', 0)
    old.prepare(SUBTASK).run('j1', 's0', 0, 'committed', 0.1)
    old.prepare(SUBTASK).run('j1', 's1', 1, 'committed', 0.000001)
    old.prepare(SUBTASK).run('j1', 's2', 2, 'pending', null)
    old.prepare(REQUEST).run('r1', 0.012 + 0.006 + 0.25)
    old.prepare(REQUEST).run('r2', 0)
    old.close()

    const db = new Database({ path: file, migrations: MIGRATIONS.filter(m => m.version <= 9) })
    assert.equal(db.schemaVersion, 9)
    const store = new JobStore(db)
    const j1 = store.get('j1')
    assert.equal(j1?.spent, 300_000, '0.30000000000000004 credits → 300000 micro-credits')
    assert.deepEqual(j1?.constraints, { budget: 300_000, maxPricePerSubtask: 100_000, redundancy: 1 })
    assert.deepEqual(store.get('j2')?.constraints, { redundancy: 1, budget: 12_000_000 })
    // read directly: today's JobStore reads columns added by later migrations
    assert.deepEqual(db.prepare('SELECT price FROM subtasks WHERE job_id = ? ORDER BY seq').all('j1').map(row => (row as { price: number | null }).price), [100_000, 1, null])
    const metering = new Metering({ db }, { flushMs: 0 })
    assert.equal(metering.get('r1')?.price, 268_000)
    assert.equal(metering.get('r2')?.price, 0)

    // what the store holds now: integers in STRICT INTEGER columns, strings in the constraints
    const types = db.prepare('SELECT typeof(spent) AS spent, constraints FROM jobs WHERE id = ?').get('j1') as { spent: string, constraints: string }
    assert.equal(types.spent, 'integer')
    assert.deepEqual(JSON.parse(types.constraints), { budget: '0.300000', maxPricePerSubtask: '0.100000', redundancy: 1 })
    assert.throws(() => db.prepare(REQUEST).run('r3', 0.5), /cannot store REAL value in INTEGER column/)
    db.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the jobs store writes constraints with six-decimal amounts and still reads floats in credits', () => {
  const db = new Database({ path: ':memory:' })
  const store = new JobStore(db)
  store.insert({ id: 'j', type: 'debug.noop', input: { kind: 'items', items: [] }, params: {}, constraints: { redundancy: 1, budget: 300_000, maxPricePerSubtask: 1 }, createdAt: 1 }, [])
  const stored = db.prepare('SELECT constraints FROM jobs WHERE id = ?').get('j') as { constraints: string }
  assert.deepEqual(JSON.parse(stored.constraints), { redundancy: 1, budget: '0.300000', maxPricePerSubtask: '0.000001' })
  assert.deepEqual(store.get('j')?.constraints, { redundancy: 1, budget: 300_000, maxPricePerSubtask: 1 })
  // a row in the old form (floats in credits) reads with the migration's rule
  db.prepare('UPDATE jobs SET constraints = ? WHERE id = ?').run('{"redundancy":1,"budget":0.30000000000000004}', 'j')
  assert.deepEqual(store.get('j')?.constraints, { redundancy: 1, budget: 300_000 })
  db.close()
})
