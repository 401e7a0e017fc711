/**
 * Jobs (issue 5, "Speed"), each figure a median over BENCH_RUNS runs with
 * its baseline measured in the same run:
 *
 * 1. No-op subtasks end to end, coordinator + 4 worker processes on
 *    loopback (16 slots each): subtasks/s of a whole job, submit to
 *    completion (bar ≥ 1,000/s). Baselines: the same job on a node that is
 *    its own only worker (in process, no network, as many slots), and raw
 *    /agora/task/1 offers to the same workers, as many in flight as they
 *    have slots (transport + worker, no coordinator). Dispatch overhead per
 *    subtask: a sequential job (a second coordinator, jobs.concurrency 1) —
 *    commit to commit, p50/p99 — minus a sequential raw offer's round trip.
 * 2. Scaling on latency-bound subtasks: `batch.chat` on 1, 2, 4, 8 workers
 *    whose upstream answers after 50 ms; bar: 8 workers ≥ 85% of 8 × the
 *    1-worker throughput (same run). So that the 2 cores are not what is
 *    measured: 2 slots per worker and 4 prompts per subtask (a subtask
 *    holds a slot ≥ 200 ms), so 8 workers run at most 16 subtasks at once:
 *    ≤ 80 subtasks/s and 320 upstream calls/s, under one core in all by
 *    the cores column (a worker spends ~2 ms of CPU per upstream call in
 *    the gateway; with 4 slots the 8-worker run took ~1.5 of the 2 cores).
 *    The coordinator's concurrency (64) stays above the 16 slots.
 *    Throughput is the steady rate with the first and the last wave of
 *    subtasks left out (start-up and tail); every size runs 12 waves.
 * 3. Coordinator memory while holding a 10,000-subtask job: heap used and
 *    RSS of this process (the coordinator lives here) after full GCs,
 *    before the submit, while the job runs (10,000 `debug.sleep` subtasks
 *    of 10 minutes, 16 out on the workers, the rest waiting) and after it
 *    is cancelled; "held" = while running − after cancelling.
 *
 * Setup: the coordinator is a node in this process (TestSwarm, jobs.slots
 * 0: it runs nothing itself); workers are daemons (`agora start
 * --detach`): 4 with 16 slots for part 1, then 8 with 2 slots, each with a
 * provider on its own fake upstream (all upstreams in one child process),
 * for parts 2 and 3. Worker i serves the models `bench-wK` for K in 1, 2,
 * 4, 8 with i < K: a job constrained to model bench-wK runs on exactly K
 * workers. Every node runs with the DHT off: on an idle 5-node loopback
 * swarm Kad-DHT traffic costs ~0.28 core per node, which on 2 cores would
 * be measured instead of the jobs path. The cores column says how much CPU
 * each kind of process, and everyone else on the machine, used.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { median, percentile, report, round, type BenchRow } from './lib.ts'
import { CpuMeter, modelsOf, rawOffer, rawThroughput, startWorkers, steadyRate, stopWorkers, timeJob, type CpuShare } from './jobs-fleet.ts'
import { startUpstreams, type Upstreams } from './processes.ts'
import { TestSwarm, firstAddress, mergeDeep } from '../test/harness/nodes.ts'
import { JOBS_NODE_CONFIG } from '../test/harness/jobs.ts'
import { waitFor } from '../test/harness/wait.ts'
import type { Daemon } from '../test/harness/cli.ts'
import type { AgoraNode } from '../src/node.ts'
import type { AgoraConfig, DeepPartial } from '../src/config/index.ts'
import type { JobSpecInput } from '../src/jobs/types.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const NOOP_COUNT = Number(process.env.BENCH_NOOP_COUNT ?? 4000)
const SEQ_COUNT = 300
const SIZES = [1, 2, 4, 8] as const
/** Slots of each no-op worker, and of each scaling worker (see the module comment). */
const NOOP_SLOTS = 16
const SLOTS = 2
const PER_SUBTASK = 4
const DELAY_MS = 50
/** Subtasks per worker slot in a scaling run (the same waves at every size). */
const WAVES = 12
const HELD = 10_000
/** Not the harness's 1 s: re-announcing faster than offers.perOriginPerMinute allows (30/min) gets a node banned by its peers within a minute. */
const OFFER_REANNOUNCE_MS = 5000

setFlagsFromString('--expose-gc')
// old bytecode flushed by later collections would show as the heap shrinking under the job
setFlagsFromString('--no-flush-bytecode')
const gc = runInNewContext('gc') as () => void
const mib = (bytes: number): number => bytes / 2 ** 20

/** Memory after the process settled: a pause, then full collections until the heap stops shrinking. */
async function settledMemory (): Promise<NodeJS.MemoryUsage> {
  await new Promise(resolve => setTimeout(resolve, 500))
  let last = Infinity
  for (let i = 0; i < 5; i++) {
    gc()
    await new Promise(resolve => setImmediate(resolve))
    const used = process.memoryUsage().heapUsed
    if (used >= last - 64 * 1024) break
    last = used
  }
  return process.memoryUsage()
}
const cpuText = (c: CpuShare): string => `cores: coordinator ${round(c.coordinator, 2)}, workers ${round(c.workers, 2)}, upstreams ${round(c.upstreams, 2)}, other sessions ${round(c.others, 2)}`

