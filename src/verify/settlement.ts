/**
 * What a decision pays (docs/verification.md "Finalize and reconcile"). A
 * decider that decides a result with pay first holds the credits in escrow
 * and waits for the hold and its record to be on disk, so the pay exists
 * before anyone is told of the decision. The hold then ends one of two
 * ways, exactly once:
 * - FINALIZE: once the decision has stood for `finalizeAfterMs` (or when
 *   the decider finalizes it at once): in etcd first with that backend,
 *   where only the stored decision can be; the producer's receipt captured
 *   from the hold and the rest released, on disk; then final in the book
 *   (and on disk: a restart keeps refusing to change it) and FINALIZE
 *   gossiped: every node that holds the decision refuses a later one that
 *   would change the result (E1200).
 * - RECONCILE: a later decision displaced it (another epoch, or the other
 *   side of a healed partition): the hold released — the refund — on disk,
 *   then RECONCILE gossiped, naming the orphaned decision and the refund.
 * The record moves last, after the ledger is on disk, so a crash between
 * leaves it `held` and the restart finishes the job (captures and releases
 * are idempotent). Holds expire a day after they were due to be finalized,
 * so one a crash leaves without its record goes back by itself.
 */
import { randomBytes } from 'node:crypto'
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
  /** Set the pay aside from this hold (a job's budget) instead of holding it anew from available. */
  from?: string | undefined
}

