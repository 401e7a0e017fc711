/**
 * What a decision pays (docs/verification.md "Finalize and reconcile"). A
 * decider that decides a result with pay first holds the credits in escrow
 * (hold `decision:<thread>@<epoch>`), so the pay exists before anyone is
 * told of the decision. The hold then ends one of two ways, exactly once:
 * - FINALIZE: once the decision has stood for `finalizeAfterMs` (or when
 *   the decider finalizes it at once), it is finalized in the book — and in
 *   etcd first with that backend, where only the stored decision can be —
 *   the producer's receipt is captured from the hold, paid like any other
 *   capture, and FINALIZE is gossiped: every node then refuses a later
 *   decision that would change the result (E1200). Never two FINALIZEs
 *   for one thread: only the standing decision is finalized, and once.
 * - RECONCILE: a later decision displaced it (another epoch, or the other
 *   side of a healed partition): the hold is released — the refund — and
 *   RECONCILE gossiped, naming the orphaned decision and the refund.
 * A restart resumes both: held decisions are finalized when due, or
 * refunded when the book says they no longer stand.
 */
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import type { AgoraEvents } from '../events.ts'
import { formatCredits, type Micro } from '../market/amount.ts'
import type { CaptureInput } from '../market/types.ts'
import type { Logger } from '../observability/logger.ts'
import type { DecisionPayRepository, DecisionPayRow } from './decision-pay-repository.ts'
import { sameDecision, type Decision, type DecisionBook } from './decisions.ts'
import type { EtcdDecider } from './etcd-decider.ts'

/** What a decision pays: `amount` to `payee`, under the receipt the payee issued this node for the result. */
export interface DecisionPay {
  payee: string
  receiptId: string
  amount: Micro
}

export interface SettlementComponents {
  self: string
  repo: DecisionPayRepository
  decisions: Pick<DecisionBook, 'get' | 'finalize'>
  market: {
    hold: (holdId: string, amount: Micro, options: { ref?: string }) => void
    capture: (input: CaptureInput) => void
    release: (holdId: string) => void
    durable: () => Promise<void>
  }
  /** With the etcd backend: the atomic FINALIZE. */
  etcd?: Pick<EtcdDecider, 'finalize'>
  /** Gossip FINALIZE and RECONCILE. */
  announce: {
    finalized: (decision: Decision, amount: Micro) => Promise<void>
    reconciled: (orphaned: Decision, winner: Decision | undefined, refund: Micro) => Promise<void>
  }
  events: Pick<AgoraEvents, 'emit'>
  log: Logger
  onSettled?: (outcome: 'finalized' | 'refunded') => void
}

export interface SettlementInit {
  finalizeAfterMs: number
  now?: () => number
}

export type FinalizeOutcome = 'finalized' | 'refunded' | 'nothing-held'

export class DecisionSettlement {
  private readonly c: SettlementComponents
  private readonly finalizeAfterMs: number
  private readonly now: () => number
  private readonly timers = new Map<string, NodeJS.Timeout>()
  /** Threads being finalized now: a timer and a call at once settle once. */
  private readonly busy = new Map<string, Promise<FinalizeOutcome>>()
  private running = false

  constructor (components: SettlementComponents, init: SettlementInit) {
    this.c = components
    this.finalizeAfterMs = init.finalizeAfterMs
    this.now = init.now ?? Date.now
  }

  /** Resume: every decision still holding pay is finalized when due (or refunded when it no longer stands). */
  start (): void {
    this.running = true
    for (const row of this.c.repo.held()) this.schedule(row)
  }

  stop (): void {
    this.running = false
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }

  /**
   * Hold `pay`, then `decide` (which books and gossips the decision): the
   * pay exists before the decision is told. Released at once when deciding
   * fails or another decision stands instead (etcd); refunded at once when
   * the decision loses in the book.
   */
  async decide (thread: string, epoch: number, result: string, pay: DecisionPay, decide: () => Promise<Decision | undefined>): Promise<Decision | undefined> {
    if (this.c.repo.get(thread, epoch) !== undefined) {
      throw new AgoraError('E1201', `this node decided thread ${thread} in epoch ${epoch} already`, { why: 'a decider decides a thread once per epoch', details: { thread, epoch } })
    }
    const holdId = payHoldId(thread, epoch)
    this.c.market.hold(holdId, pay.amount, { ref: thread })
    let decision: Decision | undefined
    try {
      decision = await decide()
    } catch (err) {
      this.c.market.release(holdId)
      throw err
    }
    if (decision === undefined || decision.result !== result) {
      this.c.market.release(holdId)
      return decision
    }
    const row: DecisionPayRow = { ...decision, ...pay, state: 'held', decidedAt: this.now(), settledAt: null }
    this.c.repo.insert(row)
    const standing = this.c.decisions.get(thread)?.winner
    if (standing !== undefined && !sameDecision(standing, decision)) this.orphaned(decision, standing)
    else this.schedule(row)
    await this.c.market.durable()
    return decision
  }

