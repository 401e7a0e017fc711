/**
 * A job's side of redundant execution: places each replica of a subtask
 * with the router (never a worker already used for it, nor one excluded),
 * pays for it like any attempt (a hold placed before it goes out; the
 * receipt captured only when its result is in the majority — an outlier's
 * is not paid) and runs it under the job's signal. checkReplicas
 * (replicas.ts) decides what the results mean.
 */
import { AgoraError } from '../../errors.ts'
import { formatCredits, MAX_MICRO, parseCredits, type Micro } from '../../market/amount.ts'
import { taskReceiptId } from '../protocol/receipt.ts'
import { checkReplicas, type ReplicaOutcome } from './replicas.ts'
import { rerunHere } from './rerun-here.ts'
import type { Comparator } from '../../verify/index.ts'
import { decodeEnvelope, type Envelope } from '../../identity/index.ts'
import type { DispatchResult, TaskAssignment } from '../protocol/types.ts'
import type { JobConstraints } from '../types.ts'
import type { SubtaskPlanRow } from '../store/job-store.ts'
import type { CoordinatorContext, RunningPlan } from './context.ts'
import type { AttemptPayment, JobPayments } from './job-payments.ts'

/** Replica receipts a CHALLENGE carries at most (its schema's limit). */
const MAX_CHALLENGE_RECEIPTS = 16
/** Candidates looked at for a replica in another network before taking one in a network already used. */
const MAX_SUBNET_TRIES = 8

/** How a result is to be cross-checked (planCheck). */
export interface CheckPlan {
  canary: boolean
  redundancy: number
  comparator: Comparator
}

export type CheckMethod = 'replicas' | 'canary' | 'quorum'

/** How one replica is paid: its hold, and its key (its receipt's id). */
export interface ReplicaPayment {
  payment: AttemptPayment | undefined
  key: string
}

export interface CheckedReplicas {
  outcome: ReplicaOutcome
  /** Outvoted: how the result that stands instead is paid. */
  winner: ReplicaPayment | undefined
  /** Give back the replicas' holds (after the winner is paid). */
  release: () => void
}

export interface JobReplicasInit {
  plan: RunningPlan
  constraints: JobConstraints
  payments: JobPayments
  /** What the budget has left for one more attempt (undefined: no budget). */
  remainingBudget: () => Micro | undefined
  /** Add to (or, negative, take from) what the attempts out have reserved. */
  reserve: (price: Micro) => void
  /** Add what a captured replica cost to the job's spending (beside the committed result's). */
  spend: (price: Micro) => void
  signal: AbortSignal
}

export class JobReplicas {
  private readonly c: CoordinatorContext
  private readonly init: JobReplicasInit
  /** Worker → the price its offer asks (from the router's choice). */
  private readonly prices = new Map<string, Micro>()

  constructor (context: CoordinatorContext, init: JobReplicasInit) {
    this.c = context
    this.init = init
  }

  /**
   * How `primary`'s result of a `type` subtask is checked: by replicas when
   * the job (or `verify.redundancy`) asks for redundancy, else when
   * adaptive replication samples it; else maybe by a canary. Undefined: not
   * at all — this node's own work, no comparator, or a canary of a text
   * type (a language model's answer at its sampling temperature is not a
   * known answer).
   */
  planCheck (type: string, primary: string): CheckPlan | undefined {
    const mine = primary === this.c.selfPeerId
    const asked = Math.max(this.init.constraints.redundancy, this.c.redundancyFor?.(type) ?? 1)
    const redundancy = asked > 1 ? asked : !mine && this.c.adaptive?.shouldCheck(primary, type) === true ? 2 : 1
    const canary = redundancy === 1 && !mine && this.c.canary?.() === true
    const comparator = redundancy > 1 || canary ? this.c.comparator?.(type) : undefined
    if (comparator === undefined || (canary && comparator.method === 'text')) return undefined
    return { canary, redundancy, comparator }
  }

