/**
 * Redundant execution (docs/verification.md, "Redundant execution"): a job
 * with `redundancy` r > 1 has each subtask's result compared with r − 1
 * replicas run on other workers (distinct peer ids), each under its own key
 * (`<key>#r<n>`, so its own receipt), by the task type's comparator. A
 * strict majority decides: the primary's result stands, or — outvoted —
 * the majority's does and the primary's attempt fails. Without a majority
 * two fresh workers are added once before anyone is blamed; still none is
 * "inconclusive". A replica that fails or cannot be placed simply does not
 * count; with no replica at all — or a comparator that fails — the result
 * is "unverified".
 */
import type { Comparator } from '../../verify/index.ts'
import { agreement, type Replica } from '../../verify/index.ts'
import type { DispatchResult, TaskAssignment } from '../protocol/types.ts'

/** Fresh workers added when the first replicas leave no majority. */
export const ESCALATE_REPLICAS = 2

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
}

export async function checkReplicas (primary: DispatchResult, assignment: TaskAssignment, redundancy: number, runner: ReplicaRunner): Promise<ReplicaOutcome> {
  const used = new Set([primary.worker])
  const results: DispatchResult[] = []
  let next = 1
  const more = async (count: number): Promise<void> => {
    const launched: Array<Promise<DispatchResult | undefined>> = []
    for (let i = 0; i < count; i++) {
      const worker = runner.choose(used)
      if (worker === undefined) break
      used.add(worker)
      const key = `${assignment.key}#r${next++}`
      launched.push(runner.run(worker, { ...assignment, key }).catch(() => undefined))
    }
    for (const result of await Promise.all(launched)) if (result !== undefined) results.push(result)
  }
  await more(redundancy - 1)
  if (results.length === 0) return { verdict: 'unverified', winner: primary, agreeing: [], outliers: [], replicas: 0 }
  let decided = await decide(primary, results, runner.comparator)
  if (decided === undefined) {
    await more(ESCALATE_REPLICAS)
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
