/**
 * The fleet jobs.bench.ts measures: worker daemons (`agora start --detach`,
 * real processes, each serving a chat provider on its own fake upstream from
 * processes.ts), CPU accounting from /proc, and the two ways of driving
 * work: a job through a coordinator's JobsApi (timed by its events) and raw
 * /agora/task/1 offers (no coordinator). The daemons started here are
 * stopped by `stopWorkers()`, even after a failure.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { killDaemons, startDaemon, type Daemon } from '../test/harness/cli.ts'
import { processCpuMs } from './processes.ts'
import { ControlClient } from '../src/client/index.ts'
import { createTaskProtocol } from '../src/jobs/protocol/protocol.ts'
import type { AgoraNode } from '../src/node.ts'
import type { Job, JobSpecInput } from '../src/jobs/types.ts'

/** Models of worker `i`: `bench-wK` for every K in `sizes` with i < K, so a job on model bench-wK runs on workers 0..K-1. */
export function modelsOf (i: number, sizes: readonly number[]): string[] {
  return sizes.filter(k => i < k).map(k => `bench-w${k}`)
}

/** Environment of a worker daemon: public, debug tasks on, no resource limits but its slots, DHT off (see jobs.bench.ts). */
export function workerEnv (slots: number): NodeJS.ProcessEnv {
  return {
    AGORA_LOG_LEVEL: 'error',
    AGORA_ACCESS_TRUST_MODE: 'public',
    AGORA_JOBS_DEBUG_TASKS: 'true',
    AGORA_JOBS_SLOTS: String(slots),
    AGORA_JOBS_MAX_CPU_LOAD: '0',
    AGORA_JOBS_MIN_FREE_MEMORY_MB: '0',
    AGORA_OFFERS_REANNOUNCE_MS: '5000',
    AGORA_NETWORK_DHT_ENABLED: 'false',
    AGORA_NETWORK_CONNECTIONS_INBOUND_THRESHOLD_PER_HOST: '1000'
  }
}

/** Start `n` worker daemons bootstrapped from `bootstrap`, each serving a chat provider on its own upstream when given. */
export async function startWorkers (n: number, bootstrap: string, slots: number, upstreams: string[] = []): Promise<Daemon[]> {
  const workers = await Promise.all(Array.from({ length: n }, async () => await startDaemon(['--bootstrap', bootstrap], undefined, workerEnv(slots))))
  await Promise.all(workers.map(async (w, i) => {
    const url = upstreams[i]
    if (url === undefined) return
    const token = readFileSync(join(w.dataDir, 'api.token'), 'utf8').trim()
    await new ControlClient({ url: w.url, token }).addProvider({ name: 'bench', kind: 'openai', url })
  }))
  return workers
}

/** SIGKILL every daemon started here and remove their data dirs. */
export async function stopWorkers (): Promise<void> {
  await killDaemons()
}

/** Busy CPU time of the whole machine since boot, ms (every state but idle and iowait). */
function machineBusyMs (): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10
}

export interface CpuShare {
  /** Cores used on average by this process (the coordinators), the worker daemons and the upstreams. */
  coordinator: number
  workers: number
  upstreams: number
  /** Cores used by everything else on the machine (other sessions' tests and builds). */
  others: number
}

/** Measures the cores our processes and everyone else's use between `start()` and `stop()`. */
export class CpuMeter {
  private readonly workers: () => number[]
  private readonly upstreams: () => number[]
  private at = 0
  private sample = [0, 0, 0, 0]

  constructor (workers: () => number[], upstreams: () => number[]) {
    this.workers = workers
    this.upstreams = upstreams
  }

  start (): void {
    this.at = performance.now()
    this.sample = this.now()
  }

  stop (): CpuShare {
    const wall = performance.now() - this.at
    const [coordinator, workers, upstreams, machine] = this.now().map((v, i) => (v - (this.sample[i] as number)) / wall) as [number, number, number, number]
    return { coordinator, workers, upstreams, others: Math.max(0, machine - coordinator - workers - upstreams) }
  }

  private now (): number[] {
    const self = process.cpuUsage()
    const sum = (pids: number[]): number => pids.reduce((total, pid) => total + processCpuMs(pid), 0)
    return [(self.user + self.system) / 1000, sum(this.workers()), sum(this.upstreams()), machineBusyMs()]
  }
}

