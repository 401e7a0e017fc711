/**
 * The one guard in front of everything that spends this node's compute:
 * /agora/infer/1 today, the jobs protocols next. A request from a peer is
 * admitted or refused with the code of the rule that refused it:
 *
 *   E900 private mode (only this node)       E903 model denied / not allowed
 *   E902 the peer is banned                  E904 requests/min exceeded (429)
 *   E901 friends mode and not trusted        E905 tokens/min exceeded (429)
 *
 * E904/E905 carry `details.retryAfterMs` (the API's Retry-After). Usage:
 * `check(peer, { model, estimatedTokens })` before the work (counts one
 * request; the tokens/min budget must cover the estimate), then
 * `charge(peer, actualTokens)` after it (may run the budget into debt,
 * which slows that peer's next requests). Trust mode, lists and limits
 * change at run time.
 */
import { AgoraError } from '../../errors.ts'
import { KeyedRateLimiter } from '../../p2p/rate-limit.ts'
import { ACCESS_DEFAULTS, MAX_DEBT_MINUTES, MAX_MODEL_PATTERN, MAX_MODEL_PATTERNS, MAX_TRACKED_PEERS, TRUST_MODES, type AccessConfig, type TrustMode } from './constants.ts'
import { createAccessMetrics, type AccessMetrics } from './metrics.ts'
import { TokenMeter } from './token-meter.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { PeerBook } from '../../peers/index.ts'
import type { Registry } from 'prom-client'

export interface AccessControlComponents {
  peerBook: Pick<PeerBook, 'isTrusted' | 'isBanned'>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface AccessControlInit extends Partial<AccessConfig> {
  /** This node's own peer id: always admitted, never limited. */
  selfPeerId?: string
  /** Peers whose budgets are tracked at once. */
  maxPeers?: number
  /** Clock in ms (tests pass a fake one). */
  now?: () => number
}

/** What a peer asks to spend. */
export interface AccessRequest {
  /** The model the work runs on; the allow/deny lists apply whenever it is given. */
  model?: string
  /** Tokens the work is expected to use (see estimate.ts); the peer's tokens/min budget must cover them. */
  estimatedTokens?: number
}

export interface AccessLists {
  allow: string[]
  deny: string[]
}

export interface AccessLimits {
  requestsPerMinute: number
  tokensPerMinute: number
}

type Matcher = (model: string) => boolean

export class AccessControl {
  private readonly peerBook: AccessControlComponents['peerBook']
  private readonly log: Logger
  private readonly metrics: AccessMetrics | undefined
  private readonly selfPeerId: string | undefined
  private readonly maxPeers: number
  private readonly now: () => number
  private mode: TrustMode
  private limits: AccessLimits
  private lists: AccessLists
  private allow: Matcher[] = []
  private deny: Matcher[] = []
  private requests: KeyedRateLimiter
  private tokens: TokenMeter

  constructor (components: AccessControlComponents, init: AccessControlInit = {}) {
    this.peerBook = components.peerBook
    this.log = components.logger.forComponent('agora:access')
    this.metrics = createAccessMetrics(components.metrics)
    this.selfPeerId = init.selfPeerId
    this.maxPeers = init.maxPeers ?? MAX_TRACKED_PEERS
    this.now = init.now ?? Date.now
    this.mode = checkMode(init.trustMode ?? ACCESS_DEFAULTS.trustMode)
    this.limits = {
      requestsPerMinute: checkLimit('requestsPerMinute', init.requestsPerMinute ?? ACCESS_DEFAULTS.requestsPerMinute),
      tokensPerMinute: checkLimit('tokensPerMinute', init.tokensPerMinute ?? ACCESS_DEFAULTS.tokensPerMinute)
    }
    this.requests = this.requestLimiter()
    this.tokens = this.tokenMeter()
    this.lists = { allow: [], deny: [] }
    this.setLists({ allow: init.allowModels ?? ACCESS_DEFAULTS.allowModels, deny: init.denyModels ?? ACCESS_DEFAULTS.denyModels })
  }

