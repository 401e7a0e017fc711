/**
 * /agora/sync/1 over in-memory stream pairs: a full round in pages, and
 * responders that lie (malformed pages, forged envelopes, a cursor that
 * does not advance): each round ends cleanly with an outcome, never a throw.
 */
import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { z } from 'zod'
import { encodeEnvelope, signEnvelope, type NodeIdentity } from '../../../src/identity/index.ts'
import { memoryEngines } from '../../harness/memory-engines.ts'
import { syncProtocol, SYNC_PROTOCOL_ID } from '../../../src/offers/index.ts'
import { runSyncRound, servePage, type SyncResult } from '../../../src/offers/sync/round.ts'
import { syncResponseSchema } from '../../../src/offers/sync/protocol.ts'
import { OfferTable } from '../../../src/offers/table.ts'
import { OfferValidator } from '../../../src/offers/validator.ts'
import { defineProtocol, type ReqResp } from '../../../src/protocols/index.ts'
import { identities, NOW, offerFor, signedOfferRaw, TTL } from './fixtures.ts'

let origins: NodeIdentity[]
let raws: string[]
let serverPeer: string

before(async () => {
  origins = await identities(25)
  raws = origins.map(o => signedOfferRaw(o, offerFor(o.peerIdString, { lamport: 3 })))
  serverPeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
})

