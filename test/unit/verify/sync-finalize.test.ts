/** FINALIZEs in the catch-up (src/verify/sync.ts): handed on after their DECIDEs, checked like gossip, idempotent, forged ones blamed, early ones kept for their DECIDE. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EnvelopeVerifier, generateIdentity, signEnvelope, type Envelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import type { HandlerContext, UnaryHandler, UnaryProtocol } from '../../../src/protocols/index.ts'
import { Database, ReplayRepository } from '../../../src/store/index.ts'
import { DecisionsRepository } from '../../../src/verify/decisions-repository.ts'
import { DecisionBook, type Decision } from '../../../src/verify/decisions.ts'
import { VerifyNetwork } from '../../../src/verify/network.ts'
import { DecisionSync } from '../../../src/verify/sync.ts'
import { VerifyValidator } from '../../../src/verify/validator.ts'

const A = 'a'.repeat(64)

/** A serving node's decisions table and sync room, and a catching-up node's: a real book behind a real VerifyNetwork. */
function pair (): { server: DecisionsRepository, pull: () => ReturnType<DecisionSync['pull']>, book: DecisionBook, network: VerifyNetwork, blamed: string[], settled: string[] } {
  const server = new DecisionsRepository(new Database({ path: ':memory:' }))
  let handler: UnaryHandler<unknown, unknown> | undefined
  const log = silentLogger().forComponent('test')
  void new DecisionSync({
    reqresp: { handle: async (_p: unknown, h: unknown) => { handler = h as UnaryHandler<unknown, unknown> }, unhandle: async () => {}, request: async () => { throw new Error('unused') } } as never,
    repo: server, absorb: () => 'booked', refused: () => {}, log
  }, { windowMs: 3600_000 }).start()
  const book = new DecisionBook()
  const envelopes = new EnvelopeVerifier({ replay: new ReplayRepository(new Database({ path: ':memory:' })) })
  const gossip = { subscribe: () => () => {}, validate: () => () => {}, publish: async () => ({ recipients: 0 }) }
  const network = new VerifyNetwork({ gossip, identity: undefined as never, validator: new VerifyValidator({ envelopes }), decisions: book, logger: log }, {
    k: () => 1, decides: () => false, mayDecide: (thread, decider) => thread.startsWith(`${decider}/`)
  })
  const settled: string[] = []
  network.onSettled(s => { settled.push(`${s.kind} ${s.decision.thread.split('/')[1] ?? ''} ${s.amount}`) })
  const blamed: string[] = []
  const client = new DecisionSync({
    reqresp: {
      handle: async () => {}, unhandle: async () => {},
      request: async <Req, Res>(_peer: string, _protocol: UnaryProtocol<Req, Res>, request: Req) => await (handler as unknown as UnaryHandler<Req, Res>)(request, {} as HandlerContext)
    } as never,
    repo: new DecisionsRepository(new Database({ path: ':memory:' })),
    absorb: envelope => network.absorb(envelope),
    refused: peer => { blamed.push(peer) },
    log
  }, { windowMs: 3600_000 })
  return { server, pull: async () => await client.pull('server'), book, network, blamed, settled }
}

const decision = (who: NodeIdentity, job: string): Decision => ({ thread: `${who.peerIdString}/${job}`, decider: who.peerIdString, epoch: 1, lamport: 1, result: A })
const decide = (who: NodeIdentity, job: string): Envelope => signEnvelope(who, { kind: 'DECIDE', payload: { thread: `${who.peerIdString}/${job}`, epoch: 1, lamport: 1, result: A } })
const finalize = (who: NodeIdentity, thread: string, amount = '1.000000'): Envelope => signEnvelope(who, { kind: 'FINALIZE', payload: { thread, epoch: 1, lamport: 2, result: A, amount } })
/** On the serving node: the decision booked at `at` with its DECIDE, and (optionally) its FINALIZE kept. */
function serve (repo: DecisionsRepository, who: NodeIdentity, job: string, at: number, final?: Envelope): void {
  repo.insert(decision(who, job), at, JSON.stringify(decide(who, job)))
  if (final !== undefined) repo.keepFinalize(decision(who, job), JSON.stringify(final), at)
}

