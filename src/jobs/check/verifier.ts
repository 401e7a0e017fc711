/**
 * The verifier's side of `/agora/verify/check/1` (protocol.ts): for task
 * types in `verify.verifies`, check a worker's result for the coordinator
 * that asks. A check is taken only with the worker's signed RECEIPT for
 * that result, made out to the caller (so nobody gets free re-runs of work
 * they did not buy), and within the in-flight bounds. Then:
 * - asked for its re-run (`wantResult`): re-run the subtask on this node's
 *   own worker (free: the work is its check) and compare;
 * - handed another verifier's re-run (`replica`): compare with it; when
 *   they disagree, re-run too and compare with its own — one verifier's
 *   re-run can never get a worker outvoted alone.
 * The verdict is answered at once and ATTESTed over gossip after
 * (commitment, then reveal), so the other verifiers asked after this one
 * are not kept waiting for its reveal. Refused (E1207): a type this node
 * does not verify, a thread not the caller's, a receipt that does not
 * check out, a result or replica that does not hash to what it claims.
 */
import { setTimeout } from 'node:timers/promises'
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import type { Logger } from '../../observability/logger.ts'
import type { ReqResp } from '../../protocols/index.ts'
import type { AttestInput, Comparator } from '../../verify/index.ts'
import { resultHash } from '../protocol/hash.ts'
import { verifyReceipt } from '../protocol/receipt.ts'
import type { DispatchResult, TaskAssignment, TaskDispatcher } from '../protocol/types.ts'
import { checkProtocol, type CheckRequest, type CheckResponse } from './protocol.ts'

export interface CheckVerifierComponents {
  reqresp: Pick<ReqResp, 'handle' | 'unhandle'>
  dispatcher: Pick<TaskDispatcher, 'dispatch'>
  selfPeerId: string
  comparator: (taskType: string) => Comparator | undefined
  attest: (input: AttestInput) => Promise<void>
  log: Logger
}

/** Back-off between tries while this node's own worker is busy. */
const BUSY_RETRY_MS = [20, 50, 100, 200, 500] as const
/** Refusals that pass with time: the worker's slots, CPU or memory are taken. */
const BUSY = new Set(['slots', 'cpu', 'memory'])

export class CheckVerifier {
  private readonly c: CheckVerifierComponents
  private readonly verifies: ReadonlySet<string>
  private readonly maxInFlight: number
  private readonly perCaller: number
  private inFlight = 0
  private readonly byCaller = new Map<string, number>()
  private serving = false

  /**
   * `maxInFlight`: checks taken at once (waiting for a slot included), at
   * most half of them from one caller; more are refused as busy (E1040), so
   * a flood of checks queues nothing.
   */
  constructor (components: CheckVerifierComponents, init: { verifies: readonly string[], maxInFlight: number }) {
    this.c = components
    this.verifies = new Set(init.verifies)
    this.maxInFlight = init.maxInFlight
    this.perCaller = Math.max(1, Math.ceil(init.maxInFlight / 2))
  }

  async start (): Promise<void> {
    if (this.verifies.size === 0) return
    await this.c.reqresp.handle(checkProtocol, async (request, context) => await this.check(request, context.peerId, context.signal))
    this.serving = true
  }

  async stop (): Promise<void> {
    if (!this.serving) return
    this.serving = false
    await this.c.reqresp.unhandle(checkProtocol.id)
  }

  async check (request: CheckRequest, caller: string, signal: AbortSignal): Promise<CheckResponse> {
    const mine = this.byCaller.get(caller) ?? 0
    if (this.inFlight >= this.maxInFlight || mine >= this.perCaller) {
      throw new AgoraError('E1040', 'this verifier is busy', { why: `${this.inFlight} checks in progress, ${mine} of them for ${caller}`, details: { reason: 'slots' } })
    }
    this.inFlight++
    this.byCaller.set(caller, mine + 1)
    try {
      return await this.checked(request, caller, signal)
    } finally {
      this.inFlight--
      const left = (this.byCaller.get(caller) ?? 1) - 1
      if (left === 0) this.byCaller.delete(caller)
      else this.byCaller.set(caller, left)
    }
  }

  private async checked (request: CheckRequest, caller: string, signal: AbortSignal): Promise<CheckResponse> {
    const { assignment, thread, epoch, worker, replica } = request
    if (!this.verifies.has(assignment.type)) throw refused(`this node does not verify ${assignment.type}`, `it verifies ${[...this.verifies].join(', ')}`)
    if (!thread.startsWith(`${caller}/`) || !assignment.key.startsWith(`${caller}/`)) throw refused(`thread ${thread} is not ${caller}'s`, 'a coordinator asks for checks of its own subtasks only')
    if (resultHash(request.result) !== request.resultHash) throw refused('the result does not hash to the request\'s resultHash', 'the result is sent as the worker returned it')
    try {
      verifyReceipt(request.receipt, { worker, coordinator: caller, key: assignment.key, attempt: assignment.attempt, resultHash: request.resultHash, jobId: assignment.jobId, subtaskId: assignment.subtaskId, type: assignment.type })
    } catch (err) {
      throw refused('the worker\'s receipt does not check out', messageOf(err))
    }
    if (replica !== undefined && resultHash(replica.result) !== replica.resultHash) throw refused('the replica does not hash to its resultHash', 'it is sent as its verifier returned it')
    const comparator = this.c.comparator(assignment.type)
    if (comparator === undefined) throw refused(`no comparator for ${assignment.type}`, 'this node cannot compare its results')
    const primary = { worker, result: request.result, hash: request.resultHash }
    const rerun = async (): Promise<DispatchResult> => await this.runOwn({ ...assignment, key: `${assignment.key}#v${epoch}`, maxPrice: '0.000000' }, signal)
    let against = replica === undefined ? await rerun() : { worker: replica.verifier, result: replica.result, resultHash: replica.resultHash }
    let agree = await comparator.agree(primary, { worker: against.worker, result: against.result, hash: against.resultHash })
    // disagreeing with another verifier's re-run: this node's own run decides its verdict
    if (!agree && replica !== undefined) {
      against = await rerun()
      agree = await comparator.agree(primary, { worker: against.worker, result: against.result, hash: against.resultHash })
    }
    const verdict = agree ? 'valid' : 'invalid'
    this.c.attest({ thread, epoch, subtask: assignment.subtaskId, worker, resultHash: request.resultHash, verdict })
      .catch(err => { this.c.log.warn({ thread, err: messageOf(err) }, 'the attestation could not be gossiped') })
    const ran = against.worker === this.c.selfPeerId
    return { verdict, resultHash: against.resultHash, ...(request.wantResult === true && ran ? { result: against.result } : {}) }
  }

  /** Run the assignment on this node's own worker, waiting (until `signal`) while its slots are busy: a check queues, it is not refused. */
  private async runOwn (assignment: TaskAssignment, signal: AbortSignal): Promise<DispatchResult> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.c.dispatcher.dispatch(this.c.selfPeerId, assignment, { signal })
      } catch (err) {
        if (!isAgoraError(err, 'E1040') || !BUSY.has(String(err.details?.reason)) || signal.aborted) throw err
      }
      await setTimeout(BUSY_RETRY_MS[Math.min(tries, BUSY_RETRY_MS.length - 1)], undefined, { signal })
    }
  }
}

function refused (what: string, why: string): AgoraError {
  return new AgoraError('E1207', what, { why })
}