  /**
   * Run the replicas of `row`'s result and compare. Replicas in the majority
   * other than the one that stands are paid here; the one that stands (an
   * outvoted primary's replacement) is the caller's to pay, with `winner`'s
   * payment; `release()` gives back every replica's hold once it has.
   */
  async check (row: SubtaskPlanRow, assignment: TaskAssignment, primary: DispatchResult, comparator: Comparator, redundancy: number): Promise<CheckedReplicas> {
    const payments = new Map<DispatchResult, ReplicaPayment>()
    const held: Array<AttemptPayment | undefined> = []
    const release = (): void => { for (const payment of held.splice(0)) this.init.payments.settle(payment) }
    try {
      const outcome = await checkReplicas(primary, assignment, redundancy, {
        comparator,
        signal: this.init.signal,
        k: this.c.quorumK?.() ?? 1,
        choose: used => this.choose(row, used),
        run: async (worker, replica) => {
          const { result, payment } = await this.run(row, worker, replica, held)
          payments.set(result, { payment, key: replica.key })
          return result
        }
      })
      for (const result of outcome.agreeing) this.capture(result, payments.get(result))
      const winner = outcome.verdict === 'outvoted' && outcome.winner !== undefined ? payments.get(outcome.winner) : undefined
      return { outcome, winner, release }
    } catch (err) {
      release()
      throw err
    }
  }

  /**
   * A canary: this node computes the subtask itself (its own worker, free)
   * and compares. The worker cannot tell it from any other subtask — it is
   * one. Agreed, or outvoted by this node's own result; unverified when this
   * node cannot run the task type.
   */
  async canary (row: SubtaskPlanRow, assignment: TaskAssignment, primary: DispatchResult, comparator: Comparator): Promise<CheckedReplicas> {
    const release = (): void => {}
    const checked = await rerunHere({ dispatcher: this.c.dispatcher, self: this.c.selfPeerId, timeouts: this.c.config.timeouts }, assignment, '#c', primary, comparator, this.init.signal)
    if (checked === undefined) return { outcome: { verdict: 'unverified', winner: primary, agreeing: [], outliers: [], replicas: 0 }, winner: undefined, release }
    const { agree, own } = checked
    const outcome: ReplicaOutcome = agree
      ? { verdict: 'agreed', winner: primary, agreeing: [], outliers: [], replicas: 1 }
      : { verdict: 'outvoted', winner: own, agreeing: [], outliers: [primary], replicas: 1 }
    // this node's own work is not paid: the result that stands instead costs nothing
    return { outcome, winner: agree ? undefined : { payment: undefined, key: own.receiptPayload.key }, release }
  }

  /**
   * Check `primary` as `plan` says: a canary here; else by K verifiers on the
   * network once the quorum has left bootstrap mode and has them; else (or
   * when they give no verdict) by replicas compared here.
   */
  async verify (plan: CheckPlan, row: SubtaskPlanRow, assignment: TaskAssignment, primary: DispatchResult, payment?: AttemptPayment): Promise<{ checked: CheckedReplicas, method: CheckMethod, paidByDecision?: boolean }> {
    if (plan.canary) return { checked: await this.canary(row, assignment, primary, plan.comparator), method: 'canary' }
    const verifiers = this.c.quorumChecks?.verifiersFor(row.type, new Set([primary.worker, this.c.selfPeerId, ...row.excluded]))
    if (verifiers !== undefined) {
      const thread = `${this.c.selfPeerId}/${this.init.plan.jobId}/${row.id}`
      // the DECIDE holds the worker's pay (set aside from the job's hold) until FINALIZE captures it
      const pay = this.init.payments.decisionPay(payment, { receiptId: taskReceiptId(assignment.key), worker: primary.worker, price: parseCredits(primary.receiptPayload.price, 'price') })
      const verdict = await this.c.quorumChecks?.check({ thread, assignment, primary, ...verifiers, signal: this.init.signal, pay })
      // agreed: the worker's result stands; outvoted: nothing stands, the subtask goes to another worker
      const outcome: ReplicaOutcome | undefined = verdict === 'valid'
        ? { verdict: 'agreed', winner: primary, agreeing: [], outliers: [], replicas: verifiers.k }
        : verdict === 'invalid' ? { verdict: 'outvoted', winner: undefined, agreeing: [], outliers: [primary], replicas: verifiers.k } : undefined
      const paidByDecision = verdict === 'valid' && pay !== undefined && this.c.quorumChecks?.paidByDecision(thread, assignment.attempt) === true
      if (outcome !== undefined) return { checked: { outcome, winner: undefined, release: () => {} }, method: 'quorum', paidByDecision }
    }
    return { checked: await this.check(row, assignment, primary, plan.comparator, plan.redundancy), method: 'replicas' }
  }