  /**
   * Admit the request or throw the AgoraError of the first rule that refuses
   * it. An admitted request counts against the peer's requests/min, and its
   * estimated tokens are taken from the peer's tokens/min at once (so
   * concurrent requests cannot all pass on one full budget); the answer is
   * that reservation, to hand to `charge` when the request has run.
   */
  check (peerId: string, request: AccessRequest = {}): number {
    const refusal = this.evaluate(peerId, request)
    if (refusal !== undefined) {
      this.metrics?.refused.inc({ code: refusal.code })
      this.log.debug({ peerId, model: request.model, code: refusal.code }, 'request refused')
      throw refusal
    }
    if (peerId === this.selfPeerId) return 0
    if (!this.requests.take(peerId)) {
      const retryAfterMs = Math.ceil(60_000 / this.limits.requestsPerMinute)
      const refused = new AgoraError('E904', `too many requests from ${peerId}`, {
        why: `over ${this.limits.requestsPerMinute} requests per minute; retry after ${retryAfterMs} ms`,
        details: { peerId, retryAfterMs, limit: this.limits.requestsPerMinute }
      })
      this.metrics?.refused.inc({ code: refused.code })
      throw refused
    }
    this.metrics?.admitted.inc()
    // what was taken, which the floor on debt may cut short: a refund must not give back more
    return this.tokens.debit(peerId, Math.max(0, request.estimatedTokens ?? 0))
  }

  /**
   * The refusal `check` would throw, without counting the request; undefined
   * when the request would be admitted (ignoring the requests/min bucket).
   */
  evaluate (peerId: string, request: AccessRequest = {}): AgoraError | undefined {
    const refusal = this.peerRefusal(peerId)
    if (refusal !== undefined || peerId === this.selfPeerId) return refusal
    if (request.model !== undefined && !this.modelAllowed(request.model)) {
      const denied = this.deny.some(match => match(request.model as string))
      return new AgoraError('E903', `model ${request.model} is not served to peers here`, {
        why: denied ? 'it is on the deny list' : 'it is not on the allow list',
        details: { peerId, model: request.model }
      })
    }
    const estimated = request.estimatedTokens ?? 0
    const retryAfterMs = this.tokens.waitMs(peerId, estimated)
    if (retryAfterMs > 0) {
      return new AgoraError('E905', `too many tokens used by ${peerId}`, {
        why: `over ${this.limits.tokensPerMinute} tokens per minute; retry after ${retryAfterMs} ms`,
        details: { peerId, retryAfterMs, limit: this.limits.tokensPerMinute, estimatedTokens: estimated }
      })
    }
    return undefined
  }

  /**
   * Whether this node serves `peer` at all (trust mode, bans, trust), asked
   * by the protocols that spend compute before they read a request: the
   * refusal, counted, or undefined. Models and limits are checked per request.
   */
  admitPeer (peerId: string): AgoraError | undefined {
    const refusal = this.peerRefusal(peerId)
    if (refusal !== undefined) {
      this.metrics?.refused.inc({ code: refusal.code })
      this.log.debug({ peerId, code: refusal.code }, 'peer refused before its request was read')
    }
    return refusal
  }

  /**
   * Settle a request once it ran (even when it failed half-way): the peer
   * pays the tokens it actually used; `reserved` (what `check` took) is
   * set against them, the difference debited or given back.
   */
  charge (peerId: string, tokens: number, reserved = 0): void {
    if (peerId === this.selfPeerId) return
    const used = tokens > 0 ? tokens : 0
    if (used > reserved) this.tokens.debit(peerId, used - reserved)
    else this.tokens.refund(peerId, reserved - used)
    if (used > 0) this.metrics?.charged.inc(used)
  }

  /** Whether the lists let peers use this model (deny wins; an empty allow list allows all). */
  modelAllowed (model: string): boolean {
    if (this.deny.some(match => match(model))) return false
    return this.allow.length === 0 || this.allow.some(match => match(model))
  }

  trustMode (): TrustMode {
    return this.mode
  }

  setTrustMode (mode: TrustMode): void {
    const checked = checkMode(mode)
    if (checked === this.mode) return
    this.log.info({ from: this.mode, to: checked }, 'trust mode changed')
    this.mode = checked
  }

