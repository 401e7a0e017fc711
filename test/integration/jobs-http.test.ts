/**
 * The jobs API's error answers over real HTTP from a real node with its
 * default limits (docs/api.md): a result asked for while the job runs (409
 * E1061), a second cancel (409 E1064), a plan over 100,000 subtasks (413
 * E1010) and a 17th upload in progress (429 E1085).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { TestSwarm } from '../harness/nodes.ts'
import { JOBS_NODE_CONFIG } from '../harness/jobs.ts'
import { waitFor } from '../harness/wait.ts'
import type { AgoraNode } from '../../src/node.ts'

interface Answer { status: number, body: { error?: { code: string, message: string, why?: string }, id?: string, state?: string, uploadId?: string } }

describe('jobs over HTTP, default limits', () => {
  const swarm = new TestSwarm()
  let node: AgoraNode
  let call: (method: string, path: string, body?: unknown) => Promise<Answer>

  before(async () => {
    // its own worker: debug.sleep runs here
    node = await swarm.add({ config: JOBS_NODE_CONFIG })
    const token = readFileSync(join(node.components.dataDir, 'api.token'), 'utf8').trim()
    call = async (method, path, body) => {
      const res = await fetch(`${node.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000)
      })
      return { status: res.status, body: await res.json() as Answer['body'] }
    }
  })
  after(async () => { await swarm.stop() })

  test('result while running is 409 E1061; cancel works once, then 409 E1064', async () => {
    const submitted = await call('POST', '/api/v1/jobs', { type: 'debug.sleep', input: { kind: 'items', items: [] }, params: { count: 1, ms: 0, holdFrom: 0 } })
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body))
    const id = submitted.body.id as string
    await waitFor('the job to run', () => node.components.jobs.get(id)?.state === 'running')
    const early = await call('GET', `/api/v1/jobs/${id}/result`)
    assert.equal(early.status, 409)
    assert.equal(early.body.error?.code, 'E1061')
    const cancelled = await call('POST', `/api/v1/jobs/${id}/cancel`)
    assert.equal(cancelled.status, 200)
    assert.equal(cancelled.body.state, 'cancelled')
    const again = await call('POST', `/api/v1/jobs/${id}/cancel`)
    assert.equal(again.status, 409)
    assert.equal(again.body.error?.code, 'E1064')
    assert.match(again.body.error?.message ?? '', /cancelled already/)
  })

  test('a plan of more than 100,000 subtasks is 413 E1010; nothing is stored', async () => {
    const before = node.components.jobs.list().length
    const text = 'a. '.repeat(100_001)
    const answer = await call('POST', '/api/v1/jobs', { type: 'text.embed', input: { kind: 'text', text }, params: { chunkChars: 1, overlapChars: 0, chunksPerSubtask: 1 } })
    assert.equal(answer.status, 413, JSON.stringify(answer.body))
    assert.equal(answer.body.error?.code, 'E1010')
    assert.match(answer.body.error?.message ?? '', /would have 200002 subtasks/, 'a character a chunk: each "a" and each "."')
    assert.match(answer.body.error?.why ?? '', /at most 100000 are allowed/)
    assert.equal(node.components.jobs.list().length, before)
  })

  test('16 uploads may be in progress at once; the 17th is 429 E1085', async () => {
    for (let i = 0; i < 16; i++) {
      const begun = await call('POST', '/api/v1/uploads', { size: 10 })
      assert.equal(begun.status, 200, `upload ${i + 1}: ${JSON.stringify(begun.body)}`)
    }
    const refused = await call('POST', '/api/v1/uploads', { size: 10 })
    assert.equal(refused.status, 429)
    assert.equal(refused.body.error?.code, 'E1085')
    assert.match(refused.body.error?.message ?? '', /16 of at most 16/)
  })
})