  /** What the replicas, a canary or the verifiers said: their workers' standing in the router, the event. */
  report (row: SubtaskPlanRow, primary: DispatchResult, checked: ReplicaOutcome, method: CheckMethod, exact: boolean): void {
    // a canary this node could not compute is no check at all
    if (method === 'canary' && checked.verdict === 'unverified') return
    this.c.metrics?.checks.inc({ type: row.type, method, verdict: checked.verdict })
    // a cross-check's verdict on the primary feeds adaptive replication (agreed: valid; outvoted: invalid)
    if (checked.verdict === 'agreed' || checked.verdict === 'outvoted') this.c.adaptive?.record(primary.worker, row.type, checked.verdict === 'agreed')
    // outvoted: the other nodes get the signed evidence, to check and lower the worker themselves
    // exact results only: a similarity verdict is not something others can check from hashes
    if (method === 'replicas' && exact && checked.verdict === 'outvoted' && checked.winner !== undefined && this.c.challenge !== undefined) {
      // the dispatcher verified every receipt: they decode
      this.c.challenge({
        thread: `${this.c.selfPeerId}/${this.init.plan.jobId}`,
        epoch: 1,
        receipt: decodeReceipt(primary.receipt),
        resultHash: primary.resultHash,
        expectedHash: checked.winner.resultHash,
        replicas: [checked.winner, ...checked.agreeing].slice(0, MAX_CHALLENGE_RECEIPTS).map(r => decodeReceipt(r.receipt))
      })
    }
    for (const result of checked.agreeing) this.c.router.record(result.worker, row.type, 'success')
    for (const result of checked.outliers) {
      this.c.router.record(result.worker, row.type, 'invalid')
      this.c.metrics?.attempts.inc({ outcome: 'invalid' })
    }
    const outliers = checked.outliers.map(r => r.worker)
    // results in the majority: the one that stood and those that agreed with it (a canary's: the worker's and this node's, or this node's alone;
    // the verifiers': the worker's and theirs, or none when they outvoted it)
    const decided = checked.verdict === 'agreed' || checked.verdict === 'outvoted'
    const agreeing = !decided ? 0 : method === 'canary' ? (checked.verdict === 'agreed' ? 2 : 1) : method === 'quorum' ? (checked.verdict === 'agreed' ? 1 + checked.replicas : 0) : 1 + checked.agreeing.length
    // compared here (replicas, canary): the bootstrap-mode path, provisional; decided by a quorum of verifiers: not
    this.c.store.setVerification(this.init.plan.jobId, row.id, { method, verdict: checked.verdict, replicas: checked.replicas, agreeing, outliers, provisional: method !== 'quorum' })
    this.c.events.emit('subtask:verified', {
      jobId: this.init.plan.jobId,
      subtaskId: row.id,
      type: row.type,
      verdict: checked.verdict,
      method,
      worker: primary.worker,
      replicas: checked.replicas,
      outliers
    })
  }

