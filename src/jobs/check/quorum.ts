/**
 * The coordinator's side of verifiers on the network (protocol.ts): once
 * the network has left bootstrap mode, a result to be cross-checked goes to
 * K verifiers of its task type instead of replicas this node compares
 * itself. The first (drawn at random) re-runs it — the first R with
 * verify.quorumReruns = R — and the others compare with that re-run; each ATTESTs; this node, the thread's decider, DECIDEs when
 * K reveal it valid (src/verify/network.ts). The result then
 * stands verified by the quorum — not provisional. K verdicts `invalid`
 * outvote it. Anything else — too few verifiers answered, a result too
 * large to send, no DECIDE in time — is no verdict: the caller checks the
 * result the bootstrap way.
 */
import { messageOf } from '../../errors.ts'
import { secureRandom, type DecisionPay } from '../../verify/index.ts'
import type { Logger } from '../../observability/logger.ts'
import type { DispatchResult, TaskAssignment } from '../protocol/types.ts'
import { CHECK_MAX_RESULT_BYTES, type CheckRequest, type CheckResponse } from './protocol.ts'

export interface QuorumChecksComponents {
  /** Ask one verifier. */
  ask: (peer: string, request: CheckRequest, signal: AbortSignal) => Promise<CheckResponse>
  /** Nodes whose live offer carries `verify:<type>`. */
  verifiersOf: (taskType: string) => string[]
  /** The quorum now: its mode and K. */
  quorum: () => { mode: 'bootstrap' | 'quorum', k: number }
  /** Resolves true once this node booked `result` as the winner of (thread, epoch), counting the reveals of `verifiers` only; false when `signal` aborts first. */
  decided: (thread: string, epoch: number, result: string, verifiers: readonly string[], signal: AbortSignal, pay?: DecisionPay) => Promise<boolean>
  /** Whether this node's decision of (thread, epoch) holds its result's pay. */
  paysFor?: ((thread: string, epoch: number) => boolean) | undefined
  /** Verifiers of a check that re-run the subtask themselves (verify.quorumReruns; at most K); the others compare with the first re-run. Default 1. */
  reruns?: (() => number) | undefined
  log: Logger
}

export type QuorumVerdict = 'valid' | 'invalid'

/** Verifiers drawn beyond K, to take the re-run when the one asked cannot. */
const SPARES = 2
/** How long the DECIDE may take once K verifiers answered valid (their reveals are on their way). */
const DECIDE_WAIT_MS = 15_000

export class QuorumChecks {
  private readonly c: QuorumChecksComponents

  constructor (components: QuorumChecksComponents) {
    this.c = components
  }

  /**
   * K verifiers of `taskType` other than `exclude`, and up to SPARES more in
   * case the one asked to re-run cannot, in quorum mode; undefined in
   * bootstrap mode or when fewer than K are there.
   */
  verifiersFor (taskType: string, exclude: ReadonlySet<string>): { k: number, drawn: string[] } | undefined {
    const { mode, k } = this.c.quorum()
    if (mode !== 'quorum') return undefined
    const candidates = this.c.verifiersOf(taskType).filter(peer => !exclude.has(peer))
    if (candidates.length < k) return undefined
    // drawn from the OS's random source: nobody can tell in advance which verifiers a result will meet
    for (let i = candidates.length - 1; i > 0; i--) {
      const j = Math.floor(secureRandom() * (i + 1))
      ;[candidates[i], candidates[j]] = [candidates[j] as string, candidates[i] as string]
    }
    return { k, drawn: candidates.slice(0, k + SPARES) }
  }

  /** Whether the DECIDE of a check (thread, the attempt as epoch) holds the result's pay: then FINALIZE pays it, not the commit. */
  paidByDecision (thread: string, epoch: number): boolean {
    return this.c.paysFor?.(thread, epoch) ?? false
  }

