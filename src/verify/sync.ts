/**
 * Catching up on decisions (anti-entropy, docs/verification.md "Catching
 * up"): gossip reaches the nodes that are there; one that was away — a
 * restart, a partition — learns what it missed from its peers. On
 * connecting to a peer (again on every reconnection; repeated connect events
 * within `minIntervalMs` of one connection are one ask) a node
 * asks `/agora/verify/sync/1` for the signed DECIDEs and FINALIZEs that
 * peer kept after the last one it got from it (its whole retention window
 * the first time; the cursor is kept across restarts, migration 017),
 * a page at a time, up to `maxPages`. Each is checked as if it had come by
 * gossip — schema, signature, the thread's own decider — but not against
 * the age window (a decision older than the retention is left out, so one
 * pruned here never comes back), at most MAX_PER_SIGNER DECIDEs per signer
 * per pull, and taken: a DECIDE booked in the decision book, whose ordering
 * rule (epoch, Lamport, decider) makes every node agree on the winner
 * whatever order the decisions arrive in; a FINALIZE makes its decision
 * final (one whose DECIDE is not booked here waits for it, bounded).
 *
 * Served from the decisions table (migrations 016 and 020 keep each
 * DECIDE's and FINALIZE's envelope; a FINALIZE's place is when it was kept,
 * always after its DECIDE's), a page of at most MAX_PAGE messages and
 * MAX_PAGE_BYTES, rate-limited per peer. A peer's forged or misattributed
 * messages are dropped and counted against it.
 */
import { z } from 'zod'
import { messageOf } from '../errors.ts'
import { envelopeSchema, type Envelope } from '../identity/index.ts'
import { defineProtocol, type ReqResp } from '../protocols/index.ts'
import { setBounded } from './bounded.ts'
import type { Logger } from '../observability/logger.ts'
import type { DecisionCursor, DecisionsRepository } from './decisions-repository.ts'
import type { AbsorbOutcome } from './network.ts'

export const VERIFY_SYNC_PROTOCOL_ID = '/agora/verify/sync/1'
/** Messages (DECIDEs and FINALIZEs) per page at most… */
export const MAX_PAGE = 200
/** …and envelope bytes per page at most (a page is cut short before it would pass the response cap). */
export const MAX_PAGE_BYTES = 256 * 1024
/** Decisions of one signer booked from one pull at most: a peer cannot pour an unlimited history into the book. */
export const MAX_PER_SIGNER = 500

const cursorSchema = z.object({ at: z.number().int().min(0), thread: z.string().max(256), decider: z.string().max(64), epoch: z.number().int().min(0) }).strict()
// a cursor's thread is at most 256 printable characters (the DECIDE schema's rule): its JSON stays far below this
const MAX_REQUEST_BYTES = 2048

export const verifySyncProtocol = defineProtocol({
  id: VERIFY_SYNC_PROTOCOL_ID,
  request: z.object({ after: cursorSchema, limit: z.number().int().min(1).max(MAX_PAGE) }).strict(),
  // `decisions`: the signed DECIDEs and FINALIZEs, each with its place in the server's keeping order
  response: z.object({ decisions: z.array(z.object({ at: z.number().int().min(0), envelope: envelopeSchema }).strict()).max(MAX_PAGE) }).strict(),
  maxRequestBytes: MAX_REQUEST_BYTES,
  // pages are cut at MAX_PAGE_BYTES of envelopes; the rest is framing
  maxResponseBytes: MAX_PAGE_BYTES + 64 * 1024,
  timeouts: { requestMs: 5_000, firstByteMs: 10_000, responseMs: 10_000 },
  rateLimit: { perSecond: 2, burst: 10 }
})

export interface DecisionSyncComponents {
  reqresp: Pick<ReqResp, 'handle' | 'unhandle' | 'request'>
  repo: Pick<DecisionsRepository, 'after' | 'cursorOf' | 'saveCursor'>
  /** Check and take one DECIDE or FINALIZE (VerifyNetwork.absorb). */
  absorb: (envelope: Envelope) => AbsorbOutcome
  /** A peer handed over a decision that does not check out. */
  refused: (peer: string) => void
  log: Logger
}

export interface DecisionSyncInit {
  /** The first ask of a peer starts this far back (the decisions' retention). */
  windowMs: number
  minIntervalMs?: number
  maxPages?: number
  now?: () => number
}

export interface PullResult {
  received: number
  /** DECIDEs booked. */
  booked: number
  /** FINALIZEs that made a decision final here. */
  finalized: number
  /** Forged or misattributed: counted against the peer. */
  invalid: number
}


const DEFAULT_MIN_INTERVAL_MS = 5_000
const DEFAULT_MAX_PAGES = 10
/** Peers whose cursor is remembered at most (the least recently asked forgotten first). */
const MAX_PEERS = 10_000

