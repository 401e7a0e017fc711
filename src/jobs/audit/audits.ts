/**
 * Held-back pay of provisional results (docs/verification.md "Held-back
 * pay and audits"). While the quorum is in bootstrap mode a result is
 * decided by this coordinator alone, so part of its worker's pay
 * (`verify.holdback`) is set aside in a hold of its own when the result
 * commits, and the rest is captured at once. Once the part has waited
 * `verify.auditWindowMs`, a sweep settles it: a share of them
 * (`verify.auditRate`, drawn from the OS's random source) is re-run here
 * first. Agreed, not drawn, or not re-runnable here: the part is captured
 * under `<receipt>#rest` as the rest of the same receipt (the payee books
 * both parts against it). Disagreed: the part is refunded — and so is every
 * other part of that worker's still held, the deposit a cheat forfeits —
 * and the worker is blamed as when replicas outvote it; the worker is told
 * with a signed VOID of each part, so its books settle those receipts.
 *
 * The audit row is written in the transaction that commits the result,
 * before the set-aside reaches the ledger's commit, so a crash never leaves
 * a held part without its row, and the recapture after a restart finds the
 * row and holds the same part back (src/jobs/coordinator/recapture.ts);
 * the row moves last, after the capture or release is on disk. Holds
 * expire a day after they are due, so a part whose row was lost goes back
 * by itself.
 */
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import type { AgoraEvents } from '../../events.ts'
import { formatCredits, type Micro } from '../../market/amount.ts'
import type { MarketApi } from '../../market/types.ts'
import type { Logger } from '../../observability/logger.ts'
import { AuditRepository, type AuditRow, type AuditVerdict } from './audit-repository.ts'
import type { HeldBack } from '../api-types.ts'
import type { Database } from '../../store/index.ts'
import { counter } from '../../observability/metrics.ts'
import type { Counter, Registry } from 'prom-client'

const DAY_MS = 24 * 60 * 60_000
/** Parts settled per sweep at most (a sweep that finds more goes on at the next). */
const SWEEP_BATCH = 256

export type RerunVerdict = 'agreed' | 'disagreed' | 'unverified'
/** A re-run's verdict, with the auditor's own result hash when it disagreed (named in the VOID). */
export type RerunOutcome = RerunVerdict | { verdict: RerunVerdict, auditHash?: string }

export interface JobAuditsComponents {
  db: Database
  market: Pick<MarketApi, 'setAside' | 'capture' | 'release' | 'durable' | 'voidPart'>
  /** Re-run the audited subtask here and compare with the worker's result. */
  rerun: (audit: AuditRow, signal: AbortSignal) => Promise<RerunOutcome>
  /** An audited result disagreed: the worker's standing for the type drops, as when replicas outvote it. */
  caught: (audit: AuditRow) => void
  events: Pick<AgoraEvents, 'emit'>
  metrics?: Registry | undefined
  log: Logger
}

export interface JobAuditsInit {
  /** Share of a provisional result's pay held back (0 to 1; 0: none). */
  holdback: number
  windowMs: number
  /** Share of the parts whose result is re-run before they are paid. */
  rate: number
  random: () => number
  now?: () => number
  /** How often due parts are looked for (default: a quarter of the window, 50 ms to 5 s). */
  sweepMs?: number
}

/** What the coordinator knows when a provisional result commits: the audit's subject, the receipt's price, the hold that pays it. */
export type ProvisionalResult = Pick<AuditRow, 'receiptId' | 'jobId' | 'subtaskId' | 'worker' | 'type' | 'assignment' | 'result' | 'resultHash'> & {
  price: Micro
  from: string
}

/**
 * The one hold-back rule: of a provisional result's `price`, the part held
 * back for its audit (`share` of it, rounded down); 0 when that leaves
 * nothing to hold or nothing to pay now. The rest is paid at once.
 */
export function heldBackPart (price: Micro, share: number): Micro {
  const amount = Math.floor(price * share)
  return amount <= 0 || amount >= price ? 0 : amount
}