  /** Have K of `drawn` check `primary`'s result for `assignment`; undefined: no verdict (check it another way). */
  async check (input: { thread: string, assignment: TaskAssignment, primary: DispatchResult, k: number, drawn: string[], signal: AbortSignal, pay?: DecisionPay | undefined }): Promise<QuorumVerdict | undefined> {
    const { thread, assignment, primary, k, drawn, signal, pay } = input
    // the wire form's size, near enough (canonical JSON would cost a second serialisation): the input and the result, and a replica as large
    if (Buffer.byteLength(JSON.stringify(primary.result) ?? '') + Buffer.byteLength(JSON.stringify(assignment.input) ?? '') > CHECK_MAX_RESULT_BYTES) return undefined
    const epoch = assignment.attempt
    // listening before asking: the DECIDE may be booked before the last answer arrives
    const waiting = new AbortController()
    const decided = this.c.decided(thread, epoch, primary.resultHash, drawn, AbortSignal.any([signal, waiting.signal]), pay)
    try {
      const request: CheckRequest = { thread, epoch, assignment, worker: primary.worker, receipt: primary.receipt, result: primary.result, resultHash: primary.resultHash }
      // R re-runs (1 by default: K would cost K times the work, but a lazy or colluding re-runner then passes a copied result alone); the others compare with the first
      const want = Math.min(k, Math.max(1, Math.floor(this.c.reruns?.() ?? 1)))
      const pool = [...drawn]
      const reruns = await this.reruns(request, pool, want, k, signal)
      const first = reruns[0]
      if (first === undefined || reruns.length < want) return undefined
      const replica = { verifier: first.verifier, result: first.answer.result, resultHash: first.answer.resultHash }
      const others = pool.slice(0, k - want)
      const answers = [...reruns.map(r => ({ status: 'fulfilled', value: r.answer } as const)), ...await Promise.allSettled(others.map(async peer => await this.c.ask(peer, { ...request, replica }, signal)))]
      let valid = 0
      let invalid = 0
      for (const [i, answer] of answers.entries()) {
        if (answer.status !== 'fulfilled') this.c.log.debug({ thread, verifier: others[i - reruns.length], err: messageOf(answer.reason) }, 'a verifier did not answer')
        else if (answer.value.verdict === 'valid') valid++
        else invalid++
      }
      if (invalid >= k) return 'invalid'
      if (valid < k) return undefined
      const timer = setTimeout(() => { waiting.abort() }, DECIDE_WAIT_MS)
      try {
        return await decided ? 'valid' : undefined
      } finally {
        clearTimeout(timer)
      }
    } finally {
      waiting.abort()
      // the listener is gone either way; its answer no longer matters
      decided.catch(() => {})
    }
  }

  /**
   * `want` re-runs from the front of `pool` (taken from it), asked at once; a
   * verifier that cannot re-run hands its place to the next, as long as K − want
   * remain for the comparisons. Fewer than `want` when the pool runs short.
   */
  private async reruns (request: CheckRequest, pool: string[], want: number, k: number, signal: AbortSignal): Promise<Array<{ verifier: string, answer: CheckResponse }>> {
    const got: Array<{ verifier: string, answer: CheckResponse }> = []
    while (got.length < want) {
      const room = pool.length - (k - want)
      if (room <= 0) break
      const batch = pool.splice(0, Math.min(want - got.length, room))
      const answers = await Promise.allSettled(batch.map(async verifier => await this.c.ask(verifier, { ...request, wantResult: true }, signal)))
      for (const [i, answer] of answers.entries()) {
        const verifier = batch[i] as string
        if (answer.status === 'fulfilled' && Object.hasOwn(answer.value, 'result')) got.push({ verifier, answer: answer.value })
        else this.c.log.debug({ thread: request.thread, verifier, err: answer.status === 'rejected' ? messageOf(answer.reason) : 'no result' }, 'a verifier could not re-run')
      }
    }
    return got
  }
}
