/**
 * How a job pays its workers through the market (docs/market.md, "Jobs and
 * the gateway"). A job with a budget holds it at submission (the
 * coordinator does that); each priced attempt is paid from, in order: an
 * accepted contract with that worker for the task type that has room, the
 * job's hold, or — a job without a budget — a hold of the attempt's own
 * price placed when it goes out. A checked receipt captures its price from
 * there (once: the receipt id is the subtask's) — less the part a
 * provisional result holds back for its audit (src/jobs/audit/); the
 * attempt's own hold is released when the attempt ends, the job's when the
 * job ends. Work this node does for itself, and free work, touch nothing.
 */
import { AgoraError, isAgoraError } from '../../errors.ts'
import type { Micro } from '../../market/amount.ts'
import type { MarketApi } from '../../market/types.ts'
import type { JobAudits, ProvisionalResult } from '../audit/audits.ts'
import type { DecisionPay } from '../../verify/index.ts'

/** What the coordinator needs of the market (its buyer side). */
export type JobMarket = Pick<MarketApi, 'hold' | 'capture' | 'captured' | 'release' | 'contractFor' | 'durable'>

/** Where one attempt's price comes from; `own`: a hold placed for that attempt alone. */
export interface AttemptPayment {
  holdId: string
  own: boolean
}

/** What a provisional result's audit needs to re-run it (the rest comes from the receipt and its payment). */
export type ProvisionalPart = Pick<ProvisionalResult, 'subtaskId' | 'type' | 'assignment' | 'result' | 'resultHash'>

/** What the payments need of the audits of provisional results. */
export type PaymentAudits = Pick<JobAudits, 'record' | 'setAsideFor' | 'recorded'>

/** The hold a job's budget sits in. */
export function jobHoldId (jobId: string): string {
  return `job:${jobId}`
}

export class JobPayments {
  private readonly market: JobMarket | undefined
  private readonly jobId: string
  private readonly selfPeerId: string
  private readonly budgeted: boolean

  private readonly ownHoldMs: number
  /** The contracts the job's auction made: they pay first, and no other contract does. */
  private readonly contracts: readonly string[] | undefined

  private readonly audits: PaymentAudits | undefined

  constructor (market: JobMarket | undefined, init: { jobId: string, selfPeerId: string, budget: Micro | undefined, attemptMs?: number, contracts?: readonly string[] | undefined, audits?: PaymentAudits | undefined }) {
    this.market = market
    this.audits = init.audits
    this.contracts = init.contracts
    this.jobId = init.jobId
    this.selfPeerId = init.selfPeerId
    this.budgeted = init.budget !== undefined && init.budget > 0
    // an attempt's own hold outlives the attempt's longest time a little, so one left behind by a crash expires by itself
    this.ownHoldMs = (init.attemptMs ?? 10 * 60_000) + 60_000
  }

  /** Before an attempt goes out at up to `maxPrice`: where it will be paid from (undefined: nothing to pay). E1101 when nothing can cover it. */
  forAttempt (attempt: { subtaskId: string, attempt: number, worker: string, type: string, maxPrice: Micro }): AttemptPayment | undefined {
    if (this.market === undefined || attempt.maxPrice === 0 || attempt.worker === this.selfPeerId) return undefined
    const contract = this.market.contractFor(attempt.worker, attempt.type, attempt.maxPrice, this.contracts === undefined ? {} : { only: this.contracts })
    if (contract !== undefined) return { holdId: contract.holdId, own: false }
    if (this.budgeted) return { holdId: jobHoldId(this.jobId), own: false }
    return this.ownHold(`${attempt.subtaskId}#${attempt.attempt}`, attempt.maxPrice)
  }

  private ownHold (name: string, amount: Micro): AttemptPayment {
    const holdId = `${jobHoldId(this.jobId)}/${name}`
    this.market?.hold(holdId, amount, { ref: jobHoldId(this.jobId), expiresAt: Date.now() + this.ownHoldMs })
    return { holdId, own: true }
  }

