/** A router and a dispatcher for coordinator tests: workers by name, each with its own behaviour. */
import { AgoraError } from '../../../src/errors.ts'
import type { DispatchResult, TaskAssignment, TaskDispatcher } from '../../../src/jobs/protocol/types.ts'
import type { JobRouterApi, RouteRequest, WorkerCandidate } from '../../../src/jobs/router/types.ts'
import type { AttemptOutcome } from '../../../src/jobs/types.ts'

export type Behaviour = (assignment: TaskAssignment, signal: AbortSignal) => Promise<unknown>

/** Routes to the first worker not excluded (else the first), like the real router's fallback. */
export class ListRouter implements JobRouterApi {
  readonly records: Array<{ peer: string, outcome: AttemptOutcome }> = []
  readonly load = new Map<string, number>()
  maxLoad = 0
  readonly workers: string[]
  /** Micro-credits per subtask. */
  readonly price: number
  constructor (workers: string[], price = 1_000_000) {
    this.workers = workers
    this.price = price
  }

  candidates (_request: RouteRequest): WorkerCandidate[] {
    return this.workers.map(peerId => ({ peerId, local: false, price: this.price, slotsIdle: 1, reputation: 0.5, latencyMs: null, inFlight: 0, score: 0 }))
  }

  choose (request: RouteRequest): { candidate: WorkerCandidate, explored: boolean } {
    if (request.remainingBudget !== undefined && request.remainingBudget < this.price) throw new AgoraError('E1021', `${this.price} is above the remaining ${request.remainingBudget}`)
    const all = this.candidates(request)
    const free = all.filter(c => request.exclude?.has(c.peerId) !== true)
    if (all.length === 0) throw new AgoraError('E1020', 'no worker')
    return { candidate: (free[0] ?? all[0]) as WorkerCandidate, explored: false }
  }

  begin (peer: string): void {
    this.load.set(peer, (this.load.get(peer) ?? 0) + 1)
    this.maxLoad = Math.max(this.maxLoad, [...this.load.values()].reduce((a, b) => a + b, 0))
  }

  end (peer: string): void { this.load.set(peer, (this.load.get(peer) ?? 1) - 1) }
  record (peer: string, _type: string, outcome: AttemptOutcome): void { this.records.push({ peer, outcome }) }
}

export class FakeDispatcher implements TaskDispatcher {
  readonly calls: Array<{ worker: string, assignment: TaskAssignment }> = []
  readonly behaviour: Record<string, Behaviour>
  constructor (behaviour: Record<string, Behaviour>) { this.behaviour = behaviour }
  async dispatch (worker: string, assignment: TaskAssignment, options: { signal?: AbortSignal, onAccepted?: () => void } = {}): Promise<DispatchResult> {
    this.calls.push({ worker, assignment })
    options.onAccepted?.()
    const run = this.behaviour[worker] ?? (async a => a.input)
    const result = await run(assignment, options.signal ?? new AbortController().signal)
    return {
      result,
      resultHash: 'h'.repeat(64),
      receipt: 'receipt',
      worker,
      receiptPayload: { key: assignment.key, attempt: assignment.attempt, jobId: assignment.jobId, subtaskId: assignment.subtaskId, type: assignment.type, worker, coordinator: 'me', resultHash: 'h', price: assignment.maxPrice ?? '1.000000', startedAt: 0, finishedAt: 0 }
    }
  }
}