  /** Replace the model lists; entries are model ids, `*` matches any characters (`llama3*`). */
  setLists (lists: Partial<AccessLists>): void {
    const allow = checkPatterns('allowModels', lists.allow ?? this.lists.allow)
    const deny = checkPatterns('denyModels', lists.deny ?? this.lists.deny)
    this.lists = { allow, deny }
    this.allow = allow.map(matcher)
    this.deny = deny.map(matcher)
  }

  /** New per-peer limits; every peer starts again with a full budget. */
  setLimits (limits: Partial<AccessLimits>): void {
    this.limits = {
      requestsPerMinute: checkLimit('requestsPerMinute', limits.requestsPerMinute ?? this.limits.requestsPerMinute),
      tokensPerMinute: checkLimit('tokensPerMinute', limits.tokensPerMinute ?? this.limits.tokensPerMinute)
    }
    this.requests = this.requestLimiter()
    this.tokens = this.tokenMeter()
  }

  /** The rules in force, as config would spell them. */
  settings (): AccessConfig {
    return { trustMode: this.mode, ...this.limits, allowModels: [...this.lists.allow], denyModels: [...this.lists.deny] }
  }

  /** Tokens the peer may still use this minute (negative: in debt). */
  tokensAvailable (peerId: string): number {
    return this.tokens.available(peerId)
  }

  /** The rules about who asks: trust mode, bans, trust. */
  private peerRefusal (peerId: string): AgoraError | undefined {
    if (peerId === this.selfPeerId) return undefined
    if (this.mode === 'private') {
      return new AgoraError('E900', 'this node does not serve other peers', { why: 'trust mode is private', details: { peerId } })
    }
    if (this.peerBook.isBanned(peerId)) {
      return new AgoraError('E902', `peer ${peerId} is banned here`, { details: { peerId } })
    }
    if (this.mode === 'friends' && !this.peerBook.isTrusted(peerId)) {
      return new AgoraError('E901', `peer ${peerId} is not trusted here`, { why: 'trust mode is friends: only trusted peers are served', details: { peerId } })
    }
    return undefined
  }

  private requestLimiter (): KeyedRateLimiter {
    const perMinute = this.limits.requestsPerMinute
    return new KeyedRateLimiter({ perSecond: perMinute / 60, burst: perMinute, maxKeys: this.maxPeers, now: this.now })
  }

  private tokenMeter (): TokenMeter {
    return new TokenMeter({ perMinute: this.limits.tokensPerMinute, maxKeys: this.maxPeers, maxDebtMinutes: MAX_DEBT_MINUTES, now: this.now })
  }
}

function checkMode (mode: string): TrustMode {
  const found = TRUST_MODES.find(m => m === mode)
  if (found === undefined) throw new AgoraError('E300', `unknown trust mode: ${mode}`, { why: `use one of ${TRUST_MODES.join(', ')}` })
  return found
}

function checkLimit (name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 1)) throw new AgoraError('E300', `access.${name} must be a number ≥ 1`, { why: `got ${value}` })
  return value
}

function checkPatterns (name: string, patterns: readonly string[]): string[] {
  if (patterns.length > MAX_MODEL_PATTERNS) throw new AgoraError('E300', `access.${name} has too many entries`, { why: `${patterns.length} > ${MAX_MODEL_PATTERNS}` })
  for (const pattern of patterns) {
    if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_MODEL_PATTERN) {
      throw new AgoraError('E300', `access.${name} entries must be model ids of 1 to ${MAX_MODEL_PATTERN} characters`)
    }
  }
  return [...patterns]
}

function matcher (pattern: string): Matcher {
  if (!pattern.includes('*')) return model => model === pattern
  return model => globMatch(pattern, model)
}

/** `*` matches any run of characters; linear backtracking to the last star (no regex, no blow-up). */
export function globMatch (pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let mark = 0
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++
      t++
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++
      mark = t
    } else if (star !== -1) {
      p = star + 1
      t = ++mark
    } else {
      return false
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++
  return p === pattern.length
}