  /** A decision was displaced in the book: if it was this node's and held pay, refund it. */
  orphaned (loser: Decision, winner: Decision | undefined): void {
    if (loser.decider !== this.c.self) return
    const row = this.c.repo.get(loser.thread, loser.epoch)
    if (row === undefined || row.state !== 'held' || row.result !== loser.result) return
    this.refund(row, winner)
  }

  /** Finalize this node's standing decision of `thread` now (and refund any of its decisions there that no longer stand). */
  async finalize (thread: string): Promise<FinalizeOutcome> {
    const running = this.busy.get(thread)
    if (running !== undefined) return await running
    const work = this.settle(thread).finally(() => this.busy.delete(thread))
    this.busy.set(thread, work)
    return await work
  }

  private async settle (thread: string): Promise<FinalizeOutcome> {
    clearTimeout(this.timers.get(thread))
    this.timers.delete(thread)
    let outcome: FinalizeOutcome = 'nothing-held'
    for (const row of this.c.repo.heldIn(thread)) {
      const decision = decisionOf(row, this.c.self)
      const winner = this.c.decisions.get(thread)?.winner
      if (winner === undefined || !sameDecision(winner, decision)) {
        this.refund(row, winner)
        outcome = outcome === 'finalized' ? outcome : 'refunded'
        continue
      }
      if (this.c.etcd !== undefined) {
        try {
          await this.c.etcd.finalize(decision)
        } catch (err) {
          // etcd stores another decision for the thread: ours did not stand there
          if (!isAgoraError(err, 'E1200')) throw err
          this.refund(row, undefined)
          outcome = outcome === 'finalized' ? outcome : 'refunded'
          continue
        }
      }
      this.c.decisions.finalize(decision)
      const holdId = payHoldId(row.thread, row.epoch)
      this.c.market.capture({ holdId, receiptId: row.receiptId, seller: row.payee, amount: row.amount })
      this.c.market.release(holdId)
      this.c.repo.settle(row.thread, row.epoch, 'finalized', this.now())
      await this.c.market.durable()
      this.c.onSettled?.('finalized')
      this.c.events.emit('verify:finalized', { thread, epoch: row.epoch, result: row.result, decider: this.c.self, amount: formatCredits(row.amount) })
      this.c.announce.finalized(decision, row.amount).catch(err => { this.c.log.warn({ thread, err: messageOf(err) }, 'FINALIZE not gossiped') })
      outcome = 'finalized'
    }
    return outcome
  }

  private refund (row: DecisionPayRow, winner: Decision | undefined): void {
    if (!this.c.repo.settle(row.thread, row.epoch, 'refunded', this.now())) return
    this.c.market.release(payHoldId(row.thread, row.epoch))
    this.c.onSettled?.('refunded')
    const orphaned = decisionOf(row, this.c.self)
    this.c.events.emit('verify:reconciled', { thread: row.thread, epoch: row.epoch, result: row.result, decider: this.c.self, refund: formatCredits(row.amount), winnerEpoch: winner?.epoch ?? null })
    this.c.log.info({ thread: row.thread, epoch: row.epoch, refund: row.amount }, 'decision orphaned: its pay refunded')
    this.c.announce.reconciled(orphaned, winner, row.amount).catch(err => { this.c.log.warn({ thread: row.thread, err: messageOf(err) }, 'RECONCILE not gossiped') })
  }

  private schedule (row: DecisionPayRow): void {
    if (!this.running || this.timers.has(row.thread)) return
    const wait = Math.max(0, row.decidedAt + this.finalizeAfterMs - this.now())
    const timer = setTimeout(() => {
      this.timers.delete(row.thread)
      this.finalize(row.thread).catch(err => { this.c.log.warn({ thread: row.thread, err: messageOf(err) }, 'finalizing failed') })
    }, wait)
    timer.unref()
    this.timers.set(row.thread, timer)
  }
}

/** The escrow hold of a decision's pay. */
export function payHoldId (thread: string, epoch: number): string {
  return `decision:${thread}@${epoch}`
}

function decisionOf (row: DecisionPayRow, self: string): Decision {
  return { thread: row.thread, epoch: row.epoch, lamport: row.lamport, decider: self, result: row.result }
}
