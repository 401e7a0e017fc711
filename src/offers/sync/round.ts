/**
 * Both sides of one anti-entropy round. The responder answers each page
 * from memory (stateless: the cursor travels in the request). The requester
 * first checks whether the tables are the same (one small round trip; the
 * common case), else sends its digest, feeds every envelope of each page through the same
 * validator as gossip, and walks the pages until the last one. A malformed
 * page (E809: unreadable, or more envelopes than asked), an envelope that
 * is the responder's fault, a cursor that does not advance or too many
 * pages end the round cleanly: nothing escapes but the returned outcome.
 * Each origin is checked once per round (see IncomingOffer.round), so a
 * round costs at most one signature check per node it brings.
 */
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { SYNC_MAX_HAVE, SYNC_MAX_PAGE, SYNC_PAGE_BYTES } from './constants.ts'
import { syncProtocol, type SyncRequest, type SyncResponse } from './protocol.ts'
import type { ReqResp } from '../../protocols/index.ts'
import type { OfferTable } from '../table.ts'
import type { Verdict } from '../validator.ts'

export type SyncOutcome = 'ok' | 'malformed' | 'invalid' | 'timeout' | 'unreachable' | 'refused' | 'cancelled' | 'error'

export interface SyncResult {
  /** Entries taken into the table. */
  pulled: number
  pages: number
  outcome: SyncOutcome
  /** What ended the round early, when it did. */
  error?: AgoraError
}

export interface ServePageInit {
  pageSize: number
  now: number
}

/** The responder: the answer to a check, or one page of what the requester lacks (nudges are the service's). */
export function servePage (table: Pick<OfferTable, 'page' | 'hash'>, request: SyncRequest, init: ServePageInit): SyncResponse {
  if (request.hash !== undefined) return { envelopes: [], same: request.hash === table.hash() }
  if (request.nudge === true) return { envelopes: [] }
  const maxCount = Math.max(1, Math.min(request.limit ?? init.pageSize, init.pageSize, SYNC_MAX_PAGE))
  const have = new Map(request.have)
  const { envelopes, next } = table.page(have, request.cursor, { maxCount, maxBytes: SYNC_PAGE_BYTES }, init.now)
  return next === undefined ? { envelopes } : { envelopes, next }
}

export interface RunRoundInit {
  reqresp: Pick<ReqResp, 'request'>
  table: Pick<OfferTable, 'digest' | 'hash'>
  /** Validate and apply one envelope from `peer` (the gossip path's ingest, via 'sync'); `round`: the origins met in this round so far. */
  ingest: (data: string, peer: string, round: Set<string>) => Verdict
  peer: string
  pageSize: number
  /** Pages asked at most (bounded by the table size). */
  maxPages: number
  now: () => number
  signal: AbortSignal
}

/** The requester: a check, then (tables differ) every page; never throws. */
export async function runSyncRound (init: RunRoundInit): Promise<SyncResult> {
  let cursor: string | undefined
  let pulled = 0
  let pages = 0
  const origins = new Set<string>()
  try {
    const check = await init.reqresp.request(init.peer, syncProtocol, { have: [], hash: init.table.hash() }, { signal: init.signal })
    pages++
    if (check.same === true) return { pulled, pages, outcome: 'ok' }
    const digest = init.table.digest(init.now())
    while (pages <= init.maxPages) {
      const request: SyncRequest = { have: haveAfter(digest, cursor), limit: Math.min(init.pageSize, SYNC_MAX_PAGE) }
      if (cursor !== undefined) request.cursor = cursor
      const page = await init.reqresp.request(init.peer, syncProtocol, request, { signal: init.signal })
      pages++
      if (page.envelopes.length > (request.limit ?? SYNC_MAX_PAGE)) {
        return { pulled, pages, outcome: 'malformed', error: new AgoraError('E809', 'anti-entropy page larger than asked', { why: `${page.envelopes.length} envelopes, ${request.limit} asked`, details: { peer: init.peer } }) }
      }
      let blamed: AgoraError | undefined
      for (const raw of page.envelopes) {
        const verdict = init.ingest(raw, init.peer, origins)
        if (verdict.status === 'ok') pulled++
        else if (verdict.status === 'rejected' && verdict.blame === init.peer) blamed ??= verdict.error
      }
      if (blamed !== undefined) return { pulled, pages, outcome: 'invalid', error: blamed }
      if (page.next === undefined) return { pulled, pages, outcome: 'ok' }
      if (cursor !== undefined && page.next <= cursor) {
        return { pulled, pages, outcome: 'malformed', error: new AgoraError('E809', 'anti-entropy cursor did not advance', { why: `${page.next} after ${cursor}`, details: { peer: init.peer } }) }
      }
      cursor = page.next
    }
    return { pulled, pages, outcome: 'malformed', error: new AgoraError('E809', 'anti-entropy round too long', { why: `more than ${init.maxPages} pages`, details: { peer: init.peer } }) }
  } catch (err) {
    return { pulled, pages, ...failure(err, init.peer, init.signal) }
  }
}

function haveAfter (digest: ReadonlyArray<[string, number]>, cursor: string | undefined): Array<[string, number]> {
  let start = 0
  if (cursor !== undefined) {
    // digest is sorted by short id
    let hi = digest.length
    while (start < hi) {
      const mid = (start + hi) >>> 1
      if ((digest[mid] as [string, number])[0] <= cursor) start = mid + 1
      else hi = mid
    }
  }
  return digest.slice(start, start + SYNC_MAX_HAVE)
}

function failure (err: unknown, peer: string, signal: AbortSignal): { outcome: SyncOutcome, error: AgoraError } {
  const error = err instanceof AgoraError ? err : new AgoraError('E599', 'anti-entropy round failed', { why: messageOf(err), cause: err })
  if (signal.aborted) return { outcome: 'cancelled', error }
  if (isAgoraError(err, 'E205')) {
    return { outcome: 'malformed', error: new AgoraError('E809', 'malformed anti-entropy page', { why: error.why ?? error.what, cause: err, details: { peer } }) }
  }
  if (isAgoraError(err, 'E204')) return { outcome: 'timeout', error }
  if (isAgoraError(err, 'E202') || isAgoraError(err, 'E200')) return { outcome: 'unreachable', error }
  if (isAgoraError(err, 'E207') || isAgoraError(err, 'E206') || isAgoraError(err, 'E504') || isAgoraError(err, 'E808')) return { outcome: 'refused', error }
  return { outcome: 'error', error }
}
