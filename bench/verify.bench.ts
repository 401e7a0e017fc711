/**
 * Verification benchmark (src/verify/, the coordinator's checks):
 * 1. detection by adaptive replication: RUNS simulated runs of the real
 *    AdaptiveReplication policy against a cheating worker (seeded, so a run
 *    is reproducible): a worker cheating on every task, and one cheating on
 *    10 %, each checked at p = 0.1 — bars: caught within 50 and 500 tasks in
 *    ≥ 99 % of runs; beside them, the same 10 % cheater against the default
 *    floor pMin = 0.05 after long trust (what the defaults give today);
 *    The same two bars through the real coordinator code: JobRun with its
 *    replica checks and adaptive replication, simulated workers
 *    (bench/verify-detect.ts), BENCH_COORDINATOR_RUNS runs (200);
 * 2. comparator calibration with the embedded engine (wink-nlp vectors):
 *    cosines of honest pairs (a second engine's vectors: the same with float32
 *    rounding and noise; a second model's answers: paraphrases) against the
 *    cheats the comparators must catch (random vectors, another chunk's
 *    vector; a canned answer, the answer to another question) — the
 *    thresholds in src/verify/constants.ts must sit between them.
 * 3. DECIDE latency over real gossip, quorum and etcd backends side by side
 *    (bench/verify-decide.ts) — bar p95 < 2 s.
 * 4. verification overhead: CPU of replica runs and compares per CPU of the
 *    useful work, through the JobRun on the embedded engine
 *    (bench/verify-overhead.ts) — bars ≤ 0.25 at steady state (replicas
 *    compared by the coordinator, and K = 3 and 5 verifiers in quorum
 *    mode), ≤ 1.0 in bootstrap mode;
 * 5. false flags on honest workers across two engines, through the real
 *    comparators (bench/verify-false-flags.ts) — bar ≤ 0.1 % of checks.
 *
 * Run: PATH=$PWD/node_modules/.bin:$PATH node bench/verify.bench.ts
 * (BENCH_RUNS=n detection runs; BENCH_ROUNDS=n decide rounds per backend;
 * BENCH_OVERHEAD_TASKS=n subtasks per overhead case;
 * BENCH_FALSE_FLAG_CHECKS=n embedding checks)
 */
import { rmSync } from 'node:fs'
import { WinkEngine } from '../src/providers/index.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { AdaptiveReplication, COMPARE_DEFAULTS } from '../src/verify/index.ts'
import { tempDir } from '../test/harness/temp.ts'
import { median, percentile, report, round, seeded, type BenchRow } from './lib.ts'
import { ANSWERS } from './verify-corpus.ts'
import { decideLatency } from './verify-decide.ts'
import { caughtAfter } from './verify-detect.ts'
import { verificationOverhead } from './verify-overhead.ts'
import { falseFlags } from './verify-false-flags.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 1000)
const rows: BenchRow[] = []


/**
 * Tasks until a worker that cheats on a share `cheatRate` of its tasks is
 * caught (undefined: not within `limit`), after `trustedFor` valid checks.
 */
function tasksUntilCaught (seed: number, cheatRate: number, pMin: number, trustedFor: number, limit: number): number | undefined {
  const random = seeded(seed)
  const policy = new AdaptiveReplication({ pMin, random })
  for (let i = 0; i < trustedFor; i++) policy.record('w', 't', true)
  for (let task = 1; task <= limit; task++) {
    const cheats = random() < cheatRate
    if (!policy.shouldCheck('w', 't')) continue
    if (cheats) return task
    policy.record('w', 't', true)
  }
  return undefined
}

function detection (name: string, cheatRate: number, pMin: number, trustedFor: number, within: number, bar: boolean): void {
  const caught: number[] = []
  for (let run = 0; run < RUNS; run++) {
    const t = tasksUntilCaught(run + 1, cheatRate, pMin, trustedFor, within)
    if (t !== undefined) caught.push(t)
  }
  const share = 100 * caught.length / RUNS
  rows.push({
    metric: name,
    value: share,
    unit: '% of runs',
    target: bar ? '≥ 99 %' : 'info',
    pass: !bar || share >= 99,
    detail: `${RUNS} runs; caught after a median ${median(caught)} tasks (p95 ${percentile(caught, 95)}); pMin ${pMin}, trusted for ${trustedFor} checks first`
  })
}

function cosine (x: ArrayLike<number>, y: ArrayLike<number>): number {
  let dot = 0; let nx = 0; let ny = 0
  for (let i = 0; i < x.length; i++) {
    dot += (x[i] as number) * (y[i] as number)
    nx += (x[i] as number) ** 2
    ny += (y[i] as number) ** 2
  }
  return nx === 0 || ny === 0 ? 0 : dot / Math.sqrt(nx * ny)
}

