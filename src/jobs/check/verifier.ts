/**
 * The verifier's side of `/agora/verify/check/1` (protocol.ts): for task
 * types in `verify.verifies`, re-run a coordinator's subtask on this node's
 * own worker (free: the work is its check) — or take the re-run another
 * verifier made — compare the worker's result with it by the task type's
 * comparator, ATTEST the verdict over gossip and answer it. Refused
 * (E1207): a type this node does not verify, a thread another node than
 * the caller decides, a worker's result that does not hash to what the
 * request says (the verdict is attested on that hash).
 */
import { setTimeout } from 'node:timers/promises'
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import type { Logger } from '../../observability/logger.ts'
import type { ReqResp } from '../../protocols/index.ts'
import type { AttestInput, Comparator } from '../../verify/index.ts'
import { resultHash } from '../protocol/hash.ts'
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

export class CheckVerifier {
  private readonly c: CheckVerifierComponents
  private readonly verifies: ReadonlySet<string>
  private readonly maxInFlight: number
  private inFlight = 0
  private serving = false

  /** `maxInFlight`: checks taken at once (waiting for a slot included); more are refused as busy, so a flood of checks queues nothing. */
  constructor (components: CheckVerifierComponents, init: { verifies: readonly string[], maxInFlight: number }) {
    this.c = components
    this.verifies = new Set(init.verifies)
    this.maxInFlight = init.maxInFlight
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
    if (this.inFlight >= this.maxInFlight) {
      throw new AgoraError('E1040', 'this verifier is busy', { why: `${this.inFlight} checks in progress`, details: { reason: 'slots' } })
    }
    this.inFlight++
    try {
      return await this.checked(request, caller, signal)
    } finally {
      this.inFlight--
    }
  }

  private async checked (request: CheckRequest, caller: string, signal: AbortSignal): Promise<CheckResponse> {
    const { assignment, thread, epoch, worker } = request
    if (!this.verifies.has(assignment.type)) throw refused(`this node does not verify ${assignment.type}`, `it verifies ${[...this.verifies].join(', ')}`)
    if (!thread.startsWith(`${caller}/`) || !assignment.key.startsWith(`${caller}/`)) throw refused(`thread ${thread} is not ${caller}'s`, 'a coordinator asks for checks of its own subtasks only')
    if (resultHash(request.result) !== request.resultHash) throw refused('the result does not hash to the request\'s resultHash', 'the result is sent as the worker returned it')
    // the replica's hash is not checked: whoever could send a wrong one could as well send a wrong replica with its right hash
    const { replica } = request
    const comparator = this.c.comparator(assignment.type)
    if (comparator === undefined) throw refused(`no comparator for ${assignment.type}`, 'this node cannot compare its results')
    // another verifier's re-run to compare with, or this node's own: free, under its own key, never cached as the worker's
    const own = replica !== undefined
      ? { worker: replica.verifier, result: replica.result, resultHash: replica.resultHash }
      : await this.runOwn({ ...assignment, key: `${assignment.key}#v${epoch}`, maxPrice: '0.000000' }, signal)
    const agree = await comparator.agree({ worker, result: request.result, hash: request.resultHash }, { worker: own.worker, result: own.result, hash: own.resultHash })
    const verdict = agree ? 'valid' : 'invalid'
    try {
      await this.c.attest({ thread, epoch, subtask: assignment.subtaskId, worker, resultHash: request.resultHash, verdict })
    } catch (err) {
      this.c.log.warn({ thread, err: messageOf(err) }, 'the attestation could not be gossiped')
    }
    return { verdict, resultHash: own.resultHash, ...(request.wantResult === true && replica === undefined ? { result: own.result } : {}) }
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

/** Back-off between tries while this node's own worker is busy. */
const BUSY_RETRY_MS = [20, 50, 100, 200, 500] as const
/** Refusals that pass with time: the worker's slots, CPU or memory are taken. */
const BUSY = new Set(['slots', 'cpu', 'memory'])

function refused (what: string, why: string): AgoraError {
  return new AgoraError('E1207', what, { why })
}
