/**
 * Catalogue anti-entropy rounds (src/packages/sync/), both sides in one
 * process: the requester's reqresp calls the responder's serveSync through
 * the protocol's own schemas. A 10,000-package catalogue that differs by a
 * few packages costs a handful of small requests, not the whole catalogue.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { CatalogDigest } from '../../../src/packages/sync/digest.ts'
import { packageSyncProtocol, type PackageSyncRequest, type PackageSyncResponse } from '../../../src/packages/sync/protocol.ts'
import { runPackageSync, serveSync, type IngestOutcome } from '../../../src/packages/sync/round.ts'
import type { ReqResp } from '../../../src/protocols/index.ts'

async function cidsOf (count: number, from = 0): Promise<string[]> {
  const out: string[] = []
  for (let i = from; i < from + count; i++) out.push(CID.createV1(dagCbor.code, await sha256.digest(new TextEncoder().encode(`manifest ${i}`))).toString())
  return out
}

const textOf = (cid: string): string => JSON.stringify({ kind: 'PACKAGE', payload: { cid, manifest: '' } })

/** A responder over `digest`, reached through the protocol's schemas; records every request and its answer's size. */
function responder (digest: CatalogDigest, tamper?: (response: PackageSyncResponse) => PackageSyncResponse): { reqresp: Pick<ReqResp, 'request'>, log: Array<{ op: string, bytes: number }> } {
  const log: Array<{ op: string, bytes: number }> = []
  const reqresp = {
    request: async (_peer: unknown, def: unknown, request: unknown): Promise<unknown> => {
      assert.equal(def, packageSyncProtocol)
      const parsed: PackageSyncRequest = packageSyncProtocol.request.parse(request)
      let response = serveSync(digest, cid => digest.has(cid) ? textOf(cid) : undefined, parsed)
      if (tamper !== undefined) response = tamper(response)
      const checked = packageSyncProtocol.response.parse(response)
      log.push({ op: parsed.op, bytes: JSON.stringify(checked).length })
      return checked
    }
  } as unknown as Pick<ReqResp, 'request'>
  return { reqresp, log }
}

function requester (local: CatalogDigest, reqresp: Pick<ReqResp, 'request'>, ingest?: (cid: string) => IngestOutcome): Parameters<typeof runPackageSync>[0] {
  return {
    reqresp,
    digest: local,
    has: cid => local.has(cid),
    ingest: async (_text, cid) => {
      const outcome = ingest?.(cid) ?? 'new'
      if (outcome === 'new') local.add(cid)
      return outcome
    },
    peer: 'peer-b',
    maxPull: 20_000,
    signal: AbortSignal.timeout(30_000)
  }
}

describe('package catalogue anti-entropy', () => {
  test('a digest is the same for the same set, whatever the order of adds', async () => {
    const cids = await cidsOf(500)
    const x = new CatalogDigest()
    const y = new CatalogDigest()
    for (const cid of cids) x.add(cid)
    for (const cid of [...cids].reverse()) y.add(cid)
    assert.equal(y.add(cids[0] as string), false)
    assert.deepEqual(x.summary(), y.summary())
    assert.deepEqual(x.differing(y.buckets()), [])
    y.add((await cidsOf(1, 500))[0] as string)
    assert.notDeepEqual(x.summary(), y.summary())
    assert.equal(x.differing(y.buckets()).length, 1)
  })

  test('10,000 packages, 12 missing: a summary, one list of the differing buckets and one get', async () => {
    const all = await cidsOf(10_000)
    const remote = new CatalogDigest()
    const local = new CatalogDigest()
    for (const cid of all) remote.add(cid)
    for (const cid of all.slice(12)) local.add(cid)
    const { reqresp, log } = responder(remote)
    const result = await runPackageSync(requester(local, reqresp))
    assert.deepEqual({ outcome: result.outcome, pulled: result.pulled }, { outcome: 'ok', pulled: 12 })
    assert.deepEqual(log.map(l => l.op), ['summary', 'list', 'get'])
    // the list names only the CIDs of the buckets that differ (≤ 12 of 256), far from all 10,000
    const listBytes = (log[1] as { bytes: number }).bytes
    assert.ok(listBytes < 12 * 100 * 70, `list answer of ${listBytes} bytes`)
    assert.deepEqual(local.summary(), remote.summary())
    // and now the same: one summary
    const again = responder(remote)
    assert.deepEqual((await runPackageSync(requester(local, again.reqresp))).requests, 1)
  })

  test('an empty late joiner pulls a 10,000-package catalogue in bounded pages', async () => {
    const all = await cidsOf(10_000, 20_000)
    const remote = new CatalogDigest()
    for (const cid of all) remote.add(cid)
    const local = new CatalogDigest()
    const { reqresp, log } = responder(remote)
    const result = await runPackageSync(requester(local, reqresp))
    assert.deepEqual({ outcome: result.outcome, pulled: result.pulled }, { outcome: 'ok', pulled: 10_000 })
    assert.equal(log.filter(l => l.op === 'list').length, 5, '2,000 CIDs a page')
    assert.equal(log.filter(l => l.op === 'get').length, Math.ceil(10_000 / 64))
    assert.deepEqual(local.summary(), remote.summary())
  })

  test('refused envelopes (ownership) are asked again next round; an invalid one ends the round', async () => {
    const all = await cidsOf(50, 40_000)
    const remote = new CatalogDigest()
    for (const cid of all) remote.add(cid)
    const local = new CatalogDigest()
    const waiting = new Set(all.slice(0, 5))
    const first = await runPackageSync(requester(local, responder(remote).reqresp, cid => waiting.has(cid) ? 'refused' : 'new'))
    assert.deepEqual({ outcome: first.outcome, pulled: first.pulled }, { outcome: 'ok', pulled: 45 })
    const second = await runPackageSync(requester(local, responder(remote).reqresp))
    assert.deepEqual({ outcome: second.outcome, pulled: second.pulled }, { outcome: 'ok', pulled: 5 })

    const bad = await runPackageSync(requester(new CatalogDigest(), responder(remote).reqresp, () => 'blamed'))
    assert.equal(bad.outcome, 'invalid')
    assert.equal(bad.error?.code, 'E1413')
  })

  test('a responder serving an envelope not asked for ends the round (E1413)', async () => {
    const all = await cidsOf(10, 50_000)
    const remote = new CatalogDigest()
    for (const cid of all) remote.add(cid)
    const stranger = (await cidsOf(1, 60_000))[0] as string
    const tamper = (r: PackageSyncResponse): PackageSyncResponse => r.envelopes === undefined ? r : { envelopes: [textOf(stranger)] }
    const result = await runPackageSync(requester(new CatalogDigest(), responder(remote, tamper).reqresp))
    assert.equal(result.outcome, 'malformed')
    assert.equal(result.error?.code, 'E1413')
    assert.equal(result.pulled, 0)
  })
})
