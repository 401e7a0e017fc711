/**
 * Both sides of one catalogue anti-entropy round. The responder answers from
 * the digest (memory) and the repository (one read per envelope). The
 * requester compares summaries, lists the CIDs of the buckets that differ,
 * and asks for the envelopes of those it lacks, in batches; each envelope
 * goes through the same `ingest` as gossip (catalog.ts). A malformed answer
 * (E1413: an envelope not asked for, a page larger than asked, a cursor
 * that does not advance) or an envelope that is the responder's fault ends
 * the round; nothing escapes but the returned outcome.
 */
import { CID } from 'multiformats/cid'
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { SYNC_GET_BATCH, SYNC_GET_BYTES, SYNC_LIST_PAGE } from './constants.ts'
import { packageSyncProtocol, type PackageSyncRequest, type PackageSyncResponse } from './protocol.ts'
import type { ReqResp } from '../../protocols/index.ts'
import type { CatalogDigest } from './digest.ts'

export type PackageSyncOutcome = 'ok' | 'malformed' | 'invalid' | 'timeout' | 'unreachable' | 'refused' | 'cancelled' | 'error'

export interface PackageSyncResult {
  /** Packages taken into the catalogue. */
  pulled: number
  /** Requests made. */
  requests: number
  outcome: PackageSyncOutcome
  /** What ended the round early, when it did. */
  error?: AgoraError
}

/** What ingesting one envelope came to: new, held already, refused (blamed on the responder or not). */
export type IngestOutcome = 'new' | 'duplicate' | 'refused' | 'blamed'

/** The responder: one answer from the digest and the stored envelopes. */
export function serveSync (
  digest: CatalogDigest,
  envelopeText: (cid: string) => string | undefined,
  request: PackageSyncRequest
): PackageSyncResponse {
  if (request.op === 'summary') {
    const ours = digest.summary()
    if (ours.count === request.count && ours.hash === request.hash) return { same: true }
    return { same: false, buckets: digest.buckets() }
  }
  if (request.op === 'list') return digest.list(request.buckets, request.after, Math.min(request.limit, SYNC_LIST_PAGE))
  const envelopes: string[] = []
  let bytes = 0
  for (const cid of request.cids) {
    const text = envelopeText(cid)
    if (text === undefined) continue
    if (envelopes.length > 0 && bytes + text.length > SYNC_GET_BYTES) break
    envelopes.push(text)
    bytes += text.length
  }
  return { envelopes }
}

export interface RunPackageSyncInit {
  reqresp: Pick<ReqResp, 'request'>
  digest: CatalogDigest
  /** Does this node hold the package? */
  has: (cid: string) => boolean
  /** Validate and store one envelope (JSON text) that `peer` served for `cid`. */
  ingest: (text: string, cid: string, peer: string) => Promise<IngestOutcome>
  peer: string
  maxPull: number
  signal: AbortSignal
}

/** The requester: summary, list of differing buckets, gets of what we lack; never throws. */
export async function runPackageSync (init: RunPackageSyncInit): Promise<PackageSyncResult> {
  let pulled = 0
  let requests = 0
  const ask = async (request: PackageSyncRequest): Promise<PackageSyncResponse> => {
    requests++
    return await init.reqresp.request(init.peer, packageSyncProtocol, request, { signal: init.signal })
  }
  const malformed = (what: string, why: string): PackageSyncResult =>
    ({ pulled, requests, outcome: 'malformed', error: new AgoraError('E1413', what, { why, details: { peer: init.peer } }) })
  try {
    const summary = init.digest.summary()
    const answer = await ask({ op: 'summary', count: summary.count, hash: summary.hash })
    if (answer.same === true) return { pulled, requests, outcome: 'ok' }
    if (answer.buckets === undefined) return malformed('package sync summary without buckets', 'the catalogues differ but no bucket summary came')
    const buckets = init.digest.differing(answer.buckets)
    if (buckets.length === 0) return { pulled, requests, outcome: 'ok' }

    // the CIDs we lack, page by page
    const lacking: string[] = []
    let after: string | undefined
    for (;;) {
      const page = await ask({ op: 'list', buckets, limit: SYNC_LIST_PAGE, ...(after === undefined ? {} : { after }) })
      const cids = page.cids ?? []
      if (cids.some(cid => after !== undefined && cid <= after)) return malformed('package sync list went backwards', `a CID at or before ${after}`)
      for (const cid of cids) if (!init.has(cid) && lacking.length < init.maxPull) lacking.push(cid)
      if (page.next === undefined || lacking.length >= init.maxPull) break
      if (after !== undefined && page.next <= after) return malformed('package sync cursor did not advance', `${page.next} after ${after}`)
      after = page.next
    }

    for (let i = 0; i < lacking.length; i += SYNC_GET_BATCH) {
      const asked = lacking.slice(i, i + SYNC_GET_BATCH)
      const page = await ask({ op: 'get', cids: asked })
      const envelopes = page.envelopes ?? []
      if (envelopes.length > asked.length) return malformed('package sync page larger than asked', `${envelopes.length} envelopes for ${asked.length} CIDs`)
      const wanted = new Set(asked)
      for (const text of envelopes) {
        const cid = cidOfText(text)
        if (cid === undefined || !wanted.delete(cid)) return malformed('package sync served an envelope not asked for', `payload cid ${cid ?? '(none)'}`)
        const outcome = await init.ingest(text, cid, init.peer)
        if (outcome === 'new') pulled++
        else if (outcome === 'blamed') {
          return { pulled, requests, outcome: 'invalid', error: new AgoraError('E1413', 'package sync served an invalid envelope', { why: `for ${cid}`, details: { peer: init.peer, cid } }) }
        }
      }
    }
    return { pulled, requests, outcome: 'ok' }
  } catch (err) {
    return { pulled, requests, ...failure(err, init.peer, init.signal) }
  }
}

/** The CID a PACKAGE envelope's payload names, in its canonical string form (checked again, with everything else, by ingest). */
function cidOfText (text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text)
    const payload = (value as { payload?: { cid?: unknown } } | null)?.payload
    return typeof payload?.cid === 'string' ? CID.parse(payload.cid).toString() : undefined
  } catch {
    return undefined
  }
}

function failure (err: unknown, peer: string, signal: AbortSignal): { outcome: PackageSyncOutcome, error: AgoraError } {
  const error = err instanceof AgoraError ? err : new AgoraError('E599', 'package sync round failed', { why: messageOf(err), cause: err })
  if (signal.aborted) return { outcome: 'cancelled', error }
  if (isAgoraError(err, 'E205')) return { outcome: 'malformed', error: new AgoraError('E1413', 'malformed package sync answer', { why: error.why ?? error.what, cause: err, details: { peer } }) }
  if (isAgoraError(err, 'E204')) return { outcome: 'timeout', error }
  if (isAgoraError(err, 'E202') || isAgoraError(err, 'E200')) return { outcome: 'unreachable', error }
  if (isAgoraError(err, 'E207') || isAgoraError(err, 'E206') || isAgoraError(err, 'E504') || isAgoraError(err, 'E1414')) return { outcome: 'refused', error }
  return { outcome: 'error', error }
}