test('a FINALIZE comes in the catch-up after its DECIDE and makes the decision final; one kept after the last pull comes in the next; taking it again changes nothing', async () => {
  const { server, pull, book, network, settled } = pair()
  const alice = await generateIdentity()
  const now = Date.now()
  const [t1, t2] = [`${alice.peerIdString}/job-1`, `${alice.peerIdString}/job-2`]
  serve(server, alice, 'job-1', now - 2000, finalize(alice, t1))
  serve(server, alice, 'job-2', now - 1000)
  assert.deepEqual(await pull(), { received: 3, booked: 2, finalized: 1, invalid: 0 })
  assert.deepEqual([book.get(t1)?.finalized, book.get(t2)?.finalized], [true, false])
  assert.deepEqual(await pull(), { received: 0, booked: 0, finalized: 0, invalid: 0 })
  // the decider finalizes job-2 after this node's last pull: the FINALIZE's place is when the server kept it, past the cursor
  server.keepFinalize(decision(alice, 'job-2'), JSON.stringify(finalize(alice, t2, '2.000000')), Date.now())
  assert.deepEqual(await pull(), { received: 1, booked: 0, finalized: 1, invalid: 0 })
  assert.equal(book.get(t2)?.finalized, true)
  // the same FINALIZE again (another peer hands it over, or gossip): final already, nothing happens twice
  assert.equal(network.absorb(finalize(alice, t2, '2.000000')), 'kept-out')
  assert.deepEqual(settled, ['FINALIZE job-1 1.000000', 'FINALIZE job-2 2.000000'])
})

test('an altered FINALIZE, or one signed by another than the thread\'s decider, is dropped and counted against the peer that handed it over', async () => {
  const { server, pull, book, blamed, settled } = pair()
  const alice = await generateIdentity()
  const mallory = await generateIdentity()
  const now = Date.now()
  const [t1, t2] = [`${alice.peerIdString}/job-1`, `${alice.peerIdString}/job-2`]
  const signed = finalize(alice, t1)
  // the amount changed after alice signed
  serve(server, alice, 'job-1', now - 2000, { ...signed, payload: { ...(signed.payload as object), amount: '9.000000' } })
  serve(server, alice, 'job-2', now - 1000)
  // kept as a server keeps a FINALIZE, under its signer (the catching-up node's cursor follows the signer)
  const stolen = { ...decision(alice, 'job-2'), decider: mallory.peerIdString }
  server.insert(stolen, now - 1000)
  server.keepFinalize(stolen, JSON.stringify(finalize(mallory, t2)), now - 1000)
  assert.deepEqual(await pull(), { received: 4, booked: 2, finalized: 0, invalid: 2 })
  assert.deepEqual(blamed, ['server'])
  assert.deepEqual([book.get(t1)?.finalized, book.get(t2)?.finalized], [false, false])
  assert.deepEqual(settled, [])
})

test('a FINALIZE whose DECIDE is not booked here is not blamed: it waits for the DECIDE and takes effect when it comes', async () => {
  const { server, pull, book, network, blamed } = pair()
  const alice = await generateIdentity()
  const thread = `${alice.peerIdString}/job-1`
  // the server booked the decision before it kept DECIDEs' envelopes: it hands over the FINALIZE alone
  server.insert(decision(alice, 'job-1'), Date.now() - 1000)
  server.keepFinalize(decision(alice, 'job-1'), JSON.stringify(finalize(alice, thread)), Date.now() - 1000)
  assert.deepEqual(await pull(), { received: 1, booked: 0, finalized: 0, invalid: 0 })
  assert.equal(book.get(thread), undefined)
  assert.deepEqual(blamed, [])
  // the DECIDE arrives another way (gossip, another peer's catch-up)
  assert.equal(network.absorb(decide(alice, 'job-1')), 'booked')
  assert.equal(book.get(thread)?.finalized, true)
})