export interface SettlementComponents {
  self: string
  repo: DecisionPayRepository
  decisions: Pick<DecisionBook, 'get' | 'finalize'>
  market: {
    hold: (holdId: string, amount: Micro, options: { ref?: string, expiresAt?: number }) => void
    setAside: (from: string, to: string, amount: Micro, options: { ref?: string, expiresAt?: number }) => void
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

/** A decision's hold outlives its finalization by this much before it expires by itself. */
const HOLD_GRACE_MS = 24 * 60 * 60_000

export class DecisionSettlement {
  private readonly c: SettlementComponents
  private readonly finalizeAfterMs: number
  private readonly now: () => number
  /** `thread@epoch` → the timer that finalizes that decision. */
  private readonly timers = new Map<string, NodeJS.Timeout>()
  /** `thread@epoch` being decided or settled now: each happens once. */
  private readonly busy = new Map<string, Promise<FinalizeOutcome>>()
  private readonly deciding = new Set<string>()
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
   * Hold `pay` (on disk), then `decide` (which books and gossips the
   * decision). Given back at once when deciding fails or another decision
   * stands instead (etcd); refunded at once when the decision loses in the
   * book. E1201 for an epoch this node decided (or is deciding) already.
   */
  async decide (thread: string, epoch: number, result: string, pay: DecisionPay, decide: () => Promise<Decision | undefined>): Promise<Decision | undefined> {
    const at = settlementKey(thread, epoch)
    const known = this.c.repo.get(thread, epoch)
    if (this.deciding.has(at) || (known !== undefined && !(known.lamport === 0 && known.state === 'refunded'))) {
      throw new AgoraError('E1201', `this node decided thread ${thread} in epoch ${epoch} already`, { why: 'a decider decides a thread once per epoch', details: { thread, epoch } })
    }
    this.deciding.add(at)
    try {
      const now = this.now()
      // a hold of its own per try: a released hold's key is spent
      const { from, ...paid } = pay
      const row: DecisionPayRow = { thread, epoch, lamport: 0, result, holdId: `${payHoldId(thread, epoch)}/${randomBytes(6).toString('base64url')}`, ...paid, state: 'held', decidedAt: now, settledAt: null }
      const options = { ref: thread, expiresAt: now + this.finalizeAfterMs + HOLD_GRACE_MS }
      if (from === undefined) this.c.market.hold(row.holdId, pay.amount, options)
      else this.c.market.setAside(from, row.holdId, pay.amount, options)
      this.c.repo.insert(row)
      await this.c.market.durable()
      let decision: Decision | undefined
      try {
        decision = await decide()
      } catch (err) {
        await this.giveBack(row)
        throw err
      }
      if (decision === undefined || decision.result !== result) {
        await this.giveBack(row)
        return decision
      }
      this.c.repo.decided(thread, epoch, decision.lamport, decision.result)
      const decided = { ...row, lamport: decision.lamport }
      const standing = this.c.decisions.get(thread)?.winner
      // lost at once (a later decision stood already): refunded now
      if (standing !== undefined && !sameDecision(standing, decision)) await this.settle(decided)
      else this.schedule(decided)
      return decision
    } finally {
      this.deciding.delete(at)
    }
  }

  /** Whether this node's decision of (thread, epoch) holds pay (or paid it at FINALIZE). */
  pays (thread: string, epoch: number): boolean {
    const row = this.c.repo.get(thread, epoch)
    return row !== undefined && row.lamport > 0 && row.state !== 'refunded'
  }

  /** A decision was displaced in the book: if it was this node's and held pay, refund it. */
  orphaned (loser: Decision): void {
    if (loser.decider !== this.c.self) return
    const row = this.c.repo.get(loser.thread, loser.epoch)
    if (row === undefined || row.state !== 'held' || row.lamport !== loser.lamport || row.result !== loser.result) return
    // settled as any other: it no longer stands, so it is refunded — once, however many ask
    this.settle(row).catch(err => { this.c.log.warn({ thread: row.thread, err: messageOf(err) }, 'refunding an orphaned decision failed') })
  }

  /** Finalize this node's standing decision of `thread` now (and refund any of its decisions there that no longer stand). */
  async finalize (thread: string): Promise<FinalizeOutcome> {
    let outcome: FinalizeOutcome = 'nothing-held'
    for (const row of this.c.repo.heldIn(thread)) {
      const settled = await this.settle(row)
      if (settled === 'finalized' || (settled === 'refunded' && outcome === 'nothing-held')) outcome = settled
    }
    return outcome
  }

  /** One decision's pay, once: a second caller gets the first one's outcome. */
  private async settle (row: DecisionPayRow): Promise<FinalizeOutcome> {
    const at = settlementKey(row.thread, row.epoch)
    const running = this.busy.get(at)
    if (running !== undefined) return await running
    this.unschedule(at)
    const work = this.settled(row).finally(() => this.busy.delete(at))
    this.busy.set(at, work)
    return await work
  }

  private async settled (row: DecisionPayRow): Promise<FinalizeOutcome> {
    const current = this.c.repo.get(row.thread, row.epoch)
    if (current?.state !== 'held') return 'nothing-held'
    const decision = decisionOf(current, this.c.self)
    const winner = this.c.decisions.get(current.thread)?.winner
    if (current.lamport === 0 || winner === undefined || !sameDecision(winner, decision)) {
      await this.refund(current, winner)
      return 'refunded'
    }
    if (this.c.etcd !== undefined) {
      try {
        await this.c.etcd.finalize(decision)
      } catch (err) {
        // etcd stores another decision for the thread: ours did not stand there
        if (!isAgoraError(err, 'E1200')) throw err
        await this.refund(current, undefined)
        return 'refunded'
      }
    }
    try {
      this.c.market.capture({ holdId: current.holdId, receiptId: current.receiptId, seller: current.payee, amount: current.amount })
    } catch (err) {
      // the hold is gone (it expired while this node was down): nothing left to pay with
      if (!isAgoraError(err, 'E1104')) throw err
      this.c.log.error({ thread: current.thread, epoch: current.epoch, err: messageOf(err) }, 'a standing decision\'s hold is gone: its pay cannot be captured')
      await this.refund(current, winner)
      return 'refunded'
    }
    this.c.market.release(current.holdId)
    await this.c.market.durable()
    this.c.repo.settle(current.thread, current.epoch, 'finalized', this.now())
    this.c.decisions.finalize(decision)
    this.c.onSettled?.('finalized')
    this.c.events.emit('verify:finalized', { thread: current.thread, epoch: current.epoch, result: current.result, decider: this.c.self, amount: formatCredits(current.amount) })
    this.c.announce.finalized(decision, current.amount).catch(err => { this.c.log.warn({ thread: current.thread, err: messageOf(err) }, 'FINALIZE not gossiped') })
    return 'finalized'
  }

  /** An orphaned decision's pay back (on disk), then its record, the event and RECONCILE. */
  private async refund (row: DecisionPayRow, winner: Decision | undefined): Promise<void> {
    await this.giveBack(row)
    this.c.onSettled?.('refunded')
    this.c.events.emit('verify:reconciled', { thread: row.thread, epoch: row.epoch, result: row.result, decider: this.c.self, refund: formatCredits(row.amount), winnerEpoch: winner?.epoch ?? null })
    this.c.log.info({ thread: row.thread, epoch: row.epoch, refund: row.amount }, 'decision orphaned: its pay refunded')
    this.c.announce.reconciled(decisionOf(row, this.c.self), winner, row.amount).catch(err => { this.c.log.warn({ thread: row.thread, err: messageOf(err) }, 'RECONCILE not gossiped') })
  }

  /** Release the hold, wait for the disk, mark the record refunded. */
  private async giveBack (row: DecisionPayRow): Promise<void> {
    this.unschedule(settlementKey(row.thread, row.epoch))
    this.c.market.release(row.holdId)
    await this.c.market.durable()
    this.c.repo.settle(row.thread, row.epoch, 'refunded', this.now())
  }

  private unschedule (at: string): void {
    clearTimeout(this.timers.get(at))
    this.timers.delete(at)
  }

  private schedule (row: DecisionPayRow): void {
    const at = settlementKey(row.thread, row.epoch)
    if (!this.running || this.timers.has(at)) return
    const wait = Math.max(0, row.decidedAt + this.finalizeAfterMs - this.now())
    const timer = setTimeout(() => {
      this.timers.delete(at)
      this.settle(row).catch(err => { this.c.log.warn({ thread: row.thread, err: messageOf(err) }, 'finalizing failed') })
    }, wait)
    timer.unref()
    this.timers.set(at, timer)
  }
}

/** One decision's key in the timers and the busy maps. */
function settlementKey (thread: string, epoch: number): string {
  return `${thread}@${epoch}`
}

/** The escrow hold of a decision's pay (each try adds `/<random>`). */
export function payHoldId (thread: string, epoch: number): string {
  return `decision:${settlementKey(thread, epoch)}`
}

function decisionOf (row: DecisionPayRow, self: string): Decision {
  return { thread: row.thread, epoch: row.epoch, lamport: row.lamport, decider: self, result: row.result }
}
