/** /agora/search/1 pieces alone: the answer's byte budget, the per-peer limit, the asker's checks. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../../src/errors.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { SEARCH_ANSWER_BYTES } from '../../../src/packages/search-constants.ts'
import type { IndexHit } from '../../../src/packages/search-index.ts'
import { answerSearch, askSearch, searchAnswerSchema, SearchServer } from '../../../src/packages/search-protocol.ts'
import type { ServeOptions, UnaryHandler } from '../../../src/protocols/index.ts'
import { isCode } from '../../harness/checks.ts'

function hit (cid: string, held: boolean): IndexHit {
  return { cid, name: `p/${cid}`, version: '1.0.0', kind: 'prompt', description: '', tags: [], license: '', publisher: 'x', size: 1, created: 0, providers: 0, publisherReputation: 0.5, score: 1, held }
}

test('an answer keeps the best results that fit its byte budget, with each one\'s held flag', () => {
  const big = 'e'.repeat(400 * 1024)
  const index = {
    search: () => [hit('a', true), hit('b', false), hit('gone', false), hit('c', true), hit('d', true)],
    envelopes: (cids: readonly string[]) => new Map(cids.filter(cid => cid !== 'gone').map(cid => [cid, big]))
  }
  const answer = answerSearch(index, { text: 'x' })
  assert.deepEqual(answer.results.map(r => r.held), [true, false])
  assert.ok(answer.results.reduce((sum, r) => sum + r.envelope.length, 0) <= SEARCH_ANSWER_BYTES)
  assert.ok(searchAnswerSchema.safeParse(answer).success)
})

test('the server refuses a peer past packages.searchPerPeerPerMinute (E1421), per peer, and refills over the minute', async () => {
  let now = 1_000_000
  let admit: ServeOptions['admit']
  let handler: UnaryHandler<unknown, unknown> | undefined
  const reqresp = {
    handle: async (_def: unknown, h: UnaryHandler<unknown, unknown>, options: ServeOptions = {}) => { handler = h; admit = options.admit },
    unhandle: async () => {}
  }
  const server = new SearchServer({ reqresp: reqresp as never, index: { search: () => [], envelopes: () => new Map() }, log: silentLogger().forComponent('test') }, { perPeerPerMinute: 2, now: () => now })
  await server.start()
  assert.ok(admit !== undefined && handler !== undefined)
  assert.equal(admit('peer-a'), undefined)
  assert.equal(admit('peer-a'), undefined)
  const refusal = admit('peer-a')
  assert.ok(refusal instanceof AgoraError)
  assert.equal(refusal.code, 'E1421')
  assert.equal(admit('peer-b'), undefined, 'another peer has its own budget')
  now += 30_000
  assert.equal(admit('peer-a'), undefined, 'half a minute later: one more')
  assert.ok(admit('peer-a') instanceof AgoraError)
})

test('the asker refuses an answer larger than asked, and a bad frame, as malformed (E1422)', async () => {
  const signal = AbortSignal.timeout(5000)
  const three = { results: [1, 2, 3].map(() => ({ envelope: '{}', held: false })) }
  const answering = (value: unknown) => ({ request: async () => value }) as never
  await assert.rejects(askSearch(answering(three), 'peer', { text: 'x', limit: 2 }, signal), isCode('E1422'))
  assert.equal((await askSearch(answering(three), 'peer', { text: 'x', limit: 3 }, signal)).results.length, 3)
  const badFrame = { request: async () => { throw new AgoraError('E205', 'bad frame', { why: 'results.0.held: expected boolean' }) } } as never
  await assert.rejects(askSearch(badFrame, 'peer', { text: 'x' }, signal), isCode('E1422'))
  const timeout = { request: async () => { throw new AgoraError('E204', 'no answer') } } as never
  await assert.rejects(askSearch(timeout, 'peer', { text: 'x' }, signal), isCode('E204'))
})
