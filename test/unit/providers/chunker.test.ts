import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { chunkUnits, packChunks, type Span } from '../../../src/providers/wink/chunker.ts'

/** Sentences and tokens of a text split on '. ' and spaces (a stand-in for wink-nlp). */
function spans (text: string): { sentences: Span[], tokens: Span[] } {
  const tokens: Span[] = []
  for (const m of text.matchAll(/\S+/g)) tokens.push({ start: m.index, end: m.index + m[0].length })
  const sentences: Span[] = []
  let start: number | undefined
  for (const token of tokens) {
    start ??= token.start
    if (text[token.end - 1] === '.') { sentences.push({ start, end: token.end }); start = undefined }
  }
  if (start !== undefined) sentences.push({ start, end: (tokens.at(-1) as Span).end })
  return { sentences, tokens }
}

function check (text: string, chunks: Span[], targetChars: number, overlapChars: number): void {
  for (const c of chunks) assert.ok(c.end - c.start <= targetChars && c.end > c.start, `chunk ${JSON.stringify(c)} longer than ${targetChars}`)
  for (let i = 1; i < chunks.length; i++) {
    const prev = chunks[i - 1] as Span
    const cur = chunks[i] as Span
    assert.ok(cur.start > prev.start, 'chunks move forward')
    assert.ok(prev.end - cur.start <= overlapChars, `overlap ${prev.end - cur.start} > ${overlapChars}`)
  }
  // every non-space character is in some chunk
  for (let i = 0; i < text.length; i++) {
    if (/\s/.test(text[i] as string)) continue
    assert.ok(chunks.some(c => c.start <= i && i < c.end), `character ${i} not covered`)
  }
}

describe('chunker', () => {
  const text = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} says ${'word '.repeat(i % 7)}here.`).join(' ')
  const { sentences, tokens } = spans(text)

  test('whole sentences per chunk within the target, sentence-aligned overlap', () => {
    for (const [targetChars, overlapChars] of [[120, 0], [120, 40], [200, 100], [60, 59], [10_000, 500]] as const) {
      const chunks = packChunks(chunkUnits(text, sentences, tokens, targetChars), { targetChars, overlapChars })
      check(text, chunks, targetChars, overlapChars)
      const starts = new Set(sentences.map(s => s.start))
      const ends = new Set(sentences.map(s => s.end))
      for (const c of chunks) assert.ok(starts.has(c.start) && ends.has(c.end), `chunk ${JSON.stringify(c)} cuts a sentence`)
    }
    const one = packChunks(chunkUnits(text, sentences, tokens, 10_000), { targetChars: 10_000, overlapChars: 0 })
    assert.deepEqual(one, [{ start: 0, end: text.length }])
  })

  test('overlap repeats the last sentences of the previous chunk', () => {
    const chunks = packChunks(chunkUnits(text, sentences, tokens, 150), { targetChars: 150, overlapChars: 80 })
    const overlapping = chunks.slice(1).filter((c, i) => c.start < (chunks[i] as Span).end)
    assert.ok(overlapping.length > 0, 'some chunks overlap')
  })

  test('a sentence longer than the target is split at token boundaries; a huge token is cut', () => {
    const long = `${'alpha '.repeat(40)}end. ${'x'.repeat(95)} tail.`
    const s = spans(long)
    const units = chunkUnits(long, s.sentences, s.tokens, 30)
    for (const u of units) assert.ok(u.end - u.start <= 30)
    const chunks = packChunks(units, { targetChars: 30, overlapChars: 10 })
    check(long, chunks, 30, 10)
    const wordStarts = new Set(s.tokens.map(t => t.start))
    assert.ok(chunks.filter(c => c.end <= 240).every(c => wordStarts.has(c.start)), 'split pieces start at tokens')
  })

  test('never cuts inside a surrogate pair', () => {
    const emoji = '😀'.repeat(20) // 40 UTF-16 units in one token
    const s = spans(emoji)
    const units = chunkUnits(emoji, s.sentences, s.tokens, 7)
    for (const u of units) {
      assert.ok(u.end - u.start <= 7)
      const piece = emoji.slice(u.start, u.end)
      assert.ok(!/[\ud800-\udbff]$/.test(piece) && !/^[\udc00-\udfff]/.test(piece), 'no lone surrogate')
    }
    assert.equal(units.map(u => emoji.slice(u.start, u.end)).join(''), emoji)
  })

  test('nothing in, nothing out', () => {
    assert.deepEqual(packChunks([], { targetChars: 10, overlapChars: 0 }), [])
  })
})