export class JobAudits {
  private readonly c: JobAuditsComponents
  private readonly init: JobAuditsInit
  private readonly repo: AuditRepository
  private readonly now: () => number
  private readonly sweepMs: number
  private timer: NodeJS.Timeout | undefined
  private sweeping: Promise<void> | undefined
  private stopping = new AbortController()
  private readonly settledCount: Counter<'outcome' | 'audited'> | undefined

  constructor (components: JobAuditsComponents, init: JobAuditsInit) {
    this.c = components
    this.init = init
    this.settledCount = components.metrics === undefined
      ? undefined
      : counter(components.metrics, 'agora_verify_audits_total', 'Held-back pay of provisional results settled after the audit window, by outcome (paid, forfeited) and how (agreed, disagreed, not-drawn, unverified, with-another, hold-gone)', ['outcome', 'audited'])
    this.repo = new AuditRepository(components.db)
    this.now = init.now ?? Date.now
    this.sweepMs = init.sweepMs ?? Math.max(50, Math.min(5000, Math.floor(init.windowMs / 4)))
  }

  start (): void {
    if (this.timer !== undefined) return
    this.stopping = new AbortController()
    this.timer = setInterval(() => { void this.settleDue() }, this.sweepMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    this.stopping.abort(new AgoraError('E504', 'the coordinator is stopping'))
    await this.sweeping
  }

  /**
   * A provisional result committed: set its held-back part aside (from the
   * hold that pays it) and record its audit. Returns the part held back —
   * the caller captures the price less that — or 0 when nothing is (no
   * holdback, too small a price, or the hold has no room: paid at once).
   */
  holdBack (input: ProvisionalResult): Micro {
    this.record(input)
    return this.setAsideFor(input.receiptId, input.from)
  }

  /**
   * The first half of holdBack, with no ledger step: the audit row of a
   * provisional result (its part by heldBackPart), once per receipt. The
   * coordinator writes it in the transaction that commits the result, so
   * the decision "provisional" is on disk exactly when the result is.
   * False when nothing is held back (or the row was written before).
   */
  record (input: Omit<ProvisionalResult, 'from'>): boolean {
    const amount = heldBackPart(input.price, this.init.holdback)
    if (amount === 0) return false
    const dueAt = this.now() + this.init.windowMs
    const { price: _price, ...subject } = input
    return this.repo.insert({ ...subject, holdId: `audit:${input.receiptId}`, amount, dueAt, state: 'held', audited: null, settledAt: null })
  }

  /**
   * The second half: set the recorded part aside from hold `from` and return
   * it (the capture is the price less that); 0 when the receipt has no
   * audit row, or its part could not be set aside (then it is paid at once,
   * and the row says so). Idempotent, so a recapture after a crash runs it
   * again: the set-aside is once per `audit:<receipt>` hold, and a part set
   * aside before is answered from the ledger whatever `from` holds now.
   */
  setAsideFor (receiptId: string, from: string): Micro {
    const row = this.repo.get(receiptId)
    if (row === undefined) return 0
    // settled before (a recapture after the sweep): set aside then unless it never could be
    if (row.state !== 'held') return row.audited === 'hold-gone' ? 0 : row.amount
    try {
      this.c.market.setAside(from, row.holdId, row.amount, { ref: row.jobId, expiresAt: row.dueAt + DAY_MS })
    } catch (err) {
      // nothing set aside: the whole price is paid now, and the row says so
      this.repo.settle(row.receiptId, 'paid', 'hold-gone', this.now())
      this.c.log.warn({ receiptId, err: messageOf(err) }, 'a provisional result\'s pay could not be held back; paid at once')
      return 0
    }
    return row.amount
  }

  /** Whether receipt `receiptId` is a provisional result's (an audit row was recorded for it). */
  recorded (receiptId: string): boolean {
    return this.repo.get(receiptId) !== undefined
  }

  /** What a job's provisional results hold back, for its view. */
  heldBack (jobId: string): HeldBack {
    const sum: HeldBack = { held: 0, paid: 0, forfeited: 0, nextDueAt: null }
    for (const part of this.repo.ofJob(jobId)) {
      sum[part.state] += part.amount
      if (part.state === 'held' && (sum.nextDueAt === null || part.dueAt < sum.nextDueAt)) sum.nextDueAt = part.dueAt
    }
    return sum
  }

  /** Settle every part due now (the sweep; tests call it too). One sweep at a time. */
  async settleDue (): Promise<void> {
    if (this.sweeping !== undefined) return await this.sweeping
    this.sweeping = this.sweep().finally(() => { this.sweeping = undefined })
    await this.sweeping
  }

  private async sweep (): Promise<void> {
    for (const row of this.repo.due(this.now(), SWEEP_BATCH)) {
      if (this.stopping.signal.aborted) return
      try {
        await this.settle(row)
      } catch (err) {
        this.c.log.warn({ receiptId: row.receiptId, err: messageOf(err) }, 'a held-back part could not be settled; tried again at the next sweep')
      }
    }
  }

  private async settle (row: AuditRow): Promise<void> {
    // a part forfeited with another earlier in this sweep is not held any more
    if (this.repo.get(row.receiptId)?.state !== 'held') return
    let verdict: AuditVerdict = 'not-drawn'
    let auditHash: string | undefined
    if (this.init.rate > 0 && this.init.random() < this.init.rate) {
      const outcome = await this.c.rerun(row, this.stopping.signal)
      verdict = typeof outcome === 'string' ? outcome : outcome.verdict
      auditHash = typeof outcome === 'string' ? undefined : outcome.auditHash
    }
    if (this.stopping.signal.aborted) return
    if (verdict !== 'disagreed') {
      await this.pay(row, verdict)
      return
    }
    await this.forfeit(row, 'disagreed', auditHash)
    for (const other of this.repo.heldOf(row.worker)) await this.forfeit(other, 'with-another')
    this.c.caught(row)
  }

  private async pay (row: AuditRow, verdict: AuditVerdict): Promise<void> {
    try {
      this.c.market.capture({ holdId: row.holdId, receiptId: `${row.receiptId}#rest`, partOf: row.receiptId, seller: row.worker, amount: row.amount })
    } catch (err) {
      // released by its expiry (the node was away a day past due), or never set aside before a crash
      if (!isAgoraError(err, 'E1104')) throw err
      this.settled(row, 'forfeited', 'hold-gone')
      return
    }
    this.c.market.release(row.holdId)
    await this.c.market.durable()
    this.settled(row, 'paid', verdict)
  }

  /**
   * Refund the part, then tell the worker with a signed VOID that it will
   * never be paid (its books settle the receipt; src/market/payments/void.ts).
   * The VOID is kept and resent by the market until acknowledged, and is
   * once per receipt, so a crash before the row moves runs this again safely.
   */
  private async forfeit (row: AuditRow, verdict: 'disagreed' | 'with-another', auditHash?: string): Promise<void> {
    this.c.market.release(row.holdId)
    await this.c.market.durable()
    const reason = { kind: 'audit' as const, jobId: row.jobId, subtaskId: row.subtaskId, resultHash: row.resultHash, audited: verdict, ...(auditHash === undefined ? {} : { auditHash }) }
    await this.c.market.voidPart({ payee: row.worker, receiptId: row.receiptId, amount: row.amount, reason })
    this.settled(row, 'forfeited', verdict)
  }

  private settled (row: AuditRow, outcome: 'paid' | 'forfeited', audited: AuditVerdict): void {
    if (!this.repo.settle(row.receiptId, outcome, audited, this.now())) return
    this.settledCount?.inc({ outcome, audited })
    this.c.events.emit('verify:audited', { jobId: row.jobId, subtaskId: row.subtaskId, worker: row.worker, amount: formatCredits(row.amount), outcome, audited })
  }
}
