/** Catching up on decisions (src/verify/sync.ts): pages in booking order, a cursor per peer, forged and misattributed decisions dropped and blamed. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, signEnvelope, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { HandlerContext, UnaryHandler, UnaryProtocol } from '../../../src/protocols/index.ts'
import { Database } from '../../../src/store/index.ts'
import { DecisionsRepository } from '../../../src/verify/decisions-repository.ts'
import { DecisionBook } from '../../../src/verify/decisions.ts'
import { VerifyNetwork } from '../../../src/verify/network.ts'
import { DecisionSync, MAX_PAGE } from '../../../src/verify/sync.ts'
import { VerifyValidator } from '../../../src/verify/validator.ts'
import { EnvelopeVerifier } from '../../../src/identity/index.ts'
import { ReplayRepository } from '../../../src/store/index.ts'

/** Two nodes' sync rooms wired back to back, with real books. */
function pair (): { serverRepo: DecisionsRepository, client: DecisionSync, book: DecisionBook, blamed: string[], restarted: () => DecisionSync } {
  const serverRepo = new DecisionsRepository(new Database({ path: ':memory:' }))
  let handler: UnaryHandler<unknown, unknown> | undefined
  const server = new DecisionSync({
    reqresp: { handle: async (_p: unknown, h: unknown) => { handler = h as UnaryHandler<unknown, unknown> }, unhandle: async () => {}, request: async () => { throw new Error('unused') } } as never,
    repo: serverRepo,
    absorb: () => 'booked',
    refused: () => {},
    log: silentLogger().forComponent('test')
  }, { windowMs: 3600_000 })
  void server.start()
  const book = new DecisionBook()
  const envelopes = new EnvelopeVerifier({ replay: new ReplayRepository(new Database({ path: ':memory:' })) })
  const gossip = { subscribe: () => () => {}, validate: () => () => {}, publish: async () => ({ recipients: 0 }) }
  const network = new VerifyNetwork({ gossip, identity: undefined as never, validator: new VerifyValidator({ envelopes }), decisions: book, logger: silentLogger().forComponent('test') }, {
    k: () => 1, decides: () => false, mayDecide: (thread, decider) => thread.startsWith(`${decider}/`)
  })
  const blamed: string[] = []
  const clientRepo = new DecisionsRepository(new Database({ path: ':memory:' }))
  const makeClient = (): DecisionSync => new DecisionSync({
    reqresp: {
      handle: async () => {}, unhandle: async () => {},
      request: async <Req, Res>(_peer: string, _protocol: UnaryProtocol<Req, Res>, request: Req) => await (handler as unknown as UnaryHandler<Req, Res>)(request, {} as HandlerContext)
    } as never,
    repo: clientRepo,
    absorb: envelope => network.absorb(envelope),
    refused: peer => { blamed.push(peer) },
    log: silentLogger().forComponent('test')
  }, { windowMs: 3600_000 })
  return { serverRepo, client: makeClient(), book, blamed, restarted: makeClient }
}

const decide = (who: NodeIdentity, job: string, epoch = 1, result = 'a'.repeat(64)): Envelope =>
  signEnvelope(who, { kind: 'DECIDE', payload: { thread: `${who.peerIdString}/${job}`, epoch, lamport: epoch, result } })

test('a peer\'s decisions arrive page by page in booking order; the next pull starts where the last ended', async () => {
  const { serverRepo, client, book, restarted } = pair()
  const alice = await generateIdentity()
  const now = Date.now()
  const count = MAX_PAGE + 5
  for (let i = 0; i < count; i++) {
    const e = decide(alice, `job-${i}`)
    // many share a millisecond: the cursor is (at, thread, decider, epoch), not the time alone
    serverRepo.insert({ thread: `${alice.peerIdString}/job-${i}`, decider: alice.peerIdString, epoch: 1, lamport: 1, result: 'a'.repeat(64) }, now - 1000 + Math.floor(i / 50), JSON.stringify(e))
  }
  assert.deepEqual(await client.pull('server'), { received: count, booked: count, finalized: 0, invalid: 0 })
  assert.equal(book.size(), count)
  assert.deepEqual(await client.pull('server'), { received: 0, booked: 0, finalized: 0, invalid: 0 })
  const later = decide(alice, 'job-late', 2)
  serverRepo.insert({ thread: `${alice.peerIdString}/job-late`, decider: alice.peerIdString, epoch: 2, lamport: 2, result: 'a'.repeat(64) }, now, JSON.stringify(later))
  assert.deepEqual(await client.pull('server'), { received: 1, booked: 1, finalized: 0, invalid: 0 })
  // after a restart (a new sync room on the same store) the pull starts where the last one ended, not at the window's start
  assert.deepEqual(await restarted().pull('server'), { received: 0, booked: 0, finalized: 0, invalid: 0 })
})

test('a forged decision, or one signed by a node that does not own the thread, is dropped and counted against the peer that handed it over', async () => {
  const { serverRepo, client, book, blamed } = pair()
  const alice = await generateIdentity()
  const mallory = await generateIdentity()
  const now = Date.now()
  const good = decide(alice, 'job-1')
  const forged = { ...decide(alice, 'job-2'), payload: { thread: `${alice.peerIdString}/job-2`, epoch: 1, lamport: 1, result: 'b'.repeat(64) } }
  const stolen = signEnvelope(mallory, { kind: 'DECIDE', payload: { thread: `${alice.peerIdString}/job-3`, epoch: 1, lamport: 1, result: 'c'.repeat(64) } })
  for (const [i, e] of [good, forged, stolen].entries()) {
    const p = e.payload as { thread: string }
    serverRepo.insert({ thread: p.thread, decider: e.from, epoch: 1, lamport: 1, result: 'x'.repeat(64) }, now - 100 + i, JSON.stringify(e))
  }
  assert.deepEqual(await client.pull('server'), { received: 3, booked: 1, finalized: 0, invalid: 2 })
  assert.deepEqual(blamed, ['server'])
  assert.equal(book.get(`${alice.peerIdString}/job-1`)?.winner.result, 'a'.repeat(64))
  assert.equal(book.get(`${alice.peerIdString}/job-2`), undefined)
  assert.equal(book.get(`${alice.peerIdString}/job-3`), undefined)
})