  /**
   * A worker for one more replica: another peer than `used`, in another
   * /24 or /48 than theirs when one is left (a Sybil's replicas on one
   * machine or network would vote together); the router's best otherwise.
   */
  private choose (row: SubtaskPlanRow, used: ReadonlySet<string>): string | undefined {
    const taken = new Set([...used].map(peer => this.c.subnetOf?.(peer)).filter(s => s !== undefined))
    const exclude = new Set([...row.excluded, ...used])
    let fallback: { peerId: string, price: number } | undefined
    for (let tries = 0; tries < MAX_SUBNET_TRIES; tries++) {
      const candidate = this.candidate(row, exclude)
      if (candidate === undefined) break
      const subnet = this.c.subnetOf?.(candidate.peerId)
      if (subnet === undefined || !taken.has(subnet)) return this.take(candidate)
      fallback ??= candidate
      exclude.add(candidate.peerId)
    }
    return fallback === undefined ? undefined : this.take(fallback)
  }

  /** The router's choice among workers not in `exclude`, or undefined when nobody else is left. */
  private candidate (row: SubtaskPlanRow, exclude: ReadonlySet<string>): { peerId: string, price: number } | undefined {
    try {
      const { candidate } = this.c.router.choose({
        taskType: row.type,
        models: this.init.plan.modelsOf(row.type, this.c.store.work(this.init.plan.jobId, row.id).params),
        // an auction's winners run the job, others check it: the workers it set do not bound the replicas (the job's own hold pays them)
        constraints: this.init.constraints.auction === true ? { ...this.init.constraints, workers: undefined } : this.init.constraints,
        remainingBudget: this.init.remainingBudget(),
        exclude: new Set(exclude)
      })
      // the router falls back to an excluded worker when nobody else is left: a replica needs another peer
      return exclude.has(candidate.peerId) ? undefined : candidate
    } catch {
      return undefined
    }
  }

  private take (candidate: { peerId: string, price: number }): string {
    this.prices.set(candidate.peerId, candidate.price)
    return candidate.peerId
  }

  private async run (row: SubtaskPlanRow, worker: string, assignment: TaskAssignment, held: Array<AttemptPayment | undefined>): Promise<{ result: DispatchResult, payment: AttemptPayment | undefined }> {
    // never more than its offer asks, the job's cap, or what the budget has left
    const maxPrice = Math.min(this.prices.get(worker) ?? 0, this.init.constraints.maxPricePerSubtask ?? MAX_MICRO, this.init.remainingBudget() ?? MAX_MICRO)
    const payment = this.init.payments.forAttempt({ subtaskId: `${row.id}${assignment.key.slice(assignment.key.lastIndexOf('#'))}`, attempt: assignment.attempt, worker, type: row.type, maxPrice })
    held.push(payment)
    this.init.reserve(maxPrice)
    this.c.router.begin(worker)
    try {
      const result = await this.c.dispatcher.dispatch(worker, { ...assignment, maxPrice: formatCredits(maxPrice) }, { signal: this.init.signal, timeouts: this.c.config.timeouts })
      return { result, payment }
    } finally {
      this.c.router.end(worker)
      this.init.reserve(-maxPrice)
    }
  }

  private capture (result: DispatchResult, paid: ReplicaPayment | undefined): void {
    const price = parseCredits(result.receiptPayload.price, 'price')
    this.init.payments.capture(paid?.payment, { receiptId: taskReceiptId(paid?.key ?? ''), worker: result.worker, price })
    this.init.spend(price)
  }
}

/** A dispatch result's receipt (base64url of the envelope's JSON) as the envelope. */
function decodeReceipt (encoded: string): Envelope {
  return decodeEnvelope(Buffer.from(encoded, 'base64url'))
}

/** Why nothing stands after a check: verifiers outvoted the worker (E1208), or replicas found no majority (E1204, nobody blamed). */
export function noWinner (subtaskId: string, worker: string, replicas: number, method: CheckMethod): AgoraError {
  return method === 'quorum'
    ? new AgoraError('E1208', `verifiers found the result of subtask ${subtaskId} invalid`, { why: `all ${replicas} verifiers found it differs from a re-run`, details: { subtaskId, worker } })
    : new AgoraError('E1204', `the replicas of subtask ${subtaskId} do not agree`, { why: `${replicas + 1} results, no majority`, details: { subtaskId, replicas } })
}
