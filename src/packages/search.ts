/**
 * Package search: the local index plus the answers of up to `fanout`
 * connected peers (those following the packages gossip topic first), asked
 * at once over /agora/search/1, each bounded by the search's timeout — a
 * slow or dead peer never holds the answer past it.
 *
 * Peers' answers are never trusted as they stand: every envelope goes
 * through the catalogue's `accept` (signature, CID, schema, ownership),
 * which stores it; a peer that says it holds the blocks is recorded as a
 * provider. The result is then the local index's answer to the same query,
 * so local and learned packages are de-duplicated by CID and ranked by the
 * one formula (search-constants.ts SCORE_WEIGHTS). A peer whose answer is
 * malformed (E1422) or carries an envelope that does not verify (E1423,
 * counted by the catalogue's accept) is counted against it in the peer
 * book, and the rest of its answer dropped.
 */
import { raceAbort, timeoutChild } from '../abort.ts'
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { PACKAGES_TOPIC } from '../p2p/index.ts'
import { SEARCH_LIMITS } from './search-constants.ts'
import { createSearchMetrics, type AnswerOutcome, type SearchMetrics } from './search-metrics.ts'
import { ftsQuery, parseIndexQuery, type IndexHit, type SearchIndex } from './search-index.ts'
import { askSearch, SearchServer, type SearchAnswer, type SearchRequest } from './search-protocol.ts'
import type { SearchQuery, SearchResult } from './types.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import type { Gossip } from '../p2p/index.ts'
import type { ReqResp } from '../protocols/index.ts'
import type { CatalogPeerFeedback, PackageCatalog } from './catalog.ts'
import type { PackageRepository } from './repository.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Registry } from 'prom-client'

/** PACKAGE envelope faults a relaying peer should have caught: shape, kind, payload, size, signature, CID, schema, publisher. */
const FORGERY_CODES = ['E1400', 'E1401', 'E1402', 'E1403', 'E1404', 'E1405', 'E1406', 'E1407'] as const

export interface PackageSearchComponents {
  index: Pick<SearchIndex, 'search' | 'envelopes'>
  /** Verifies and stores an envelope a peer sent (and counts a forged one against that peer). */
  catalog: Pick<PackageCatalog, 'accept'>
  /** Records that a peer holds a package's blocks. */
  repository: Pick<PackageRepository, 'addProvider'>
  reqresp: Pick<ReqResp, 'handle' | 'unhandle' | 'request'>
  libp2p: Pick<Libp2p, 'getPeers'>
  gossip: Pick<Gossip, 'topicPeers'>
  /** The peer book: a malformed answer counts against its sender. */
  peerFeedback: Pick<CatalogPeerFeedback, 'record'>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface PackageSearchInit {
  /** packages.searchFanout: peers asked at once (0: local only). */
  fanout: number
  /** packages.searchTimeoutMs: how long a search waits for peers. */
  timeoutMs: number
  /** packages.searchPerPeerPerMinute: queries served per peer. */
  perPeerPerMinute: number
  now?: () => number
}

export type PackageSearchQuery = SearchQuery & { signal?: AbortSignal }

export class PackageSearch {
  private readonly c: PackageSearchComponents
  private readonly init: PackageSearchInit
  private readonly log: Logger
  private readonly server: SearchServer
  private readonly metrics: SearchMetrics | undefined
  private readonly now: () => number
  private shutdown = new AbortController()

  constructor (components: PackageSearchComponents, init: PackageSearchInit) {
    this.c = components
    this.init = init
    this.now = init.now ?? Date.now
    this.log = components.logger.forComponent('agora:packages:search')
    this.metrics = createSearchMetrics(components.metrics)
    this.server = new SearchServer({ reqresp: components.reqresp, index: components.index, log: this.log, metrics: this.metrics }, { perPeerPerMinute: init.perPeerPerMinute, ...(init.now === undefined ? {} : { now: init.now }) })
  }

  /** Serve /agora/search/1. */
  async start (): Promise<void> {
    this.shutdown = new AbortController()
    await this.server.start()
  }

  /** Stop serving and abort the searches under way. */
  async stop (): Promise<void> {
    this.shutdown.abort(new AgoraError('E504', 'package search is stopping'))
    await this.server.stop()
  }

  /** Local index + peers, merged and ranked; E1420 for a bad query. */
  async search (query: PackageSearchQuery): Promise<SearchResult> {
    const started = performance.now()
    const request = requestOf(query)
    const timeoutMs = timeoutOf(query.timeoutMs, this.init.timeoutMs)
    const peers = query.localOnly === true ? [] : this.pickPeers()
    let answered = 0
    if (peers.length > 0) {
      const parent = query.signal === undefined ? this.shutdown.signal : AbortSignal.any([this.shutdown.signal, query.signal])
      const { signal, release } = timeoutChild(parent, timeoutMs)
      const asks = peers.map(async peer => { if (await this.askOne(peer, request, signal)) answered++ })
      try {
        // the deadline, not the slowest peer, ends the wait (requests still running are aborted by the signal)
        await raceAbort(Promise.allSettled(asks), signal)
      } catch {
        if (query.signal?.aborted === true) throw new AgoraError('E504', 'the search was cancelled')
      } finally {
        release()
      }
    }
    const results = this.c.index.search(request).map(stripHeld)
    const elapsedMs = performance.now() - started
    this.metrics?.searches.inc({ scope: peers.length > 0 ? 'network' : 'local' })
    this.metrics?.seconds.observe(elapsedMs / 1000)
    return { results, peersAsked: peers.length, peersAnswered: answered, elapsedMs: Math.round(elapsedMs) }
  }