export class DecisionSync {
  private readonly c: DecisionSyncComponents
  private readonly windowMs: number
  private readonly minIntervalMs: number
  private readonly maxPages: number
  private readonly now: () => number
  /** peer → where the last pull from it ended, and when it was asked. */
  private readonly peers = new Map<string, { cursor: DecisionCursor, askedAt: number }>()
  private readonly pulling = new Set<string>()
  private shutdown = new AbortController()

  constructor (components: DecisionSyncComponents, init: DecisionSyncInit) {
    this.c = components
    this.windowMs = init.windowMs
    this.minIntervalMs = init.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS
    this.maxPages = init.maxPages ?? DEFAULT_MAX_PAGES
    this.now = init.now ?? Date.now
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    await this.c.reqresp.handle(verifySyncProtocol, async request => {
      const decisions: Array<{ at: number, envelope: Envelope }> = []
      let bytes = 0
      for (const row of this.c.repo.after(request.after, request.limit)) {
        bytes += row.envelope.length
        // cut the page short rather than pass the response cap: the next page starts after the last one sent
        if (bytes > MAX_PAGE_BYTES && decisions.length > 0) break
        try {
          decisions.push({ at: row.at, envelope: envelopeSchema.parse(JSON.parse(row.envelope)) })
        } catch {
          // a row that no longer parses is skipped, not served
        }
      }
      return { decisions }
    })
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    await this.c.reqresp.unhandle(verifySyncProtocol.id)
  }

  /** A peer went away: its next connection pulls at once, whatever minIntervalMs says (the cursor is kept). */
  disconnected (peer: string): void {
    const known = this.peers.get(peer)
    if (known !== undefined) known.askedAt = 0
  }

  /** A peer connected: catch up with it, unless asked within minIntervalMs on this same connection (errors are logged, not thrown). */
  connected (peer: string): void {
    const known = this.peers.get(peer)
    if (this.pulling.has(peer) || (known !== undefined && this.now() - known.askedAt < this.minIntervalMs)) return
    this.pull(peer).catch(err => { this.c.log.debug({ peer, err: messageOf(err) }, 'catching up on decisions failed') })
  }

  /** Ask `peer` for the decisions booked after the last one it gave us, page by page (nothing when a pull of it is running already). */
  async pull (peer: string, caller?: AbortSignal): Promise<PullResult> {
    const result: PullResult = { received: 0, booked: 0, finalized: 0, invalid: 0 }
    if (this.pulling.has(peer)) return result
    this.pulling.add(peer)
    const signal = caller === undefined ? this.shutdown.signal : AbortSignal.any([caller, this.shutdown.signal])
    try {
      // where the last pull from this peer ended (kept across restarts), else the whole retention window
      const windowStart = Math.max(0, this.now() - this.windowMs)
      let cursor = this.peers.get(peer)?.cursor ?? this.c.repo.cursorOf(peer) ?? { at: windowStart, thread: '', decider: '', epoch: 0 }
      if (cursor.at < windowStart) cursor = { at: windowStart, thread: '', decider: '', epoch: 0 }
      const perSigner = new Map<string, number>()
      for (let page = 0; page < this.maxPages; page++) {
        const answer = await this.c.reqresp.request(peer, verifySyncProtocol, { after: cursor, limit: MAX_PAGE }, { signal })
        for (const { at, envelope } of answer.decisions) {
          result.received++
          const booked = perSigner.get(envelope.from) ?? 0
          // past the cap a signer's decisions are not looked at: not blamed on the peer, left for the next pull
          const outcome = booked >= MAX_PER_SIGNER ? 'kept-out' : this.c.absorb(envelope)
          if (outcome === 'booked') {
            result.booked++
            setBounded(perSigner, envelope.from, booked + 1, MAX_PEERS)
          } else if (outcome === 'finalized') result.finalized++
          else if (outcome === 'invalid') result.invalid++
          const thread = (envelope.payload as { thread?: unknown }).thread
          const epoch = (envelope.payload as { epoch?: unknown }).epoch
          if (typeof thread === 'string' && typeof epoch === 'number') cursor = { at, thread, decider: envelope.from, epoch }
        }
        this.remember(peer, cursor)
        if (answer.decisions.length === 0) break
      }
      this.c.repo.saveCursor(peer, cursor, this.now())
      if (result.invalid > 0) this.c.refused(peer)
      return result
    } finally {
      this.pulling.delete(peer)
    }
  }

  private remember (peer: string, cursor: DecisionCursor): void {
    this.peers.delete(peer)
    setBounded(this.peers, peer, { cursor, askedAt: this.now() }, MAX_PEERS)
  }
}
