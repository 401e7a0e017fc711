import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WinkEngine, type TextChunk } from '../../../src/providers/index.ts'
import { readTableFile } from '../../../src/providers/wink/table-file.ts'
import { isAgoraError } from '../../../src/errors.ts'
import { silentLogger } from '../../../src/observability/logger.ts'
import { createRegistry } from '../../../src/observability/metrics.ts'
import { cosine, writeEmbeddingsFixture, type Fixture } from './wink-fixture.ts'

const TEXT = 'The quick brown fox jumps over the lazy dog. It was a sunny day in March 2024! ' +
  'Write to alice@example.org for the report, which costs $12.50 and lists 42 items.\n\n' +
  'The second paragraph starts here. It has a few more sentences. Each one is short. ' +
  'But this one is quite a bit longer than the others, because it keeps going with clause after clause, and never seems to stop until it finally does.'

describe('wink engine (worker thread, fixture embeddings)', () => {
  let dir: string
  let fixture: Fixture
  let engine: WinkEngine
  const engines: WinkEngine[] = []
  const newEngine = (init: Partial<ConstructorParameters<typeof WinkEngine>[1]> = {}): WinkEngine => {
    const e = new WinkEngine({ logger: silentLogger() }, { cacheDir: join(dir, 'models'), sourcePath: fixture.path, ...init })
    engines.push(e)
    return e
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agora-'))
    fixture = writeEmbeddingsFixture(dir)
    engine = newEngine()
  })
  after(async () => {
    await Promise.all(engines.map(e => e.close()))
    rmSync(dir, { recursive: true, force: true })
  })

  test('lazy: nothing starts before the first call', () => {
    const stats = newEngine().stats()
    assert.equal(stats.worker, false)
    assert.equal(stats.loaded, false)
    assert.equal(stats.vectorsLoaded, false)
  })

  test('embed: same text gives the same vector; unit length; batch in input order; tokens counted', async () => {
    const a = await engine.embed(['The king and the queen.'])
    const b = await engine.embed(['the KING and the Queen', 'banana', 'The king and the queen.', 'nothing known here', ''])
    assert.equal(b.vectors.length, 5)
    assert.deepEqual([...(a.vectors[0] as Float32Array)], [...(b.vectors[2] as Float32Array)], 'deterministic')
    assert.deepEqual([...(a.vectors[0] as Float32Array)], [...(b.vectors[0] as Float32Array)], 'case and punctuation do not matter')
    for (const v of b.vectors.slice(0, 3)) {
      assert.equal(v.length, 100)
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5)
    }
    assert.ok((b.vectors[3] as Float32Array).every(x => x === 0), 'no known word: zeros')
    assert.ok((b.vectors[4] as Float32Array).every(x => x === 0), 'empty text: zeros')
    assert.deepEqual(b.tokens, [5, 1, 6, 3, 0])
    const [king, queen, banana] = (await engine.embed(['king', 'queen', 'banana'])).vectors as [Float32Array, Float32Array, Float32Array]
    assert.ok(cosine(king, queen) > cosine(king, banana))
    assert.deepEqual(await engine.embed([]), { vectors: [], tokens: [] })
  })

  test('chunk: offsets map back to the text and respect target and overlap', async () => {
    for (const [targetChars, overlapChars] of [[80, 0], [120, 60], [40, 10], [10_000, 0]] as const) {
      const chunks = await engine.chunk(TEXT, { targetChars, overlapChars })
      assert.ok(chunks.length > 0)
      chunks.forEach((c: TextChunk, i) => {
        assert.equal(TEXT.slice(c.start, c.end), c.text)
        assert.ok(c.text.length <= targetChars, `${c.text.length} > ${targetChars}`)
        if (i > 0) assert.ok((chunks[i - 1] as TextChunk).end - c.start <= overlapChars)
      })
      for (let i = 0; i < TEXT.length; i++) {
        if (!/\s/.test(TEXT[i] as string)) assert.ok(chunks.some(c => c.start <= i && i < c.end), `char ${i} covered (${targetChars}/${overlapChars})`)
      }
    }
    const whole = await engine.chunk(TEXT, { targetChars: 10_000 })
    assert.equal(whole.length, 1)
    const sentences = (await engine.sentiment(TEXT)).sentences
    const starts = new Set(sentences.map(s => s.start))
    for (const c of await engine.chunk(TEXT, { targetChars: 160, overlapChars: 50 })) assert.ok(starts.has(c.start), `chunk starts at a sentence: ${c.text}`)
    assert.deepEqual(await engine.chunk('   \n ', { targetChars: 10 }), [])
  })

  test('sentiment: positive text scores above negative text; per-sentence spans', async () => {
    const good = await engine.sentiment('I love this wonderful movie. It is great and the acting is excellent!')
    const bad = await engine.sentiment('I hate this terrible movie. It is awful and boring.')
    assert.ok(good.score > 0 && bad.score < 0 && good.score > bad.score, `${good.score} vs ${bad.score}`)
    assert.equal(good.sentences.length, 2)
    assert.equal(good.sentences[0]?.start, 0)
    assert.ok((good.sentences[0]?.score as number) > 0)
    assert.deepEqual(await engine.sentiment(''), { score: 0, sentences: [] })
    const mixed = await engine.sentiment('\n\n  I love this.\n\nI hate that.')
    assert.deepEqual(mixed.sentences.map(s => [s.start, s.end, Math.sign(s.score)]), [[4, 16, 1], [18, 30, -1]])
  })

  test('entities: date, money, number and email with offsets into the text', async () => {
    const entities = await engine.entities(TEXT)
    for (const e of entities) assert.equal(TEXT.slice(e.start, e.end), e.value)
    const byType = (type: string): string[] => entities.filter(e => e.type === type).map(e => e.value)
    assert.deepEqual(byType('EMAIL'), ['alice@example.org'])
    assert.ok(byType('DATE').includes('March 2024'), JSON.stringify(entities))
    assert.ok(byType('MONEY').includes('$12.50'))
    assert.ok(byType('CARDINAL').includes('42'))
  })

  test('bad input: E702 when too large, E704 for invalid arguments', async () => {
    const small = newEngine({ maxInputChars: 100, maxBatch: 3, maxBatchChars: 150 })
    await assert.rejects(small.embed(['x'.repeat(101)]), err => isAgoraError(err, 'E702'))
    await assert.rejects(small.embed(['a', 'b', 'c', 'd']), err => isAgoraError(err, 'E702'))
    await assert.rejects(small.embed(['x'.repeat(80), 'x'.repeat(80)]), err => isAgoraError(err, 'E702'))
    await assert.rejects(small.sentiment('x'.repeat(101)), err => isAgoraError(err, 'E702'))
    await assert.rejects(small.embed([3 as unknown as string]), err => isAgoraError(err, 'E704'))
    await assert.rejects(small.chunk('text', { targetChars: 0 }), err => isAgoraError(err, 'E704'))
    await assert.rejects(small.chunk('text', { targetChars: 10, overlapChars: 10 }), err => isAgoraError(err, 'E704'))
    assert.equal(small.stats().worker, false, 'refused before reaching the worker')
  })

  test('abort: a waiting call is dropped (E703), a running one rejects at once; the engine keeps serving', async () => {
    const e = newEngine()
    const running = e.embed(['the king'])
    const controller = new AbortController()
    const queued = e.sentiment('good movie', { signal: controller.signal })
    assert.equal(e.stats().queue, 1)
    controller.abort()
    await assert.rejects(queued, err => isAgoraError(err, 'E703'))
    assert.equal(e.stats().queue, 0)
    await running
    const big = Array.from({ length: 2000 }, (_, i) => `sentence ${i} about the fox and the king`)
    const second = new AbortController()
    const cancelled = e.embed(big, { signal: second.signal })
    assert.equal(e.stats().running, 1, 'dispatched to the worker')
    second.abort()
    await assert.rejects(cancelled, err => isAgoraError(err, 'E703'))
    await assert.rejects(e.embed(['x'], { signal: AbortSignal.abort() }), err => isAgoraError(err, 'E703'))
    assert.equal((await e.embed(['queen'])).vectors.length, 1)
  })

  test('bounded queue: calls beyond maxQueue are refused with E701', async () => {
    const metrics = createRegistry({ defaultMetrics: false })
    const e = new WinkEngine({ logger: silentLogger(), metrics }, { cacheDir: join(dir, 'models'), sourcePath: fixture.path, maxQueue: 2 })
    engines.push(e)
    const accepted = [e.entities('a'), e.entities('b'), e.entities('c')] // one running, two waiting
    assert.equal(e.pending, 3)
    await assert.rejects(e.entities('d'), err => isAgoraError(err, 'E701'))
    await Promise.all(accepted)
    assert.equal(e.pending, 0)
    const text = await metrics.metrics()
    assert.match(text, /agora_wink_calls_total\{op="entities",outcome="refused"\} 1/)
    assert.match(text, /agora_wink_calls_total\{op="entities",outcome="ok"\} 3/)
  })

  test('a truncated or corrupt cache file is detected and rebuilt', async () => {
    const cacheDir = join(dir, 'rebuild')
    const first = newEngine({ cacheDir })
    await first.warmup({ vectors: true })
    assert.equal(first.stats().converted?.reason, 'no cache file yet')
    const reference = (await first.embed(['king queen']).then(r => r.vectors[0])) as Float32Array
    await first.close()
    const file = first.cacheFile
    const whole = readFileSync(file)

    writeFileSync(file, whole.subarray(0, whole.length >> 1))
    const second = newEngine({ cacheDir })
    const again = await second.embed(['king queen'])
    assert.match(second.stats().converted?.reason ?? '', /truncated/)
    assert.equal(second.stats().converted?.written, true)
    assert.deepEqual([...(again.vectors[0] as Float32Array)], [...reference])
    assert.ok(readTableFile(file).ok, 'rebuilt file is valid')

    const flipped = Buffer.from(whole)
    flipped[whole.length - 1000] = (flipped[whole.length - 1000] as number) ^ 0x55
    writeFileSync(file, flipped)
    const third = newEngine({ cacheDir })
    await third.warmup({ vectors: true })
    assert.match(third.stats().converted?.reason ?? '', /checksum/)

    const fourth = newEngine({ cacheDir })
    await fourth.warmup({ vectors: true })
    assert.equal(fourth.stats().converted, undefined, 'a valid cache is used as is')
    assert.equal(fourth.stats().vectorsLoaded, true)
  })

  test('no source and no cache: E700 with a hint', async () => {
    const e = newEngine({ cacheDir: join(dir, 'empty'), sourcePath: join(dir, 'missing.json') })
    await assert.rejects(e.embed(['king']), err => isAgoraError(err, 'E700'))
    assert.equal((await e.sentiment('fine')).sentences.length, 1, 'the rest of the engine still works')
  })

  test('close() fails waiting calls with E700 and stops the worker', async () => {
    const e = newEngine()
    await e.warmup()
    assert.equal(e.stats().worker, true)
    assert.equal(e.stats().loaded, true)
    const failed = [
      assert.rejects(e.entities('one'), err => isAgoraError(err, 'E700')), // running
      assert.rejects(e.entities('two'), err => isAgoraError(err, 'E700')) // waiting
    ]
    await e.close()
    await Promise.all(failed)
    assert.equal(e.stats().worker, false)
    await assert.rejects(e.embed(['x']), err => isAgoraError(err, 'E700'))
    await e.close()
  })

  test('disabled: every call fails with E700 and no worker starts', async () => {
    const e = newEngine({ enabled: false })
    await assert.rejects(e.embed(['king']), err => isAgoraError(err, 'E700') && /disabled/.test(err.why ?? ''))
    assert.equal(e.stats().worker, false)
  })
})
