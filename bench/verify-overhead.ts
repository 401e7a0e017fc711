/**
 * Part 4 of bench/verify.bench.ts: what verification costs, through the
 * real coordinator code (a JobRun with its replica checks and adaptive
 * replication, a JobStore on SQLite in memory) on real work: each subtask
 * embeds a chunk of text with the embedded engine (wink, in its worker
 * thread), and each replica does the same work again, as a verifier re-runs
 * it; results are compared by the real embedding comparator. Measured as
 * the process's CPU time (all threads: the engine's too) of a whole run,
 * against the same run with no checks — per-call CPU of a sub-millisecond
 * embed is below the kernel's accounting resolution for other threads:
 *
 * overhead = (CPU of the run with checks − CPU without) / CPU without
 *
 * Each case runs RUNS times, interleaved with the baseline, after a round
 * that warms everything up; medians.
 * Steady state: three workers trusted long ago (streak 100: p = pMin 0.05).
 * Bootstrap mode: three new workers (every result checked until 10 in a
 * row agree, then 1/n down to the floor), over the whole run. Info: every
 * result replicated once (redundancy 2), the most bootstrap mode can cost
 * with K = 1. Quorum mode: the sampled results go to K verifiers (the real
 * CheckVerifier, in this process): one re-runs the subtask, the others
 * compare with its result, each signs its ATTESTs. Every worker hashes its
 * result (canonical JSON, sha256), as real ones do.
 */
import { cpuUsage } from 'node:process'
import { JobRun } from '../src/jobs/coordinator/job-run.ts'
import { JobStore } from '../src/jobs/store/job-store.ts'
import { Database } from '../src/store/index.ts'
import { AdaptiveReplication, embeddingComparator } from '../src/verify/index.ts'
import type { CoordinatorContext } from '../src/jobs/coordinator/context.ts'
import type { DispatchResult, TaskAssignment, TaskDispatcher } from '../src/jobs/protocol/types.ts'
import type { WinkEngine } from '../src/providers/index.ts'
import { ListRouter } from '../test/unit/jobs/run-fakes.ts'
import { QuorumChecks } from '../src/jobs/check/quorum.ts'
import { CheckVerifier } from '../src/jobs/check/verifier.ts'
import { resultHash } from '../src/jobs/protocol/hash.ts'
import { generateIdentity, signEnvelope, verifySignatureOnly, type NodeIdentity } from '../src/identity/index.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { median, round, seeded, type BenchRow } from './lib.ts'

interface Cost { primaries: number, replicas: number }

const RUNS = 9
/** Signs the in-process verifiers' ATTESTs. */
let identity: NodeIdentity

const cpuMs = (): number => { const u = cpuUsage(); return (u.user + u.system) / 1000 }

/** Runs the work in process; counts primaries and replicas (`<key>#r<n>`). */
class EmbeddingWorkers implements TaskDispatcher {
  private readonly engine: WinkEngine
  private readonly cost: Cost
  constructor (engine: WinkEngine, cost: Cost) {
    this.engine = engine
    this.cost = cost
  }

  async dispatch (worker: string, a: TaskAssignment): Promise<DispatchResult> {
    const { vectors } = await this.engine.embed(a.input as string[])
    const result = { vectors: vectors.map(v => Array.from(v)) }
    if (a.key.includes('#r') || a.key.includes('#v')) this.cost.replicas++
    else this.cost.primaries++
    const hash = resultHash(result)
    return { result, resultHash: hash, receipt: 'r', worker, receiptPayload: { key: a.key, attempt: a.attempt, jobId: a.jobId, subtaskId: a.subtaskId, type: a.type, worker, coordinator: 'me', resultHash: hash, price: '0.000000', startedAt: 0, finishedAt: 0 } }
  }
}

/**
 * K verifiers in this process, the real CheckVerifier each, as QuorumChecks
 * asks them: the first re-runs the subtask (counted as a replica), the
 * others compare with its result; each signs its ATTEST's commitment and
 * reveal, which the coordinator verifies (the DECIDE follows at once: the
 * tally and the gossip are not what costs).
 */
function inProcessVerifiers (engine: WinkEngine, cost: Cost, k: number, identity: NodeIdentity): QuorumChecks {
  const log = silentLogger().forComponent('bench')
  const verifiers = new Map(Array.from({ length: k }, (_, i) => [`v${i}`, new CheckVerifier({
    reqresp: { handle: async () => {}, unhandle: async () => {} },
    dispatcher: new EmbeddingWorkers(engine, cost),
    selfPeerId: `v${i}`,
    comparator: () => embeddingComparator(),
    attest: async input => {
      for (const phase of ['commit', 'reveal']) {
        verifySignatureOnly(signEnvelope(identity, { kind: 'ATTEST', payload: { ...input, lamport: 1, phase, commitment: input.resultHash } }))
      }
    },
    log
  }, { verifies: ['text.embed'], maxInFlight: 1000 })]))
  return new QuorumChecks({
    verifiersOf: () => [...verifiers.keys()],
    quorum: () => ({ mode: 'quorum', k }),
    decided: async () => true,
    log,
    ask: async (peer, request, signal) => await (verifiers.get(peer) as CheckVerifier).check(request, 'me', signal)
  })
}

