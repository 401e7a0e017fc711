import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Metering, priceOwed, type RequestRecord } from '../../../src/gateway/index.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { Database } from '../../../src/store/index.ts'
import { AgoraEvents, type AgoraEventMap } from '../../../src/events.ts'
import { waitFor } from '../../harness/wait.ts'

function row (over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'r1',
    ts: 1_000,
    requester: { kind: 'local', keyId: 'key-1' },
    server: 'local',
    provider: 'ollama',
    model: 'llama3.2:3b',
    op: 'chat',
    promptTokens: 10,
    completionTokens: 20,
    firstTokenMs: 12.5,
    totalMs: 40,
    outcome: 'ok',
    errorCode: null,
    price: 0,
    attempts: 1,
    ...over
  }
}

describe('Metering', () => {
  test('migration 004 creates the requests table; a row round-trips', () => {
    const db = new Database({ path: ':memory:' })
    assert.ok(db.schemaVersion >= 4)
    const metering = new Metering({ db })
    const peerRow = row({ id: 'r2', requester: { kind: 'peer', peerId: '12D3KooWpeer' }, server: '12D3KooWserver', price: 250_000, outcome: 'error', errorCode: 'E933', firstTokenMs: null, attempts: 3 })
    metering.record(row())
    metering.record(peerRow)
    assert.deepEqual(metering.get('r1'), row())
    assert.deepEqual(metering.get('r2'), peerRow)
    assert.equal(metering.get('nope'), undefined)
    db.close()
  })

  test('each request recorded is told on the event bus (request:completed)', () => {
    const db = new Database({ path: ':memory:' })
    const events = new AgoraEvents()
    const told: Array<AgoraEventMap['request:completed']> = []
    events.on('request:completed', e => { told.push(e) })
    const metering = new Metering({ db, events })
    metering.record(row({ id: 'r9', server: '12D3KooWserver', price: 250_000, outcome: 'error', errorCode: 'E933' }))
    assert.equal(told.length, 1)
    assert.deepEqual(told[0], { id: 'r9', op: row().op, model: row().model, server: '12D3KooWserver', outcome: 'error', errorCode: 'E933', totalMs: row().totalMs, promptTokens: row().promptTokens, completionTokens: row().completionTokens, price: '0.250000' })
    db.close()
  })

  test('rows are written in batches: within flushMs, at once before a read, and on stop', async () => {
    const db = new Database({ path: ':memory:' })
    const metering = new Metering({ db }, { flushMs: 30 })
    const stored = (): number => (db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n
    metering.record(row({ id: 'a' }))
    metering.record(row({ id: 'b' }))
    assert.equal(stored(), 0, 'pending until the timer')
    await waitFor('the batch to be written', () => stored() === 2, { timeoutMs: 2000 })
    metering.record(row({ id: 'c' }))
    assert.equal(metering.get('c')?.id, 'c', 'a read writes what is pending first')
    metering.record(row({ id: 'd' }))
    metering.stop()
    assert.equal(stored(), 4)
    db.close()
    // the store is gone: the row is lost and logged, never thrown
    metering.record(row({ id: 'e' }))
    metering.stop()
  })

  test('list: newest first, filters, paging with before, limit', () => {
    const db = new Database({ path: ':memory:' })
    const metering = new Metering({ db })
    for (let i = 0; i < 10; i++) {
      metering.record(row({ id: `r${i}`, ts: 1_000 + i, model: i % 2 === 0 ? 'even' : 'odd', outcome: i === 3 ? 'cancelled' : 'ok' }))
    }
    assert.deepEqual(metering.list({ limit: 3 }).map(r => r.id), ['r9', 'r8', 'r7'])
    assert.deepEqual(metering.list({ limit: 3, before: 1_007 }).map(r => r.id), ['r6', 'r5', 'r4'])
    assert.deepEqual(metering.list({ model: 'even' }).map(r => r.id), ['r8', 'r6', 'r4', 'r2', 'r0'])
    assert.deepEqual(metering.list({ outcome: 'cancelled' }).map(r => r.id), ['r3'])
    assert.equal(metering.list({ server: 'elsewhere' }).length, 0)
    db.close()
  })

  test('rows beyond maxRows are pruned, oldest first', () => {
    const db = new Database({ path: ':memory:' })
    const metering = new Metering({ db }, { maxRows: 5, pruneEvery: 4 })
    for (let i = 0; i < 8; i++) metering.record(row({ id: `r${i}`, ts: i }))
    // pruned at the 4th and 8th insert
    assert.deepEqual(metering.list().map(r => r.id), ['r7', 'r6', 'r5', 'r4', 'r3'])
    db.close()
  })

  test('price owed by the serving offer\'s prices, in micro-credits', () => {
    assert.equal(priceOwed({ perTask: 500_000, per1kPromptTokens: 1_000_000, per1kCompletionTokens: 4_000_000 }, { promptTokens: 2000, completionTokens: 500 }), 500_000 + 2_000_000 + 2_000_000)
    assert.equal(priceOwed({ perTask: 0, per1kPromptTokens: 0, per1kCompletionTokens: 0 }, { promptTokens: 2000, completionTokens: 500 }), 0)
    // each token price is rounded up once, where its rate meets its count: 1 token at 1 micro-credit per 1k costs 1
    assert.equal(priceOwed({ perTask: 0, per1kPromptTokens: 1, per1kCompletionTokens: 3 }, { promptTokens: 1, completionTokens: 1001 }), 1 + 4)
    // 0.1 + 0.2 credits of tokens are 0.3 exactly
    assert.equal(priceOwed({ perTask: 0, per1kPromptTokens: 100_000, per1kCompletionTokens: 200_000 }, { promptTokens: 1000, completionTokens: 1000 }), 300_000)
  })

  test('Prometheus counters and histograms', async () => {
    const db = new Database({ path: ':memory:' })
    const registry = createRegistry({ defaultMetrics: false })
    const metering = new Metering({ db, metrics: registry })
    metering.record(row({ id: 'a' }))
    metering.record(row({ id: 'b', server: '12D3KooWserver', outcome: 'error', errorCode: 'E933', promptTokens: 0, completionTokens: 0, firstTokenMs: null, attempts: 3 }))
    const text = await registry.metrics()
    assert.match(text, /agora_gateway_requests_total\{outcome="ok",route="local"\} 1/)
    assert.match(text, /agora_gateway_requests_total\{outcome="error",route="remote"\} 1/)
    assert.match(text, /agora_gateway_tokens_total\{direction="prompt"\} 10/)
    assert.match(text, /agora_gateway_tokens_total\{direction="completion"\} 20/)
    assert.match(text, /agora_gateway_first_token_seconds_count\{route="local"\} 1/)
    assert.match(text, /agora_gateway_request_seconds_count\{route="remote"\} 1/)
    assert.match(text, /agora_gateway_attempts_sum 4/)
    // a second metering on the same registry shares the metrics
    assert.doesNotThrow(() => new Metering({ db, metrics: registry }))
    db.close()
  })

  test('a store failure is logged, never thrown', () => {
    const db = new Database({ path: ':memory:' })
    const metering = new Metering({ db })
    db.close()
    assert.doesNotThrow(() => { metering.record(row()) })
  })
})