/** A gaussian sample (Box–Muller) from a uniform source. */
function gaussian (random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

function spread (values: number[]): string {
  return `min ${round(Math.min(...values), 4)}, p5 ${round(percentile(values, 5), 4)}, median ${round(median(values), 4)}, p95 ${round(percentile(values, 95), 4)}, max ${round(Math.max(...values), 4)} (${values.length} pairs)`
}

/** The same detection, through the real JobRun with simulated workers (bench/verify-detect.ts). */
async function detectionThroughCoordinator (name: string, cheatRate: number, within: number, runs: number): Promise<void> {
  const caught: number[] = []
  for (let run = 0; run < runs; run++) {
    const t = await caughtAfter(seeded(10_000 + run), cheatRate, within)
    if (t !== undefined) caught.push(t)
  }
  const share = 100 * caught.length / runs
  rows.push({ metric: name, value: share, unit: '% of runs', target: '≥ 99 %', pass: share >= 99, detail: `${runs} runs of the JobRun with simulated workers; caught after a median ${median(caught)} tasks (p95 ${percentile(caught, 95)}); pMin 0.1, the cheat trusted first` })
}

/** Verification's CPU cost against the useful work's, on the embedded engine (bench/verify-overhead.ts). */
async function overheadRows (tasks: number): Promise<BenchRow[]> {
  const dir = tempDir('agora-verify-bench-')
  const engine = new WinkEngine({ logger: silentLogger() }, { cacheDir: dir })
  try {
    const sentences = ANSWERS.flatMap(a => [a.answer, a.paraphrase])
    // each subtask embeds eight sentences, a different set each time
    const texts = Array.from({ length: tasks }, (_, i) => [0, 1, 2, 3, 4, 5, 6, 7].map(k => `${sentences[(i + k * 7) % sentences.length] ?? ''} (${i})`))
    return await verificationOverhead(engine, texts)
  } finally {
    await engine.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function calibration (): Promise<void> {
  const dir = tempDir('agora-verify-bench-')
  const engine = new WinkEngine({ logger: silentLogger() }, { cacheDir: dir })
  try {
    const texts = ANSWERS.flatMap(a => [a.answer, a.paraphrase])
    const { vectors } = await engine.embed(texts)
    const random = seeded(7)
    // embeddings: a second engine returns the same vectors through float32 with noise
    const noisy = (v: ArrayLike<number>, sigma: number): number[] => Array.from(v, x => Math.fround(x + sigma * gaussian(random)))
    const honest = vectors.map(v => cosine(v, noisy(v, 1e-3)))
    const rough = vectors.map(v => cosine(v, noisy(v, 1e-2)))
    const randomVectors = vectors.map(v => cosine(v, Array.from(v, () => gaussian(random))))
    const others = vectors.map((v, i) => cosine(v, vectors[(i + 2) % vectors.length] as ArrayLike<number>))
    const tau = COMPARE_DEFAULTS.embedCosine
    rows.push({ metric: 'embedding: honest pairs (float32, noise σ 0.001), cosine', value: Math.min(...honest), unit: 'min', target: `≥ τ ${tau}`, pass: Math.min(...honest) >= tau, detail: spread(honest) })
    rows.push({ metric: 'embedding: noisier engine (σ 0.01), cosine', value: Math.min(...rough), unit: 'min', target: 'info', pass: true, detail: spread(rough) })
    rows.push({ metric: 'embedding: another chunk\'s vector (cheat), cosine', value: Math.max(...others), unit: 'max', target: `< τ ${tau}`, pass: Math.max(...others) < tau, detail: spread(others) })
    rows.push({ metric: 'embedding: random vectors (cheat), cosine', value: Math.max(...randomVectors), unit: 'max', target: `< τ ${tau}`, pass: Math.max(...randomVectors) < tau, detail: spread(randomVectors) })
    // text: sentence vectors of two models' answers (paraphrases) against a canned answer and another question's answer
    const { vectors: canned } = await engine.embed(['I am sorry, but I cannot help with that request right now.'])
    const paraphrases = ANSWERS.map((_, i) => cosine(vectors[2 * i] as ArrayLike<number>, vectors[2 * i + 1] as ArrayLike<number>))
    const cannedPairs = ANSWERS.map((_, i) => cosine(vectors[2 * i] as ArrayLike<number>, canned[0] as ArrayLike<number>))
    const wrongQuestion = ANSWERS.map((_, i) => cosine(vectors[2 * i] as ArrayLike<number>, vectors[(2 * i + 3) % vectors.length] as ArrayLike<number>))
    const textTau = COMPARE_DEFAULTS.textCosine
    rows.push({ metric: 'text: two answers to one question (paraphrases), cosine', value: percentile(paraphrases, 5), unit: 'p5', target: `≥ τ ${textTau}`, pass: percentile(paraphrases, 5) >= textTau, detail: spread(paraphrases) })
    rows.push({ metric: 'text: a canned answer (cheat), cosine', value: percentile(cannedPairs, 95), unit: 'p95', target: `< τ ${textTau}`, pass: percentile(cannedPairs, 95) < textTau, detail: spread(cannedPairs) })
    rows.push({ metric: 'text: another question\'s answer (cheat), cosine', value: percentile(wrongQuestion, 95), unit: 'p95', target: 'info', pass: true, detail: spread(wrongQuestion) })
    rows.push(await falseFlags(engine, Number(process.env.BENCH_FALSE_FLAG_CHECKS ?? 5000), seeded(99)))
  } finally {
    await engine.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const started = performance.now()
detection('always cheating, p = 0.1: caught within 50 tasks', 1, 0.1, 10, 50, true)
detection('cheating on 10 % of tasks, p = 0.1: caught within 500 tasks', 0.1, 0.1, 10, 500, true)
detection('cheating on 10 %, default floor pMin 0.05 after 1000 checks: within 500', 0.1, 0.05, 1000, 500, false)
const coordinatorRuns = Number(process.env.BENCH_COORDINATOR_RUNS ?? 200)
await detectionThroughCoordinator('coordinator: always cheating, p = 0.1, caught within 50 tasks', 1, 50, coordinatorRuns)
await detectionThroughCoordinator('coordinator: cheating on 10 %, p = 0.1, caught within 500 tasks', 0.1, 500, coordinatorRuns)
await calibration()
rows.push(...await decideLatency(Number(process.env.BENCH_ROUNDS ?? 50)))
rows.push(...await overheadRows(Number(process.env.BENCH_OVERHEAD_TASKS ?? 600)))
report('verify', rows, { runs: RUNS, seconds: round((performance.now() - started) / 1000) })
