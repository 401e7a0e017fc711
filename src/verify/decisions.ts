/**
 * Decisions per thread (a need or job id), and how they merge after a
 * partition (docs/verification.md, "Epochs"). Every DECIDE carries its
 * thread, an epoch and a Lamport time; of two DECIDEs for one thread the
 * higher (epoch, lamport, decider id) wins, everywhere, whatever the order
 * they arrive in — so both sides of a healed partition pick the same
 * winner. Losers that named another result are orphaned (RECONCILE: the
 * market refunds what they held). The epoch is the fence token: a DECIDE
 * under an epoch older than the thread's newest can never win (it is kept
 * as a loser), one decider decides once per (thread, epoch), and a thread
 * is finalized once, for its winner only.
 */
import { AgoraError } from '../errors.ts'
import { setBounded } from './bounded.ts'

export interface Decision {
  thread: string
  epoch: number
  lamport: number
  /** Peer id of the node that announced the decision. */
  decider: string
  /** Hash of the result (or id of the proposal) decided. */
  result: string
}

/** Total order of decisions: epoch, then Lamport time, then decider id (as strings). */
export function compareDecisions (a: Decision, b: Decision): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch
  if (a.lamport !== b.lamport) return a.lamport - b.lamport
  return a.decider < b.decider ? -1 : a.decider > b.decider ? 1 : 0
}

export interface ThreadOutcome {
  winner: Decision
  /** Decisions that named another result than the winner: to be reconciled (refunded). */
  orphaned: Decision[]
}

/** The winner among decisions of one thread, and the losers that disagree with it. */
export function resolveThread (decisions: readonly Decision[]): ThreadOutcome {
  const first = decisions[0]
  if (first === undefined) throw new RangeError('no decisions to resolve')
  let winner = first
  for (const d of decisions) {
    if (d.thread !== first.thread) throw new RangeError(`decisions of two threads: ${first.thread}, ${d.thread}`)
    if (compareDecisions(d, winner) > 0) winner = d
  }
  return { winner, orphaned: decisions.filter(d => d.result !== winner.result) }
}

export type DecisionOutcome =
  /** The thread's first decision, or one that beats the current winner (`orphaned`: what it displaced). */
  | { outcome: 'won', orphaned: Decision[] }
  /** Known already (the same decision again). */
  | { outcome: 'duplicate' }
  /** Lost to the current winner: orphaned at once when it named another result. */
  | { outcome: 'lost', orphaned: boolean }

interface ThreadBook {
  /** The thread's fence: the newest epoch seen. */
  epoch: number
  winner: Decision
  /** decider + epoch → the decision, to refuse a second, different one from the same quorum. */
  byEpoch: Map<string, Decision>
  finalized: Decision | undefined
}

/** Threads a book holds at most (the one decided longest ago is forgotten first); decisions per thread likewise. */
const MAX_THREADS = 100_000
const MAX_DECISIONS_PER_THREAD = 1024

export class DecisionBook {
  private readonly threads = new Map<string, ThreadBook>()

  /**
   * Take a DECIDE (its signature and envelope already checked). E1201 when
   * the same decider decided this thread's epoch otherwise before; E1200
   * when the thread is finalized and this would change its winner.
   */
  offer (d: Decision): DecisionOutcome {
    checkDecision(d)
    const book = this.threads.get(d.thread)
    if (book === undefined) {
      setBounded(this.threads, d.thread, { epoch: d.epoch, winner: d, byEpoch: new Map([[epochKey(d), d]]), finalized: undefined }, MAX_THREADS)
      return { outcome: 'won', orphaned: [] }
    }
    const before = book.byEpoch.get(epochKey(d))
    if (before !== undefined) {
      if (sameDecision(before, d)) return { outcome: 'duplicate' }
      throw new AgoraError('E1201', `${d.decider} decided thread ${d.thread} twice in epoch ${d.epoch}`, {
        why: `first ${before.result} at Lamport ${before.lamport}, now ${d.result} at ${d.lamport}`, details: { thread: d.thread, epoch: d.epoch, decider: d.decider }
      })
    }
    const wins = compareDecisions(d, book.winner) > 0
    if (wins && book.finalized !== undefined && d.result !== book.finalized.result) {
      throw new AgoraError('E1200', `thread ${d.thread} was finalized for ${book.finalized.result}`, {
        why: `a decision of epoch ${d.epoch} for ${d.result} came after it`, details: { thread: d.thread, epoch: d.epoch, decider: d.decider }
      })
    }
    setBounded(book.byEpoch, epochKey(d), d, MAX_DECISIONS_PER_THREAD)
    book.epoch = Math.max(book.epoch, d.epoch)
    if (!wins) return { outcome: 'lost', orphaned: d.result !== book.winner.result }
    const displaced = book.winner
    book.winner = d
    return { outcome: 'won', orphaned: displaced.result === d.result ? [] : [displaced] }
  }

  /** Threads with a decision. */
  size (): number {
    return this.threads.size
  }

  /** The thread's current winner and fence epoch. */
  get (thread: string): { winner: Decision, epoch: number, finalized: boolean } | undefined {
    const book = this.threads.get(thread)
    return book === undefined ? undefined : { winner: book.winner, epoch: book.epoch, finalized: book.finalized !== undefined }
  }

  /**
   * FINALIZE the thread's winner (pay it): true the first time, false when it
   * was finalized already. E1200 when `d` is not the winner — an older epoch
   * fenced off, or a loser.
   */
  finalize (d: Decision): boolean {
    const book = this.threads.get(d.thread)
    if (book === undefined || !sameDecision(book.winner, d)) {
      throw new AgoraError('E1200', `decision of ${d.decider} for thread ${d.thread} is not the one that stands`, {
        why: book === undefined ? 'no decision is known for that thread' : `the winner is epoch ${book.winner.epoch} by ${book.winner.decider} (fence epoch ${book.epoch})`,
        details: { thread: d.thread, epoch: d.epoch, decider: d.decider }
      })
    }
    if (book.finalized !== undefined) return false
    book.finalized = d
    return true
  }
}

function epochKey (d: Decision): string {
  return `${d.decider} ${d.epoch}`
}

/** The same decision (every field). */
export function sameDecision (a: Decision, b: Decision): boolean {
  return a.thread === b.thread && a.epoch === b.epoch && a.lamport === b.lamport && a.decider === b.decider && a.result === b.result
}

function checkDecision (d: Decision): void {
  const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0
  if (!whole(d.epoch) || !whole(d.lamport) || d.thread.length === 0 || d.decider.length === 0 || d.result.length === 0) {
    throw new AgoraError('E1202', 'a malformed decision', { why: 'thread, decider and result must be set; epoch and lamport whole numbers ≥ 0', details: { thread: d.thread, decider: d.decider } })
  }
}
