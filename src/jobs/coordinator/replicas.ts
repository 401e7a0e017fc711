/**
 * Redundant execution (docs/verification.md, "Redundant execution"): a job
 * with `redundancy` r > 1 has each subtask's result compared with r − 1
 * replicas run on other workers (distinct peer ids), each under its own key
 * (`<key>#r<n>`, so its own receipt), by the task type's comparator. A
 * strict majority decides: the primary's result stands, or — outvoted —
 * the majority's does and the primary's attempt fails. Without a majority
 * K + 2 fresh workers are added once (K the quorum size, 1 in bootstrap
 * mode) before anyone is blamed; still none is "inconclusive". A replica whose worker is busy (refused for slots, CPU or
 * memory) is asked again after a back-off (its retry-after when it gave
 * one), up to BUSY_RETRIES times: otherwise a cheat's result would go
 * unchecked whenever the honest workers are full. A replica that fails
 * otherwise is placed once more on another worker, if one is left; still
 * none does not count. With no replica at all — or a comparator that
 * fails — the result is "unverified".
 */
import { isAgoraError } from '../../errors.ts'
import type { Comparator } from '../../verify/index.ts'
import { agreement, type Replica } from '../../verify/index.ts'
import type { DispatchResult, TaskAssignment } from '../protocol/types.ts'

/** Fresh workers added when the first replicas leave no majority: K + 2, K the quorum size (1 in bootstrap mode). */
export const ESCALATE_BEYOND_K = 2
/** Times a busy worker is asked again for one replica, backing off from BUSY_FIRST_DELAY_MS (doubling, at most BUSY_MAX_DELAY_MS). */
export const BUSY_RETRIES = 6
const BUSY_FIRST_DELAY_MS = 100
const BUSY_MAX_DELAY_MS = 2000
const BUSY_REASONS = new Set(['slots', 'cpu', 'memory'])

export type ReplicaVerdict = 'agreed' | 'outvoted' | 'inconclusive' | 'unverified'

export interface ReplicaOutcome {
  verdict: ReplicaVerdict
  /** The result that stands (the primary's unless outvoted; undefined when inconclusive). */
  winner: DispatchResult | undefined
  /** Replicas in the majority (not the primary): their work is paid. */
  agreeing: DispatchResult[]
  /** Results outside the majority, the primary's included when outvoted: not paid, counted invalid. */
  outliers: DispatchResult[]
  /** Replicas that answered. */
  replicas: number
}

export interface ReplicaRunner {
  /** A worker for one more replica, none of `exclude`; undefined when nobody is left. */
  choose: (exclude: ReadonlySet<string>) => string | undefined
  /** Run the assignment on `worker` (its key already the replica's); rejects when it fails. */
  run: (worker: string, assignment: TaskAssignment) => Promise<DispatchResult>
  comparator: Comparator
  /** The attempt's: a back-off ends when it aborts. */
  signal?: AbortSignal
  /** The quorum size now (verify status); 1 without one. */
  k?: number
}

export async function checkReplicas (primary: DispatchResult, assignment: TaskAssignment, redundancy: number, runner: ReplicaRunner): Promise<ReplicaOutcome> {
  const used = new Set([primary.worker])
  const results: DispatchResult[] = []
  let next = 1
  /** One replica on `worker`: a busy worker asked again after a back-off; a failure placed once more elsewhere. */
  const replica = async (worker: string, key: string, replaced = false): Promise<DispatchResult | undefined> => {
    for (let tries = 0; ; tries++) {
      try {
        return await runner.run(worker, { ...assignment, key })
      } catch (err) {
        if (runner.signal?.aborted === true) return undefined
        const busy = isAgoraError(err, 'E1040') && BUSY_REASONS.has(String(err.details?.reason))
        if (busy && tries < BUSY_RETRIES) {
          const asked = Number((err as { details?: { retryAfterMs?: unknown } }).details?.retryAfterMs)
          await pause(Number.isFinite(asked) && asked > 0 ? Math.min(asked, BUSY_MAX_DELAY_MS) : Math.min(BUSY_FIRST_DELAY_MS * 2 ** tries, BUSY_MAX_DELAY_MS), runner.signal)
          continue
        }
        const other = replaced ? undefined : runner.choose(used)
        if (other === undefined) return undefined
        used.add(other)
        return await replica(other, `${assignment.key}#r${next++}`, true)
      }
    }
  }
  const more = async (count: number): Promise<void> => {
    const launched: Array<Promise<DispatchResult | undefined>> = []
    for (let i = 0; i < count; i++) {
      const worker = runner.choose(used)
      if (worker === undefined) break
      used.add(worker)
      launched.push(replica(worker, `${assignment.key}#r${next++}`))
    }
    for (const result of await Promise.all(launched)) if (result !== undefined) results.push(result)
  }
  await more(redundancy - 1)
  if (results.length === 0) return { verdict: 'unverified', winner: primary, agreeing: [], outliers: [], replicas: 0 }
  let decided = await decide(primary, results, runner.comparator)
  if (decided === undefined) {
    await more((runner.k ?? 1) + ESCALATE_BEYOND_K)
    decided = await decide(primary, results, runner.comparator)
  }
  if (decided === undefined) return { verdict: 'inconclusive', winner: undefined, agreeing: [], outliers: [], replicas: results.length }
  return { ...decided, replicas: results.length }
}

async function decide (primary: DispatchResult, replicas: DispatchResult[], comparator: Comparator): Promise<Omit<ReplicaOutcome, 'replicas'> | undefined> {
  const all = [primary, ...replicas]
  const byReplica = new Map<Replica, DispatchResult>(all.map(r => [{ worker: r.worker, result: r.result, hash: r.resultHash }, r]))
  let majority: Replica[] | undefined
  try {
    majority = (await agreement([...byReplica.keys()], comparator)).majority
  } catch {
    // the comparator itself failed (the engine behind the text comparator): no verdict, nobody blamed
    return { verdict: 'unverified', winner: primary, agreeing: [], outliers: [] }
  }
  if (majority === undefined) return undefined
  const inMajority = new Set(majority.map(r => byReplica.get(r) as DispatchResult))
  const outliers = all.filter(r => !inMajority.has(r))
  const agreeing = replicas.filter(r => inMajority.has(r))
  if (inMajority.has(primary)) return { verdict: 'agreed', winner: primary, agreeing, outliers }
  // outvoted: the first of the majority stands in the primary's place
  const [winner, ...rest] = agreeing
  return { verdict: 'outvoted', winner, agreeing: rest, outliers }
}

async function pause (ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
