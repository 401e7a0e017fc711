import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { convertEmbeddingsJson } from '../../../src/providers/wink/convert.ts'
import { EmbeddingTable, fnv1a } from '../../../src/providers/wink/embedding-table.ts'
import { readTableFile, sourceStamp, writeTableFile } from '../../../src/providers/wink/table-file.ts'
import { isAgoraError } from '../../../src/errors.ts'
import { cosine, writeEmbeddingsFixture, type Fixture } from './wink-fixture.ts'

describe('embedding table (compact word vectors)', () => {
  let dir: string
  let fixture: Fixture

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agora-'))
    fixture = writeEmbeddingsFixture(dir)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('converts the JSON layout: every word found, escapes and non-ASCII decoded', () => {
    const table = new EmbeddingTable(convertEmbeddingsJson(fixture.path))
    assert.equal(table.size, fixture.words.length)
    assert.equal(table.dims, 100)
    fixture.words.forEach((word, row) => {
      assert.equal(table.indexOf(word), row, word)
      assert.equal(table.wordAt(row), word)
    })
    assert.equal(table.indexOf('absent'), -1)
    assert.equal(table.indexOf(''), -1)
    assert.equal(table.indexOf('x'.repeat(10_000)), -1)
  })

  test('int8 vectors stay faithful: cosine with the original > 0.99 for every word', () => {
    const table = new EmbeddingTable(convertEmbeddingsJson(fixture.path))
    let worst = 1
    for (const [word, original] of fixture.vectors) {
      const stored = table.vectorOf(word)
      assert.ok(stored !== undefined, word)
      worst = Math.min(worst, cosine(stored, original))
    }
    assert.ok(worst > 0.99, `worst cosine ${worst}`)
    // magnitudes survive too (numbers in exponent notation included)
    const tiny = table.vectorOf('tiny') as Float32Array
    const original = fixture.vectors.get('tiny') as number[]
    assert.ok(Math.abs(Math.max(...tiny.map(Math.abs)) - Math.max(...original.map(Math.abs))) < 1e-8)
  })

  test('mean: lower-cased lookup, unknown words skipped, L2-normalised; none known gives zeros', () => {
    const table = new EmbeddingTable(convertEmbeddingsJson(fixture.path))
    const { vector, known } = table.mean(['King', 'unknownword', 'QUEEN'])
    assert.equal(known, 2)
    assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5)
    const king = table.vectorOf('king') as Float32Array
    const queen = table.vectorOf('queen') as Float32Array
    const sum = king.map((x, i) => x + (queen[i] as number))
    assert.ok(cosine(vector, sum) > 0.99999)
    const none = table.mean(['nothing', 'here'])
    assert.equal(none.known, 0)
    assert.ok(none.vector.every(x => x === 0))
  })

  test('the file round-trips and its header checks catch truncation, corruption and another source', () => {
    const sections = convertEmbeddingsJson(fixture.path)
    const file = join(dir, 'models', 'table.bin')
    const stamp = sourceStamp(fixture.path)
    const bytes = writeTableFile(file, sections, stamp)
    assert.equal(statSync(file).size, bytes)
    const read = readTableFile(file, stamp)
    assert.ok(read.ok)
    const table = new EmbeddingTable(read.sections)
    assert.deepEqual(table.vectorOf('café'), new EmbeddingTable(sections).vectorOf('café'))

    const whole = readFileSync(file)
    writeFileSync(file, whole.subarray(0, whole.length - 100))
    const truncated = readTableFile(file, stamp)
    assert.ok(!truncated.ok && /truncated/.test(truncated.reason), JSON.stringify(truncated))
    writeFileSync(file, whole.subarray(0, 10))
    assert.ok(!readTableFile(file, stamp).ok)

    const flipped = Buffer.from(whole)
    flipped[flipped.length - 500] = (flipped[flipped.length - 500] as number) ^ 0xff
    writeFileSync(file, flipped)
    const corrupt = readTableFile(file, stamp)
    assert.ok(!corrupt.ok && /checksum/.test(corrupt.reason), JSON.stringify(corrupt))

    writeFileSync(file, whole)
    const other = readTableFile(file, { size: stamp.size + 1, headCrc: stamp.headCrc })
    assert.ok(!other.ok && /another version/.test(other.reason))
    assert.ok(readTableFile(file).ok, 'without a source stamp an intact file is accepted')
    const missing = readTableFile(join(dir, 'nope.bin'))
    assert.ok(!missing.ok && /no cache file/.test(missing.reason))
  })

  test('a truncated or malformed JSON is refused with E700, not half-converted', () => {
    const json = readFileSync(fixture.path, 'utf8')
    const cut = join(dir, 'cut.json')
    writeFileSync(cut, json.slice(0, Math.floor(json.length * 0.7)))
    assert.throws(() => convertEmbeddingsJson(cut), err => isAgoraError(err, 'E700') && /truncated/.test(err.why ?? ''))
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, json.replace('"vectors":{"the":[', '"vectors":{"the":{'))
    assert.throws(() => convertEmbeddingsJson(bad), err => isAgoraError(err, 'E700'))
    const noHead = join(dir, 'nohead.json')
    writeFileSync(noHead, '{"words":[],"vectors":{}}')
    assert.throws(() => convertEmbeddingsJson(noHead), err => isAgoraError(err, 'E700'))
  })

  test('FNV-1a matches the reference values', () => {
    const bytes = new TextEncoder().encode('a')
    assert.equal(fnv1a(bytes, 0, 1), 0xe40c292c)
    assert.equal(fnv1a(bytes, 0, 0), 0x811c9dc5)
  })
})
