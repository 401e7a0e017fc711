/**
 * Holds on top of the ledger (docs/market.md "Holds, captures, releases"):
 * a hold moves credits from available to held:<hold>; captures take checked
 * receipts' prices from it, all or nothing; a release gives back what is
 * left, exactly once — an explicit release, the expiry timer and a restart
 * all meet at the same idempotency key (release:<hold>). Open holds are kept
 * in memory for the expiry sweep; their rows ride the ledger's group commit.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { Database } from '../../store/index.ts'
import { formatCredits, type Micro } from '../amount.ts'
import type { CaptureInput } from '../types.ts'
import {
  assertAmount, capturePosting, captureKey, held, holdKey, holdPosting, releaseKey, releasePosting, setAsidePosting, type Ledger, type PostOutcome
} from '../ledger/index.ts'
import { HoldsRepository, type HoldRow } from './holds-repository.ts'

/** Where a capture's receipt goes to be paid (the payer side of payments). */
export interface OwedReceipts {
  owe (receipt: { receiptId: string, payee: string, amount: Micro, at: number, partOf?: string | undefined }): void
}

export interface EscrowComponents {
  ledger: Ledger
  db: Database
  logger: AgoraLogger
  /** Told of every capture, in the same commit. */
  owed?: OwedReceipts | undefined
}

export interface EscrowInit {
  /** How often expired holds are looked for, in ms (default 1 s). */
  sweepMs?: number
  now?: () => number
}

export interface HoldOptions {
  /** Released by the sweep once this time (ms since the epoch) has passed. */
  expiresAt?: number
  /** What it is for: a contract, job or request. */
  ref?: string
}

export interface HoldRecord extends HoldRow {
  /** Still in held:<id>. */
  remaining: Micro
}

export interface ReleaseResult {
  /** applied: released now; duplicate: released before; unknown: never held. */
  outcome: 'applied' | 'duplicate' | 'unknown'
  /** Credits given back to available. */
  amount: Micro
}

export type ExpiredListener = (hold: HoldRecord, released: Micro) => void

const DEFAULT_SWEEP_MS = 1000
const MAX_ID_LENGTH = 512

export class Escrow {
  private readonly ledger: Ledger
  private readonly repo: HoldsRepository
  private readonly log: Logger
  private readonly owed: OwedReceipts | undefined
  private readonly sweepMs: number
  private readonly now: () => number
  private open = new Map<string, HoldRow>()
  /** Holds released since the last commit (their rows on disk still say open). */
  private readonly closing = new Map<string, HoldRow>()
  private readonly expiredListeners = new Set<ExpiredListener>()
  private timer: NodeJS.Timeout | undefined

  constructor (components: EscrowComponents, init: EscrowInit = {}) {
    this.ledger = components.ledger
    this.repo = new HoldsRepository(components.db)
    this.log = components.logger.forComponent('agora:market:escrow')
    this.owed = components.owed
    this.sweepMs = init.sweepMs ?? DEFAULT_SWEEP_MS
    this.now = init.now ?? Date.now
    this.load()
    components.ledger.onReload(() => this.load())
    components.ledger.onCommit(() => this.closing.clear())
  }

