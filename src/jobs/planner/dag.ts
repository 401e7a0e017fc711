/**
 * The subtask graph: checked to be a DAG (unique ids, known dependencies,
 * no cycle; E1003 naming the ids) and put in an order where every subtask
 * comes after its dependencies (Kahn's algorithm, ties in plan order).
 * Linear in subtasks + dependencies.
 */
import { AgoraError } from '../../errors.ts'

export interface DagNode {
  id: string
  deps: readonly string[]
}

/** Throws E1003 on a duplicate id, a dependency on an unknown id, or a cycle. */
export function validateDag (subtasks: readonly DagNode[]): void {
  sortTopologically(subtasks)
}

/** The subtasks, each after its dependencies; independent ones keep plan order. Throws like `validateDag`. */
export function topologicalOrder<T extends DagNode> (subtasks: readonly T[]): T[] {
  return sortTopologically(subtasks)
}

function sortTopologically<T extends DagNode> (subtasks: readonly T[]): T[] {
  const index = new Map<string, number>()
  subtasks.forEach((s, i) => {
    if (index.has(s.id)) throw dagError(`duplicate subtask id ${s.id}`, 'two subtasks have the same id', [s.id])
    index.set(s.id, i)
  })
  const waiting = new Array<number>(subtasks.length).fill(0)
  const dependents: number[][] = subtasks.map(() => [])
  subtasks.forEach((s, i) => {
    for (const dep of new Set(s.deps)) {
      const j = index.get(dep)
      if (j === undefined) throw dagError(`subtask ${s.id} depends on unknown subtask ${dep}`, 'a dependency names no subtask of the plan', [s.id, dep])
      waiting[i] = (waiting[i] as number) + 1;
      (dependents[j] as number[]).push(i)
    }
  })
  const order: T[] = []
  const ready: number[] = []
  waiting.forEach((n, i) => { if (n === 0) ready.push(i) })
  for (let head = 0; head < ready.length; head++) {
    const i = ready[head] as number
    order.push(subtasks[i] as T)
    for (const d of dependents[i] as number[]) {
      waiting[d] = (waiting[d] as number) - 1
      if (waiting[d] === 0) ready.push(d)
    }
  }
  if (order.length < subtasks.length) {
    const cycle = findCycle(subtasks, index, waiting)
    throw dagError(`dependency cycle: ${cycle.join(' → ')}`, 'the subtasks do not form a DAG', cycle)
  }
  return order
}

/** One cycle among the subtasks Kahn's algorithm could not place (those still waiting), as ids, the first repeated last. */
function findCycle (subtasks: readonly DagNode[], index: ReadonlyMap<string, number>, waiting: readonly number[]): string[] {
  const start = waiting.findIndex(n => n > 0)
  const seen = new Map<number, number>()
  const path: number[] = []
  let at = start
  // every stuck subtask has a stuck dependency, so walking those must repeat
  while (!seen.has(at)) {
    seen.set(at, path.length)
    path.push(at)
    const node = subtasks[at] as DagNode
    at = node.deps.map(d => index.get(d) as number).find(j => (waiting[j] as number) > 0) as number
  }
  const loop = path.slice(seen.get(at))
  return [...loop, at].map(i => (subtasks[i] as DagNode).id)
}

function dagError (what: string, why: string, ids: string[]): AgoraError {
  return new AgoraError('E1003', what, { why, details: { ids } })
}
