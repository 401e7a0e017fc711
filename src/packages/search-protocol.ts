/**
 * /agora/search/1: a peer's text query answered from this node's own
 * index — never passed on to other peers, so one query costs one lookup
 * (no amplification). The answer carries the signed PACKAGE envelopes
 * themselves, as received, so the asker verifies each one (signature, CID,
 * ownership) and never trusts a peer's summary; per result, whether the
 * answering peer holds the blocks.
 *
 * Bounds: a request of at most SEARCH_MAX_REQUEST_BYTES; at most `limit`
 * results and SEARCH_ANSWER_BYTES of envelope text per answer; per peer at
 * most packages.searchPerPeerPerMinute queries, refused with E1421 before
 * the request is read.
 */
import { z } from 'zod'
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { KeyedRateLimiter } from '../p2p/index.ts'
import { defineProtocol, type ReqResp } from '../protocols/index.ts'
import { PACKAGE_KINDS } from './manifest.ts'
import {
  SEARCH_ANSWER_BYTES, SEARCH_ENGINE_RATE_LIMIT, SEARCH_LIMITS, SEARCH_MAX_REQUEST_BYTES, SEARCH_MAX_RESPONSE_BYTES,
  SEARCH_PROTOCOL_ID, SEARCH_TIMEOUTS
} from './search-constants.ts'
import type { Logger } from '../observability/logger.ts'
import type { SearchIndex } from './search-index.ts'
import type { SearchMetrics } from './search-metrics.ts'

export const searchRequestSchema = z.object({
  text: z.string().max(SEARCH_LIMITS.textChars),
  kind: z.enum(PACKAGE_KINDS).optional(),
  limit: z.number().int().min(1).max(SEARCH_LIMITS.maxLimit).optional(),
  allVersions: z.boolean().optional()
}).strict()

export const searchAnswerSchema = z.object({
  results: z.array(z.object({
    /** The PACKAGE envelope as JSON text, as the answering peer received it. */
    envelope: z.string().min(2).max(SEARCH_ANSWER_BYTES),
    /** The answering peer holds the package's blocks. */
    held: z.boolean()
  }).strict()).max(SEARCH_LIMITS.maxLimit)
}).strict()

export type SearchRequest = z.infer<typeof searchRequestSchema>
export type SearchAnswer = z.infer<typeof searchAnswerSchema>

export const searchProtocol = defineProtocol({
  id: SEARCH_PROTOCOL_ID,
  request: searchRequestSchema,
  response: searchAnswerSchema,
  maxRequestBytes: SEARCH_MAX_REQUEST_BYTES,
  maxResponseBytes: SEARCH_MAX_RESPONSE_BYTES,
  timeouts: SEARCH_TIMEOUTS,
  rateLimit: SEARCH_ENGINE_RATE_LIMIT
})

/** The answer to one query from the local index: best first, within the byte budget. */
export function answerSearch (index: Pick<SearchIndex, 'search' | 'envelopes'>, request: SearchRequest): SearchAnswer {
  const hits = index.search(request)
  const envelopes = index.envelopes(hits.map(hit => hit.cid))
  const results: SearchAnswer['results'] = []
  let bytes = 0
  for (const hit of hits) {
    const envelope = envelopes.get(hit.cid)
    if (envelope === undefined) continue
    if (bytes + envelope.length > SEARCH_ANSWER_BYTES) break
    bytes += envelope.length
    results.push({ envelope, held: hit.held })
  }
  return { results }
}

export interface SearchServerComponents {
  reqresp: Pick<ReqResp, 'handle' | 'unhandle'>
  index: Pick<SearchIndex, 'search' | 'envelopes'>
  log: Logger
  metrics?: SearchMetrics | undefined
}

export interface SearchServerInit {
  /** packages.searchPerPeerPerMinute. */
  perPeerPerMinute: number
  now?: () => number
}

/** Serves /agora/search/1 from the local index, rate limited per peer. */
export class SearchServer {
  private readonly c: SearchServerComponents
  private readonly limiter: KeyedRateLimiter
  private readonly perPeerPerMinute: number

  constructor (components: SearchServerComponents, init: SearchServerInit) {
    this.c = components
    this.perPeerPerMinute = init.perPeerPerMinute
    // a full minute's worth at once, then refilled evenly over the minute
    this.limiter = new KeyedRateLimiter({ perSecond: init.perPeerPerMinute / 60, burst: init.perPeerPerMinute, ...(init.now === undefined ? {} : { now: init.now }) })
  }

  async start (): Promise<void> {
    await this.c.reqresp.handle(searchProtocol, async (request, context) => {
      try {
        const answer = answerSearch(this.c.index, request)
        this.c.metrics?.served.inc({ outcome: 'ok' })
        return answer
      } catch (err) {
        this.c.metrics?.served.inc({ outcome: isAgoraError(err, 'E1420') ? 'invalid' : 'error' })
        if (isAgoraError(err, 'E1420')) throw err
        this.c.log.warn({ err: messageOf(err), peer: context.peerId }, 'answering a package search failed')
        throw new AgoraError('E599', 'package search failed', { why: messageOf(err), cause: err })
      }
    }, { admit: this.admit })
  }

  async stop (): Promise<void> {
    await this.c.reqresp.unhandle(searchProtocol.id)
    this.limiter.clear()
  }

  private readonly admit = (peerId: string): AgoraError | undefined => {
    if (this.limiter.take(peerId)) return undefined
    this.c.metrics?.served.inc({ outcome: 'limited' })
    return new AgoraError('E1421', 'too many package searches', { why: `more than ${this.perPeerPerMinute} a minute from this peer` })
  }
}

/**
 * Ask one peer. The answer is checked for shape by the engine (a bad frame:
 * E1422) and for size here (more results than asked: E1422); the envelopes
 * inside are the caller's to verify.
 */
export async function askSearch (reqresp: Pick<ReqResp, 'request'>, peer: string, request: SearchRequest, signal: AbortSignal): Promise<SearchAnswer> {
  let answer: SearchAnswer
  try {
    answer = await reqresp.request(peer, searchProtocol, request, { signal })
  } catch (err) {
    if (isAgoraError(err, 'E205')) throw new AgoraError('E1422', 'malformed search answer', { why: err.why ?? err.what, cause: err, details: { peer } })
    throw err
  }
  const asked = request.limit ?? SEARCH_LIMITS.defaultLimit
  if (answer.results.length > asked) {
    throw new AgoraError('E1422', 'search answer larger than asked', { why: `${answer.results.length} results, ${asked} asked`, details: { peer } })
  }
  return answer
}