  /**
   * Inside the transaction that commits a provisional result: record the
   * part of its pay held back for its audit (none when a contract pays, on
   * its terms, in full). capture() then sets that part aside; the record on
   * disk is what makes a recapture after a crash hold back the same part.
   */
  recordHeldBack (payment: AttemptPayment | undefined, receipt: { receiptId: string, worker: string, price: Micro }, provisional: ProvisionalPart | undefined): void {
    if (provisional === undefined || payment === undefined || this.market === undefined || receipt.price === 0 || !this.ownOrJob(payment)) return
    this.audits?.record({ ...provisional, jobId: this.jobId, worker: receipt.worker, receiptId: receipt.receiptId, price: receipt.price })
  }

  /**
   * A receipt the coordinator checked: its price is owed to the worker, taken
   * from the attempt's source — or, when a contract shared by attempts at the
   * same time has run out of room (E1104), from the job's hold or a hold of
   * its own. The part recorded as held back (recordHeldBack) is set aside
   * first and left out; the commit path and the recapture both come here.
   */
  capture (payment: AttemptPayment | undefined, receipt: { receiptId: string, worker: string, price: Micro }): void {
    if (payment === undefined || this.market === undefined || receipt.price === 0) return
    const heldBack = this.audits === undefined || !this.ownOrJob(payment) ? 0 : this.audits.setAsideFor(receipt.receiptId, payment.holdId)
    const input = { receiptId: receipt.receiptId, seller: receipt.worker, amount: receipt.price - heldBack }
    try {
      this.market.capture({ holdId: payment.holdId, ...input })
    } catch (err) {
      // the job's hold came up short too (a decision gave back what it had set aside of it to available): hold the price anew
      if (!isAgoraError(err, 'E1104') || payment.own) throw err
      const fallback = this.budgeted && payment.holdId !== jobHoldId(this.jobId) ? { holdId: jobHoldId(this.jobId), own: false } : this.ownHold(receipt.receiptId, receipt.price)
      try {
        this.market.capture({ holdId: fallback.holdId, ...input })
      } finally {
        this.settle(fallback)
      }
    }
  }

  /**
   * What a decision that holds the worker's pay sets aside for it (FINALIZE
   * captures it): undefined when there is nothing to pay, or a contract pays
   * on its terms.
   */
  decisionPay (payment: AttemptPayment | undefined, receipt: { receiptId: string, worker: string, price: Micro }): DecisionPay | undefined {
    if (payment === undefined || this.market === undefined || receipt.price === 0 || !this.ownOrJob(payment)) return undefined
    return { payee: receipt.worker, receiptId: receipt.receiptId, amount: receipt.price, from: payment.holdId }
  }

  private ownOrJob (payment: AttemptPayment): boolean {
    return payment.own || payment.holdId === jobHoldId(this.jobId)
  }

  /** The attempt ended (committed, failed or abandoned): its own hold's rest goes back. */
  settle (payment: AttemptPayment | undefined): void {
    if (payment?.own === true) this.market?.release(payment.holdId)
  }

  /**
   * After a restart: a subtask committed before the crash whose capture may
   * not have reached the disk is captured again (a no-op when it did),
   * through capture(), so a provisional result's part is held back as at
   * commit (the crash points: src/jobs/coordinator/recapture.ts).
   */
  recapture (subtask: { subtaskId: string, attempt: number, worker: string, type: string, price: Micro, receiptId: string }): void {
    if (this.market === undefined || subtask.price === 0 || subtask.worker === this.selfPeerId || this.market.captured(subtask.receiptId)) return
    // a part was recorded as held back only when the job's hold or the attempt's own paid: the same source again, never a contract
    const payment = this.budgeted
      ? { holdId: jobHoldId(this.jobId), own: false }
      : this.audits?.recorded(subtask.receiptId) === true
        ? this.ownHold(`${subtask.subtaskId}#${subtask.attempt}`, subtask.price)
        : this.forAttempt({ ...subtask, maxPrice: subtask.price })
    try {
      this.capture(payment, { receiptId: subtask.receiptId, worker: subtask.worker, price: subtask.price })
    } finally {
      this.settle(payment)
    }
  }
}

/** The error a job fails with when the wallet cannot pay an attempt (E1101 from the market, reworded for the job). */
export function unpaidAttempt (jobId: string, err: AgoraError): AgoraError {
  return new AgoraError('E1101', `job ${jobId} cannot pay for its next subtask`, { why: err.why ?? err.what, hint: err.hint, details: err.details, cause: err })
}
