import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { JobStore } from '../../../src/jobs/store/job-store.ts'
import { Database } from '../../../src/store/index.ts'

function setup (): { store: JobStore, db: Database } {
  const db = new Database({ path: ':memory:' })
  const store = new JobStore(db)
  const subtasks = [0, 1].map(i => ({ id: `s-${i}`, type: 't', params: {}, input: i, deps: [] }))
  store.insert({ id: 'j', type: 't', input: { kind: 'items', items: [] }, params: {}, constraints: { redundancy: 1 }, createdAt: 1 }, subtasks)
  return { store, db }
}

const stateOnDisk = (db: Database, id: string): string => (db.prepare('SELECT state FROM subtasks WHERE job_id = ? AND id = ?').get('j', id) as { state: string }).state

describe('JobStore: deferred assignments', () => {
  test('reads see them; a commit lands them in its own transaction', () => {
    const { store, db } = setup()
    store.assign('j', 's-0', 'w', 1, 2)
    store.running('j', 's-0', 1, 3)
    assert.equal(stateOnDisk(db, 's-0'), 'pending', 'not written yet')
    assert.equal(store.subtask('j', 's-0')?.state, 'running')
    assert.equal(store.get('j')?.progress.running, 1)
    store.assign('j', 's-1', 'w', 1, 4)
    assert.equal(store.commit('j', 's-1', { worker: 'w', attempt: 1, result: 1, resultHash: 'h', price: 0, receipt: 'r' }, 5), true)
    assert.equal(stateOnDisk(db, 's-1'), 'committed')
    db.close()
  })

  test('written at the end of the event loop turn, and by flush()', async () => {
    const { store, db } = setup()
    store.assign('j', 's-0', 'w', 1, 2)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(stateOnDisk(db, 's-0'), 'assigned')
    store.assign('j', 's-1', 'w', 1, 2)
    store.flush()
    assert.equal(stateOnDisk(db, 's-1'), 'assigned')
    db.close()
  })
})