  /** Connected peers to ask: followers of the packages topic first, each group shuffled, at most `fanout`. */
  private pickPeers (): string[] {
    if (this.init.fanout <= 0) return []
    const connected = new Set(this.c.libp2p.getPeers().map(String))
    const followers = this.c.gossip.topicPeers(PACKAGES_TOPIC).filter(peer => connected.has(peer))
    const others = [...connected].filter(peer => !followers.includes(peer))
    return [...shuffle(followers), ...shuffle(others)].slice(0, this.init.fanout)
  }

  /** Ask one peer and take in its answer: true when it answered well. Never throws. */
  private async askOne (peer: string, request: SearchRequest, signal: AbortSignal): Promise<boolean> {
    try {
      const answer = await askSearch(this.c.reqresp, peer, request, signal)
      await this.ingest(peer, answer, signal)
      this.metrics?.answers.inc({ outcome: 'ok' })
      return true
    } catch (err) {
      this.metrics?.answers.inc({ outcome: outcomeOf(err, signal) })
      if (isAgoraError(err, 'E1422')) {
        this.log.info({ peer, err: err.format() }, 'malformed search answer: counted against the peer')
        this.c.peerFeedback.record(peer, 'invalid')
      } else if (isAgoraError(err, 'E1423')) {
        // the catalogue has counted the forged envelope against the peer already
        this.log.info({ peer, err: err.format() }, 'search answer with a forged package: dropped')
      } else {
        this.log.debug({ peer, err: messageOf(err) }, 'a peer did not answer the package search')
      }
      return false
    }
  }

  /** Verify and store each envelope of the answer (E1422/E1423 on the first bad one). */
  private async ingest (peer: string, answer: SearchAnswer, signal: AbortSignal): Promise<void> {
    for (const result of answer.results) {
      if (signal.aborted) return
      let envelope: unknown
      try {
        envelope = JSON.parse(result.envelope)
      } catch (err) {
        throw new AgoraError('E1422', 'malformed search answer', { why: `an envelope is not JSON: ${messageOf(err)}`, details: { peer } })
      }
      let cid: string
      try {
        cid = (await this.c.catalog.accept(envelope, peer)).cid
      } catch (err) {
        if (FORGERY_CODES.some(code => isAgoraError(err, code))) {
          throw new AgoraError('E1423', 'a search answer carried a PACKAGE envelope that does not verify', { why: messageOf(err), cause: err, details: { peer } })
        }
        // ownership, version conflicts, publisher rate limits: the catalogue's rules, not the peer's fault
        this.log.debug({ peer, err: messageOf(err) }, 'a searched package was not taken into the catalogue')
        continue
      }
      if (result.held) this.c.repository.addProvider(cid, peer, this.now())
    }
  }
}

/** The query as the index and peers take it (E1420 when out of bounds). */
function requestOf (query: SearchQuery): SearchRequest {
  const checked = parseIndexQuery({ text: query.text, kind: query.kind, limit: query.limit, allVersions: query.allVersions })
  ftsQuery(checked.text)
  const request: SearchRequest = { text: checked.text, limit: checked.limit ?? SEARCH_LIMITS.defaultLimit }
  if (checked.kind !== undefined) request.kind = checked.kind
  if (checked.allVersions === true) request.allVersions = true
  return request
}

function timeoutOf (asked: number | undefined, fallback: number): number {
  if (asked === undefined) return fallback
  if (!Number.isInteger(asked) || asked < 1 || asked > SEARCH_LIMITS.maxTimeoutMs) {
    throw new AgoraError('E1420', 'invalid search timeout', { why: `${asked} ms; give 1 to ${SEARCH_LIMITS.maxTimeoutMs} ms` })
  }
  return asked
}

function outcomeOf (err: unknown, signal: AbortSignal): AnswerOutcome {
  if (isAgoraError(err, 'E1422')) return 'malformed'
  if (isAgoraError(err, 'E1423')) return 'forged'
  if (signal.aborted || isAgoraError(err, 'E204')) return 'timeout'
  if (isAgoraError(err, 'E1421') || isAgoraError(err, 'E206') || isAgoraError(err, 'E207')) return 'refused'
  return 'error'
}

function stripHeld ({ held: _held, ...summary }: IndexHit): SearchResult['results'][number] {
  return summary
}

function shuffle<T> (items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const held = out[i] as T
    out[i] = out[j] as T
    out[j] = held
  }
  return out
}