function nodeConfig (over: Record<string, unknown>): DeepPartial<AgoraConfig> {
  return mergeDeep(JOBS_NODE_CONFIG as unknown as Record<string, unknown>, mergeDeep({ log: { level: 'error' }, network: { dht: { enabled: false } }, offers: { reannounceMs: OFFER_REANNOUNCE_MS } }, over)) as DeepPartial<AgoraConfig>
}

/** Wait until `node` holds an offer of each worker listing `taskType`. */
async function waitForTaskType (node: AgoraNode, workers: Daemon[], taskType: string): Promise<void> {
  await waitFor(`${node.peerId.slice(-6)} to see ${taskType} on ${workers.length} workers`, () => {
    const offers = node.components.offers.list({ taskType })
    return workers.every(w => offers.some(o => o.node === w.peerId))
  }, { timeoutMs: 30_000, intervalMs: 50 })
}

/** Wait until `node` holds an offer of each worker listing `model`. */
async function waitForModel (node: AgoraNode, workers: Daemon[], model: string): Promise<void> {
  await waitFor(`${node.peerId.slice(-6)} to see ${model} on ${workers.length} workers`, () => {
    const offers = node.components.offers.list({ taskType: 'batch.chat' })
    return workers.every(w => offers.some(o => o.node === w.peerId && o.models.some(m => m.name === model)))
  }, { timeoutMs: 30_000, intervalMs: 50 })
}

const noopSpec = (count: number): JobSpecInput => ({ type: 'debug.noop', input: { kind: 'items', items: [] }, params: { count } })