export interface JobTiming {
  job: Job
  ms: number
  /** performance.now() of every commit, in order. */
  commits: number[]
  /** Per committed subtask: its last assignment → its commit, ms. */
  attempts: number[]
  /** Offers made (attempts started, refusals included). */
  offers: number
}

/** Submit `spec` on `node` and wait for its end through the node's events; throws unless it completed. */
export async function timeJob (node: AgoraNode, spec: JobSpecInput, timeoutMs = 120_000): Promise<JobTiming> {
  const events = node.components.events
  const assignedAt = new Map<string, number>()
  const commits: number[] = []
  const attempts: number[] = []
  let offers = 0
  let jobId: string | undefined
  let finish: (() => void) | undefined
  const ended = new Promise<void>(resolve => { finish = resolve })
  const onAssigned = (e: { jobId: string, subtaskId: string }): void => { offers++; assignedAt.set(e.subtaskId, performance.now()) }
  const onCommitted = (e: { jobId: string, subtaskId: string }): void => {
    const now = performance.now()
    commits.push(now)
    attempts.push(now - (assignedAt.get(e.subtaskId) ?? now))
  }
  const onEnd = (e: { jobId: string }): void => { if (e.jobId === jobId) finish?.() }
  events.on('subtask:assigned', onAssigned)
  events.on('subtask:committed', onCommitted)
  for (const name of ['job:completed', 'job:failed', 'job:cancelled'] as const) events.on(name, onEnd)
  const timer = setTimeout(() => finish?.(), timeoutMs)
  try {
    const start = performance.now()
    const submitted = await node.components.jobs.submit(spec)
    jobId = submitted.id
    if (['completed', 'failed', 'cancelled'].includes(node.components.jobs.get(jobId)?.state ?? '')) finish?.()
    await ended
    const ms = performance.now() - start
    const job = node.components.jobs.get(jobId) as Job
    if (job.state !== 'completed') throw new Error(`job ${jobId} ended ${job.state}: ${JSON.stringify(job.error)}`)
    return { job, ms, commits, attempts, offers }
  } finally {
    clearTimeout(timer)
    events.off('subtask:assigned', onAssigned)
    events.off('subtask:committed', onCommitted)
    for (const name of ['job:completed', 'job:failed', 'job:cancelled'] as const) events.off(name, onEnd)
  }
}

/**
 * Commits per second with the first and the last `wave` commits left out
 * (start-up and tail): from the end of the first wave to the end of the
 * last full one, so that slots finishing together (one worker: waves of
 * its slots) are counted whole.
 */
export function steadyRate (commits: readonly number[], wave: number): number {
  const from = wave - 1
  const to = commits.length - wave - 1
  const span = (commits[to] as number) - (commits[from] as number)
  return to > from && span > 0 ? (to - from) / (span / 1000) : Number.NaN
}

const rawProtocol = createTaskProtocol()
let rawSeq = 0

/** One raw debug.noop offer to `worker` over /agora/task/1 (no coordinator: no routing, store or result checks); ms. */
export async function rawOffer (node: AgoraNode, worker: string): Promise<number> {
  const n = rawSeq++
  const start = performance.now()
  const assignment = { key: `${node.peerId}/raw/${n}`, jobId: 'raw', subtaskId: `raw-${n}`, attempt: 1, type: 'debug.noop', params: {}, input: { index: n } }
  let result = false
  for await (const frame of node.components.reqresp.requestStream(worker, rawProtocol, { kind: 'offer', assignment })) {
    if (frame.type === 'refused') throw new Error(`${worker} refused a raw offer: ${frame.reason}`)
    if (frame.type === 'result') result = true
  }
  if (!result) throw new Error(`${worker} ended a raw offer without a result`)
  return performance.now() - start
}

/** `count` raw offers, `inFlight` at a time, round-robin over `workers`; offers per second. */
export async function rawThroughput (node: AgoraNode, workers: string[], count: number, inFlight: number): Promise<number> {
  let next = 0
  const start = performance.now()
  await Promise.all(Array.from({ length: inFlight }, async (_, lane) => {
    while (next < count) {
      next++
      await rawOffer(node, workers[lane % workers.length] as string)
    }
  }))
  return count / ((performance.now() - start) / 1000)
}
