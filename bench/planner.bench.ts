/**
 * Planner speed (the figures test/unit/jobs/planner.test.ts used to bound
 * with wall-clock bars): checking a 100,000-wide fan-in and ordering a
 * 10,000-long chain, and planning a 10,000-subtask debug.noop job. Each a
 * median of BENCH_RUNS runs; the baseline, same run, is the least any DAG
 * check does: one Map of the 100,001 ids and one lookup per edge.
 *
 * Run: PATH=$PWD/node_modules/.bin:$PATH node bench/planner.bench.ts
 */
import { jobSpecSchema } from '../src/jobs/types.ts'
import { planJob, topologicalOrder, validateDag } from '../src/jobs/planner/index.ts'
import { median, percentile, report, round, timeMs, type BenchRow } from './lib.ts'
import type { PlannedSubtask } from '../src/jobs/planner/types.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 15)

const node = (id: string, ...deps: string[]): PlannedSubtask => ({ id, type: 'debug.noop', params: {}, input: null, deps })
const chain = Array.from({ length: 10_000 }, (_, i) => node(`n${i}`, ...(i === 0 ? [] : [`n${i - 1}`]))).reverse()
const wide = [...Array.from({ length: 100_000 }, (_, i) => node(`w${i}`)), node('root', ...Array.from({ length: 100_000 }, (_, i) => `w${i}`))]
const noopSpec = jobSpecSchema.parse({ type: 'debug.noop', params: { count: 10_000 }, input: { kind: 'items', items: [] } })
const tools = { chunk: async () => [] }

async function runs (fn: () => unknown): Promise<number[]> {
  await timeMs(fn) // warm-up
  const out: number[] = []
  for (let i = 0; i < RUNS; i++) out.push(await timeMs(fn))
  return out
}

const floor = await runs(() => {
  const byId = new Map(wide.map(s => [s.id, s]))
  let edges = 0
  for (const s of wide) for (const dep of s.deps) if (byId.has(dep)) edges++
  return edges
})
const wideCheck = await runs(() => { validateDag(wide); return topologicalOrder(wide) })
const chainOrder = await runs(() => topologicalOrder(chain))
const noopPlan = await runs(async () => await planJob(noopSpec, { kind: 'items', items: [] }, tools, { debugTasks: true }))

const spread = (xs: number[]): string => `p90 ${round(percentile(xs, 90))} ms; n=${xs.length}`
const rows: BenchRow[] = [
  { metric: 'ids → Map + one lookup per edge, 100,001 subtasks (floor)', value: median(floor), unit: 'ms', target: 'baseline', pass: true, detail: spread(floor) },
  { metric: 'validate + order a 100,000-wide fan-in', value: median(wideCheck), unit: 'ms', target: '< 1000 ms', pass: median(wideCheck) < 1000, detail: `${round(median(wideCheck) / median(floor), 1)}× the floor; ${spread(wideCheck)}` },
  { metric: 'order a 10,000-long chain', value: median(chainOrder), unit: 'ms', target: '< 500 ms', pass: median(chainOrder) < 500, detail: spread(chainOrder) },
  { metric: 'plan debug.noop, 10,000 subtasks', value: median(noopPlan), unit: 'ms', target: '< 500 ms', pass: median(noopPlan) < 500, detail: spread(noopPlan) }
]
report('planner', rows, { runs: RUNS })