const rows: BenchRow[] = []
const swarm = new TestSwarm()
let upstreams: Upstreams | undefined
let workers: Daemon[] = []
try {
  upstreams = await startUpstreams(Array.from({ length: 8 }, (_, i) => modelsOf(i, SIZES)), DELAY_MS)
  const coordinator = await swarm.add({ config: nodeConfig({ jobs: { slots: 0 } }) })
  const cpu = new CpuMeter(() => workers.map(w => w.pid), () => [upstreams?.pid ?? 0])

  // 1. no-op subtasks end to end, and the baselines, interleaved run by run
  workers = await startWorkers(4, firstAddress(coordinator), NOOP_SLOTS)
  const sequential = await swarm.add({ config: nodeConfig({ jobs: { slots: 0, concurrency: 1 }, network: { bootstrap: workers.map(w => w.address) } }) })
  const alone = await swarm.add({ config: nodeConfig({ jobs: { slots: NOOP_SLOTS * 4 } }) })
  await waitForTaskType(coordinator, workers, 'debug.noop')
  await waitForTaskType(sequential, workers, 'debug.noop')
  await waitFor('the lone node\'s own offer', () => alone.components.offers.local()?.taskTypes.includes('debug.noop') === true, { timeoutMs: 10_000 })
  // warm-up: JIT, streams to every worker, the router's view of them
  await timeJob(coordinator, noopSpec(500))
  await timeJob(alone, noopSpec(500))
  await timeJob(sequential, noopSpec(50))
  const net: number[] = []
  const local: number[] = []
  const raw: number[] = []
  const loaded: number[] = []
  const shares: CpuShare[] = []
  for (let r = 0; r < RUNS; r++) {
    cpu.start()
    const run = await timeJob(coordinator, noopSpec(NOOP_COUNT))
    shares.push(cpu.stop())
    net.push(NOOP_COUNT / (run.ms / 1000))
    loaded.push(...run.attempts)
    local.push(NOOP_COUNT / ((await timeJob(alone, noopSpec(NOOP_COUNT))).ms / 1000))
    raw.push(await rawThroughput(coordinator, workers.map(w => w.peerId), NOOP_COUNT, NOOP_SLOTS * workers.length))
  }
  const seq = await timeJob(sequential, noopSpec(SEQ_COUNT))
  const cycles = seq.commits.slice(1).map((t, i) => t - (seq.commits[i] as number))
  const rtts: number[] = []
  for (let i = 0; i < SEQ_COUNT; i++) rtts.push(await rawOffer(sequential, (workers[i % workers.length] as Daemon).peerId))
  const netRate = median(net)
  const share = shares[Math.floor(shares.length / 2)] as CpuShare
  rows.push({ metric: 'no-op subtasks/s, coordinator + 4 worker processes', value: netRate, unit: 'subtasks/s', target: '>= 1000', pass: netRate >= 1000, detail: `runs ${net.map(v => round(v, 0)).join(', ')} (${NOOP_COUNT} subtasks each); attempt p50 ${round(median(loaded), 1)} / p99 ${round(percentile(loaded, 99), 1)} ms under load; ${cpuText(share)}` })
  rows.push({ metric: 'no-op subtasks/s, the node as its own only worker (in process)', value: median(local), unit: 'subtasks/s', target: 'baseline', pass: true, detail: `network / in process: ${round(netRate / median(local), 2)} x` })
  rows.push({ metric: `raw /agora/task/1 offers/s, ${NOOP_SLOTS * 4} in flight to the same workers`, value: median(raw), unit: 'offers/s', target: 'baseline', pass: true, detail: `jobs / raw: ${round(netRate / median(raw), 2)} x` })
  rows.push({ metric: 'dispatch overhead per subtask, p50 (sequential job − raw round trip)', value: median(cycles) - median(rtts), unit: 'ms', target: 'info', pass: true, detail: `sequential job: p50 ${round(median(cycles))} / p99 ${round(percentile(cycles, 99))} ms per subtask; raw offer: p50 ${round(median(rtts))} / p99 ${round(percentile(rtts, 99))} ms` })
  rows.push({ metric: 'dispatch overhead per subtask, p99 (same, at p99)', value: percentile(cycles, 99) - percentile(rtts, 99), unit: 'ms', target: 'info', pass: true })
  await swarm.stopNode(sequential)
  await swarm.stopNode(alone)
  await stopWorkers()

  // the scaling fleet: 8 workers, each with its own upstream
  workers = await startWorkers(8, firstAddress(coordinator), SLOTS, upstreams.urls)
  await waitForModel(coordinator, workers, 'bench-w8')
  await timeJob(coordinator, { type: 'batch.chat', input: { kind: 'items', items: ['warm-up'] }, params: { model: 'bench-w8' } })

  // 2. scaling on latency-bound subtasks
  const rates = new Map<number, number[]>(SIZES.map(k => [k, []]))
  const scaleShares = new Map<number, CpuShare[]>(SIZES.map(k => [k, []]))
  const ratios: number[] = []
  for (let r = 0; r < RUNS; r++) {
    for (const k of SIZES) {
      const subtasks = k * SLOTS * WAVES
      const items = Array.from({ length: subtasks * PER_SUBTASK }, (_, i) => `prompt ${i}`)
      cpu.start()
      const run = await timeJob(coordinator, { type: 'batch.chat', input: { kind: 'items', items }, params: { model: `bench-w${k}`, perSubtask: PER_SUBTASK } })
      scaleShares.get(k)?.push(cpu.stop())
      rates.get(k)?.push(steadyRate(run.commits, k * SLOTS))
    }
    ratios.push((rates.get(8)?.[r] as number) / (8 * (rates.get(1)?.[r] as number)))
  }
  const ideal = 1000 / (PER_SUBTASK * DELAY_MS) * SLOTS
  for (const k of SIZES) {
    const rate = median(rates.get(k) ?? [])
    const c = scaleShares.get(k) ?? []
    rows.push({ metric: `batch.chat subtasks/s, ${k} worker${k === 1 ? '' : 's'} (upstream 50 ms)`, value: rate, unit: 'subtasks/s', target: k === 1 ? 'baseline' : 'info', pass: true, detail: `${round(rate * PER_SUBTASK, 0)} prompts/s; ${round(100 * rate / (k * ideal), 0)}% of the slots' ${k * ideal}/s; ${cpuText(c[Math.floor(c.length / 2)] as CpuShare)}` })
  }
  const ratio = 100 * median(ratios)
  rows.push({ metric: 'scaling: 8 workers / (8 × 1 worker)', value: ratio, unit: '% of linear', target: '>= 85', pass: ratio >= 85, detail: `runs ${ratios.map(v => round(100 * v, 0)).join(', ')} %` })

  // 3. coordinator memory while holding a 10,000-subtask job
  const before = await settledMemory()
  const submitStart = performance.now()
  const job = await coordinator.components.jobs.submit({ type: 'debug.sleep', input: { kind: 'items', items: [] }, params: { count: HELD, ms: 600_000 }, constraints: { models: ['bench-w8'] } })
  const submitMs = performance.now() - submitStart
  await waitFor('the held job to fill the workers', () => (coordinator.components.jobs.get(job.id)?.progress.running ?? 0) >= SLOTS * 8, { timeoutMs: 20_000, intervalMs: 100 })
  const holding = await settledMemory()
  await coordinator.components.jobs.cancel(job.id)
  const after = await settledMemory()
  const held = holding.heapUsed - after.heapUsed
  rows.push({ metric: `coordinator heap held by a running ${HELD}-subtask job`, value: mib(held), unit: 'MiB', target: 'info', pass: true, detail: `${round(held / HELD, 0)} bytes per subtask (heap while running − after cancelling); heap over the start: ${round(mib(holding.heapUsed - before.heapUsed), 1)} MiB running, ${round(mib(after.heapUsed - before.heapUsed), 1)} MiB after` })
  rows.push({ metric: `coordinator RSS while running a ${HELD}-subtask job (delta)`, value: mib(holding.rss - before.rss), unit: 'MiB', target: 'info', pass: true, detail: `RSS ${round(mib(holding.rss), 0)} MiB (native memory, the SQLite page cache included); submit (plan + store) ${round(submitMs, 0)} ms` })
} finally {
  await swarm.stop()
  await stopWorkers()
  upstreams?.close()
}
report('jobs', rows)