  /** Release the holds that expired while the node was down, then sweep every `sweepMs`. */
  start (): void {
    if (this.timer !== undefined) return
    this.sweep()
    this.timer = setInterval(() => this.sweep(), this.sweepMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Move `amount` from available to held:<holdId>. E1101 when available cannot cover it; idempotent per holdId. */
  hold (holdId: string, amount: Micro, options: HoldOptions = {}): PostOutcome {
    checkId(holdId)
    assertAmount(amount, 'hold')
    const at = this.now()
    const outcome = this.ledger.post(holdPosting(holdId, amount, options.ref, at))
    if (outcome === 'duplicate') return outcome
    const row: HoldRow = { id: holdId, amount, expiresAt: options.expiresAt ?? null, ref: options.ref ?? null, createdAt: at, releasedAt: null }
    this.open.set(holdId, row)
    this.ledger.write(() => this.repo.insert(row))
    return outcome
  }

  /**
   * Book one checked receipt against its hold (held −x, spent +x,
   * payable:<seller> −x, settlement +x), once per receiptId, all or nothing;
   * E1104 when the hold does not hold that much (or is released).
   */
  capture (input: CaptureInput): PostOutcome {
    assertAmount(input.amount, 'capture')
    const at = this.now()
    const posting = capturePosting({ ...input, at })
    // a retry is answered from the key (or refused when it differs), whatever is left of the hold now
    if (this.ledger.has(captureKey(input.receiptId))) return this.ledger.post(posting)
    const remaining = this.remaining(input.holdId)
    if (!this.open.has(input.holdId)) {
      const why = this.ledger.has(holdKey(input.holdId)) ? 'the hold was released' : 'no such hold was placed'
      throw captureRefused(input, remaining, why)
    }
    if (input.amount > remaining) throw captureRefused(input, remaining, `it holds ${formatCredits(remaining)} credits`)
    const outcome = this.ledger.post(posting)
    if (outcome === 'applied') this.owed?.owe({ receiptId: input.receiptId, payee: input.seller, amount: input.amount, at, partOf: input.partOf })
    return outcome
  }

  /**
   * Move `amount` of hold `from` into a new hold `to` (held:from −x,
   * held:to +x), once per `to`: a part of the price set aside, to be
   * captured or released later on its own (a provisional result's held-back
   * pay). E1104 when `from` does not hold that much.
   */
  setAside (from: string, to: string, amount: Micro, options: HoldOptions = {}): PostOutcome {
    checkId(to)
    assertAmount(amount, 'set-aside')
    if (this.ledger.has(holdKey(to))) return 'duplicate'
    const remaining = this.remaining(from)
    if (!this.open.has(from) || amount > remaining) {
      throw new AgoraError('E1104', `cannot set ${formatCredits(amount)} credits of hold ${from} aside`, { why: this.open.has(from) ? `it holds ${formatCredits(remaining)} credits` : 'the hold is not open' })
    }
    const at = this.now()
    const outcome = this.ledger.post(setAsidePosting(from, to, amount, options.ref, at))
    const row: HoldRow = { id: to, amount, expiresAt: options.expiresAt ?? null, ref: options.ref ?? null, createdAt: at, releasedAt: null }
    this.open.set(to, row)
    this.ledger.write(() => this.repo.insert(row))
    return outcome
  }

  /** Give back what is left of a hold, exactly once. */
  release (holdId: string, kind: 'release' | 'expire' = 'release'): ReleaseResult {
    if (this.ledger.has(releaseKey(holdId))) return { outcome: 'duplicate', amount: 0 }
    const row = this.open.get(holdId)
    if (row === undefined) return { outcome: 'unknown', amount: 0 }
    const amount = this.remaining(holdId)
    const at = this.now()
    this.ledger.post(releasePosting(holdId, amount, kind, row.ref ?? undefined, at))
    this.open.delete(holdId)
    this.closing.set(holdId, { ...row, releasedAt: at })
    this.ledger.write(() => this.repo.released(holdId, at))
    return { outcome: 'applied', amount }
  }

  /** Credits still in the hold (0 once released or never placed). */
  remaining (holdId: string): Micro {
    return this.ledger.balance(held(holdId))
  }

  isOpen (holdId: string): boolean {
    return this.open.has(holdId)
  }

  get (holdId: string): HoldRecord | undefined {
    const row = this.open.get(holdId) ?? this.closing.get(holdId) ?? this.repo.get(holdId)
    return row === undefined ? undefined : { ...row, remaining: this.remaining(holdId) }
  }

  /** Every open hold. */
  list (): HoldRecord[] {
    return [...this.open.values()].map(row => ({ ...row, remaining: this.remaining(row.id) }))
  }

  /** Release every open hold past its expiry at `now`; returns how many. */
  expire (now: number = this.now()): number {
    let count = 0
    for (const row of [...this.open.values()]) {
      if (row.expiresAt === null || row.expiresAt > now) continue
      const remaining = this.remaining(row.id)
      const result = this.release(row.id, 'expire')
      if (result.outcome !== 'applied') continue
      count++
      for (const listener of this.expiredListeners) listener({ ...row, remaining, releasedAt: now }, result.amount)
    }
    return count
  }

  /** Told of each hold the sweep released (a contract's expiry, say). */
  onExpired (listener: ExpiredListener): () => void {
    this.expiredListeners.add(listener)
    return () => this.expiredListeners.delete(listener)
  }

  private sweep (): void {
    try {
      const count = this.expire()
      if (count > 0) this.log.debug({ count }, 'released expired holds')
    } catch (err) {
      this.log.error({ err: messageOf(err) }, 'expiry sweep failed')
    }
  }

  private load (): void {
    this.open = new Map(this.repo.open().map(row => [row.id, row]))
    this.closing.clear()
  }
}

function checkId (holdId: string): void {
  if (typeof holdId !== 'string' || holdId.length === 0 || holdId.length > MAX_ID_LENGTH) {
    throw new AgoraError('E1103', 'a hold needs an id', { why: `got ${JSON.stringify(holdId)}` })
  }
}

function captureRefused (input: CaptureInput, remaining: Micro, why: string): AgoraError {
  return new AgoraError('E1104', `cannot capture ${formatCredits(input.amount)} credits from hold ${input.holdId}`, {
    why,
    details: { holdId: input.holdId, receiptId: input.receiptId, amount: formatCredits(input.amount), remaining: formatCredits(remaining) }
  })
}