/** A client engine whose dials reach the server side through a stream pair. */
async function memoryEnginePair (): Promise<{ client: ReqResp, server: ReqResp }> {
  return await memoryEngines(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
}

/** A requester: its table, and the ingest the service would use (validate, then apply). */
function requester (): { table: OfferTable, verdicts: string[], run: (client: ReqResp, maxPages?: number) => Promise<SyncResult> } {
  const table = new OfferTable({ maxEntries: 1000 })
  const validator = new OfferValidator({ table }, { maxOfferBytes: 64 * 1024, ttlMs: TTL, maxSkewMs: 30_000, perOriginPerMinute: 60, now: () => NOW })
  const verdicts: string[] = []
  const ingest = (data: string, peer: string, round: Set<string>): ReturnType<OfferValidator['check']> => {
    const verdict = validator.check({ data, via: 'sync', peer, round })
    verdicts.push(verdict.status)
    if (verdict.status === 'ok') table.apply(verdict.entry, NOW)
    return verdict
  }
  const run = async (client: ReqResp, maxPages = 20): Promise<SyncResult> => await runSyncRound({
    reqresp: client, table, ingest, peer: serverPeer, pageSize: 7, maxPages, now: () => NOW, signal: AbortSignal.timeout(5000)
  })
  return { table, verdicts, run }
}

/** The same protocol id with a response schema that lets the server send anything. */
const lyingProtocol = defineProtocol({ ...syncProtocol, response: z.unknown() as z.ZodType<unknown> })

describe('offers: anti-entropy rounds', () => {
  test('a late requester pulls everything it lacks, in pages', async () => {
    const { client, server } = await memoryEnginePair()
    const source = requester()
    for (const raw of raws) source.table.apply(requesterEntry(source, raw), NOW)
    await server.handle(syncProtocol, async request => servePage(source.table, request, { pageSize: 7, now: NOW }))
    const late = requester()
    for (const raw of raws.slice(0, 5)) late.table.apply(requesterEntry(late, raw), NOW)
    const result = await late.run(client)
    assert.equal(result.outcome, 'ok')
    assert.equal(result.pulled, 20)
    assert.ok(result.pages >= 3, `${result.pages} pages of at most 7`)
    assert.equal(late.table.list({}, NOW).length, 25)
    // the tables are the same now: a second round is one check
    assert.deepEqual(await late.run(client), { pulled: 0, pages: 1, outcome: 'ok' })
  })

  test('a malformed page (not the schema) ends the round cleanly: E809, nothing applied', async () => {
    assert.equal(syncResponseSchema.safeParse({ envelopes: 'nope' }).success, false)
    const { client, server } = await memoryEnginePair()
    await server.handle(lyingProtocol, async () => ({ envelopes: 'nope', next: 42 }))
    const late = requester()
    const result = await late.run(client)
    assert.equal(result.outcome, 'malformed')
    assert.equal(result.error?.code, 'E809')
    assert.equal(late.table.size, 0)
  })

  test('a forged envelope in a page is dropped, the good ones kept, and the round ends blaming the responder', async () => {
    const { client, server } = await memoryEnginePair()
    const [victim, forger] = origins as [NodeIdentity, NodeIdentity]
    const forged = { ...signEnvelope(forger, { kind: 'OFFER', payload: offerFor(victim.peerIdString, { lamport: 99 }) }, NOW), from: victim.peerIdString }
    const page = [raws[3] as string, new TextDecoder().decode(encodeEnvelope(forged)), raws[4] as string]
    await server.handle(lyingProtocol, async () => ({ envelopes: page, next: 'AAAAAAAAAAA' }))
    const late = requester()
    const result = await late.run(client)
    assert.equal(result.outcome, 'invalid')
    assert.equal(result.error?.code, 'E802')
    assert.equal(result.pages, 2, 'the check, then no second page asked of a lying peer')
    assert.equal(result.pulled, 2)
  })

  test('a cursor that does not advance, or endless pages, end the round', async () => {
    const { client, server } = await memoryEnginePair()
    await server.handle(lyingProtocol, async () => ({ envelopes: [], next: 'AAAAAAAAAAA' }))
    const result = await requester().run(client)
    assert.equal(result.outcome, 'malformed')
    assert.equal(result.pages, 3, 'the check and two pages')

    const other = await memoryEnginePair()
    let n = 0
    await other.server.handle(lyingProtocol, async () => ({ envelopes: [], next: `A${String(n++).padStart(10, '0')}` }))
    const endless = await requester().run(other.client, 5)
    assert.equal(endless.outcome, 'malformed')
    assert.equal(endless.pages, 6, 'the check and five pages')
  })

  test('a page with more envelopes than asked ends the round (E809) before any of it is checked', async () => {
    const { client, server } = await memoryEnginePair()
    await server.handle(lyingProtocol, async () => ({ envelopes: raws.slice(0, 8) }))
    const late = requester()
    const result = await late.run(client)
    assert.equal(result.outcome, 'malformed')
    assert.match(result.error?.why ?? '', /8 envelopes, 7 asked/)
    assert.deepEqual(late.verdicts, [])
    assert.equal(late.table.size, 0)
  })

  test('one node served over and over (newer Lamports each time) is checked once per round, the copies dropped unverified', async () => {
    const { client, server } = await memoryEnginePair()
    const node = origins[7] as NodeIdentity
    const copies = Array.from({ length: 14 }, (_, i) => signedOfferRaw(node, offerFor(node.peerIdString, { lamport: 10 + i })))
    await server.handle(lyingProtocol, async request => {
      const second = (request as { cursor?: string }).cursor !== undefined
      return second ? { envelopes: copies.slice(7) } : { envelopes: copies.slice(0, 7), next: 'AAAAAAAAAAA' }
    })
    const late = requester()
    const result = await late.run(client)
    assert.deepEqual([result.outcome, result.pulled, result.pages], ['ok', 1, 3])
    assert.deepEqual(late.verdicts, ['ok', ...Array(13).fill('duplicate')])
    assert.equal(late.table.list({}, NOW)[0]?.lamport, 10)
  })

  test('a peer that does not serve the protocol: outcome refused, no throw', async () => {
    const { client } = await memoryEnginePair()
    const result = await requester().run(client)
    assert.equal(result.outcome, 'refused')
    assert.equal(SYNC_PROTOCOL_ID, '/agora/sync/1')
  })
})

function requesterEntry (side: ReturnType<typeof requester>, raw: string): Parameters<OfferTable['apply']>[0] {
  const validator = new OfferValidator({ table: side.table }, { maxOfferBytes: 64 * 1024, ttlMs: TTL, maxSkewMs: 30_000, perOriginPerMinute: 60, now: () => NOW })
  const verdict = validator.check({ data: raw, via: 'sync', peer: 'seed' })
  if (verdict.status !== 'ok') throw new Error(`fixture offer refused: ${verdict.status}`)
  return verdict.entry
}