/** One run: its CPU time (ms) and what it dispatched. `checks` false: no replicas at all (the baseline); `verifiers`: K verifiers check instead of replicas (quorum mode). */
async function overhead (engine: WinkEngine, texts: string[][], setup: { redundancy: number, trustedFor: number, checks: boolean, verifiers?: number }): Promise<Cost & { cpu: number }> {
  const cost: Cost = { primaries: 0, replicas: 0 }
  const store = new JobStore(new Database({ path: ':memory:' }))
  const planned = texts.map((input, i) => ({ id: `s-${i}`, type: 'text.embed', params: {}, input, deps: [] }))
  store.insert({ id: 'j', type: 'text.embed', input: { kind: 'items', items: [] }, params: {}, constraints: { redundancy: setup.redundancy }, createdAt: Date.now() }, planned)
  const workers = ['w1', 'w2', 'w3']
  const adaptive = new AdaptiveReplication({ trustAfter: 10, pMin: 0.05, random: seeded(42) })
  for (const w of workers) for (let i = 0; i < setup.trustedFor; i++) adaptive.record(w, 'text.embed', true)
  const comparator = embeddingComparator()
  const context: CoordinatorContext = {
    store,
    router: new ListRouter(workers, 0),
    dispatcher: new EmbeddingWorkers(engine, cost),
    events: { emit: () => true } as unknown as CoordinatorContext['events'],
    config: { concurrency: 1, maxAttempts: 3, timeouts: { acceptMs: 10_000, firstProgressMs: 10_000, totalMs: 60_000 } },
    selfPeerId: 'me',
    comparator: () => comparator,
    adaptive: setup.redundancy > 1 || !setup.checks ? undefined : adaptive,
    quorumChecks: setup.verifiers === undefined ? undefined : inProcessVerifiers(engine, cost, setup.verifiers, identity),
    progress: () => {}
  }
  const started = cpuMs()
  await new JobRun(context, { jobId: 'j', modelsOf: () => [], bind: () => null }, { redundancy: setup.redundancy }, store.planRows('j'), 0).run()
  return { ...cost, cpu: cpuMs() - started }
}

export async function verificationOverhead (engine: WinkEngine, texts: string[][]): Promise<BenchRow[]> {
  identity = await generateIdentity()
  const cases = [
    { metric: 'verification overhead, steady state (trusted workers, p = 0.05)', setup: { redundancy: 1, trustedFor: 100, checks: true }, bar: 0.25 },
    { metric: 'verification overhead, bootstrap mode (new workers, adaptive)', setup: { redundancy: 1, trustedFor: 0, checks: true }, bar: 1.0 },
    { metric: 'verification overhead, every result replicated once (info)', setup: { redundancy: 2, trustedFor: 0, checks: true }, bar: undefined },
    { metric: 'verification overhead, quorum mode, K = 3 verifiers (one re-runs), steady state (p = 0.05)', setup: { redundancy: 1, trustedFor: 100, checks: true, verifiers: 3 }, bar: 0.25 },
    { metric: 'verification overhead, quorum mode, K = 5 verifiers (one re-runs), steady state (p = 0.05)', setup: { redundancy: 1, trustedFor: 100, checks: true, verifiers: 5 }, bar: 0.25 }
  ]
  const baseline: number[] = []
  const runs = cases.map(() => [] as Array<Cost & { cpu: number }>)
  // round 0 warms the engine, the JIT and the allocator for every case: not counted
  for (let r = 0; r <= RUNS; r++) {
    const base = await overhead(engine, texts, { redundancy: 1, trustedFor: 0, checks: false })
    if (r > 0) baseline.push(base.cpu)
    for (const [i, c] of cases.entries()) {
      const run = await overhead(engine, texts, c.setup)
      if (r > 0) runs[i]?.push(run)
    }
  }
  const base = median(baseline)
  const rows: BenchRow[] = [{ metric: 'baseline: the same run with no checks, CPU', value: base, unit: 'ms', target: 'info', pass: true, detail: `${texts.length} subtasks; runs ${baseline.map(v => round(v, 0)).join(', ')}` }]
  for (const [i, c] of cases.entries()) {
    const mine = runs[i] ?? []
    const cpu = median(mine.map(m => m.cpu))
    const value = (cpu - base) / base
    rows.push({
      metric: c.metric,
      value,
      unit: 'CPU s / CPU s',
      target: c.bar === undefined ? 'info' : `≤ ${c.bar}`,
      pass: c.bar === undefined || value <= c.bar,
      detail: `CPU ${round(cpu, 0)} ms against ${round(base, 0)} ms; ${mine[0]?.replicas ?? 0} replicas for ${mine[0]?.primaries ?? 0} results; runs ${mine.map(m => round(m.cpu, 0)).join(', ')}`
    })
  }
  return rows
}
