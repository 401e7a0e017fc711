/**
 * The word-vector table in its compact form: no JS string per word. Words
 * live in one UTF-8 buffer with offsets; an open-addressing hash table of
 * typed arrays (FNV-1a, linear probing) maps a word to its row; each row is
 * `dims` int8 values with one float32 scale (value ≈ q × scale). 341k words ×
 * 100 dims take ~44 MB this way instead of ~1.1 GB as parsed JSON.
 */

export interface TableSections {
  dims: number
  /** Rows (words). */
  count: number
  /** `count + 1` byte offsets into `words`; word i is `words[offsets[i]..offsets[i+1])`. */
  offsets: Uint32Array
  /** Every word, UTF-8, back to back. */
  words: Uint8Array
  /** Per-row scale: value = int8 × scale. */
  scales: Float32Array
  /** `count × dims` quantised values. */
  vectors: Int8Array
  /** Power-of-two slots holding row + 1 (0 = empty). */
  hash: Uint32Array
  /** Longest word in bytes (longer lookups miss without hashing). */
  maxWordBytes: number
}

export interface MeanVector {
  /** L2-normalised mean of the known words' vectors; all zeros when none was known. */
  vector: Float32Array
  /** How many of the words had a vector. */
  known: number
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** 32-bit FNV-1a over `bytes[start..end)`. */
export function fnv1a (bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET
  for (let i = start; i < end; i++) {
    h ^= bytes[i] as number
    h = Math.imul(h, FNV_PRIME)
  }
  return h >>> 0
}

/** Slots for `count` words: a power of two at least twice the count (load ≤ 0.5). */
export function hashSlotsFor (count: number): number {
  let slots = 1024
  while (slots < count * 2) slots *= 2
  return slots
}

/** Builds the hash table; a word seen twice keeps its first row. */
export function buildHash (offsets: Uint32Array, words: Uint8Array, count: number): Uint32Array {
  const hash = new Uint32Array(hashSlotsFor(count))
  const mask = hash.length - 1
  for (let row = 0; row < count; row++) {
    const start = offsets[row] as number
    const end = offsets[row + 1] as number
    let slot = fnv1a(words, start, end) & mask
    let duplicate = false
    for (;;) {
      const entry = hash[slot] as number
      if (entry === 0) break
      if (sameBytes(words, offsets[entry - 1] as number, offsets[entry] as number, words, start, end)) { duplicate = true; break }
      slot = (slot + 1) & mask
    }
    if (!duplicate) hash[slot] = row + 1
  }
  return hash
}

/** Quantises one row in place into `out` (int8) and returns its scale. */
export function quantiseRow (values: ArrayLike<number>, dims: number, out: Int8Array, outOffset: number): number {
  let maxAbs = 0
  for (let d = 0; d < dims; d++) maxAbs = Math.max(maxAbs, Math.abs(values[d] as number))
  if (maxAbs === 0) return 0
  const scale = maxAbs / 127
  for (let d = 0; d < dims; d++) {
    const q = Math.round((values[d] as number) / scale)
    out[outOffset + d] = q > 127 ? 127 : q < -127 ? -127 : q
  }
  return Math.fround(scale)
}

function sameBytes (a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false
  for (let i = 0; i < aEnd - aStart; i++) if (a[aStart + i] !== b[bStart + i]) return false
  return true
}

export class EmbeddingTable {
  readonly dims: number
  readonly size: number
  private readonly sections: TableSections
  private readonly mask: number
  private readonly encoder = new TextEncoder()
  private readonly scratch: Uint8Array

  constructor (sections: TableSections) {
    this.sections = sections
    this.dims = sections.dims
    this.size = sections.count
    this.mask = sections.hash.length - 1
    this.scratch = new Uint8Array(Math.max(16, sections.maxWordBytes + 4))
  }

  /** Bytes the table holds (what it adds to RSS). */
  get byteLength (): number {
    const s = this.sections
    return s.offsets.byteLength + s.words.byteLength + s.scales.byteLength + s.vectors.byteLength + s.hash.byteLength
  }

  /** Row of `word` (exact bytes; callers lower-case first), or -1. */
  indexOf (word: string): number {
    const { read, written } = this.encoder.encodeInto(word, this.scratch)
    if (read < word.length || written > this.sections.maxWordBytes) return -1
    const { hash, offsets, words } = this.sections
    let slot = fnv1a(this.scratch, 0, written) & this.mask
    for (;;) {
      const entry = hash[slot] as number
      if (entry === 0) return -1
      if (sameBytes(words, offsets[entry - 1] as number, offsets[entry] as number, this.scratch, 0, written)) return entry - 1
      slot = (slot + 1) & this.mask
    }
  }

  /** The word at `row`. */
  wordAt (row: number): string {
    const { offsets, words } = this.sections
    return new TextDecoder().decode(words.subarray(offsets[row], offsets[row + 1]))
  }

  /** De-quantised vector of `word` (as stored: not normalised), or undefined. */
  vectorOf (word: string): Float32Array | undefined {
    const row = this.indexOf(word)
    if (row < 0) return undefined
    const out = new Float32Array(this.dims)
    this.addRow(row, out)
    return out
  }

  /**
   * Mean of the vectors of `words` (each looked up lower-cased; unknown words
   * skipped), L2-normalised, written into `out` (or a new array). All zeros
   * when no word is known: the package's unkVector is all zeros too.
   */
  mean (words: Iterable<string>, out: Float32Array = new Float32Array(this.dims)): MeanVector {
    const sum = new Float64Array(this.dims)
    let known = 0
    for (const word of words) {
      const row = this.indexOf(word.toLowerCase())
      if (row < 0) continue
      known++
      this.addRow(row, sum)
    }
    let norm = 0
    for (let d = 0; d < this.dims; d++) norm += (sum[d] as number) ** 2
    norm = Math.sqrt(norm)
    for (let d = 0; d < this.dims; d++) out[d] = norm === 0 ? 0 : (sum[d] as number) / norm
    return { vector: out, known }
  }

  private addRow (row: number, into: Float64Array | Float32Array): void {
    const { vectors, scales } = this.sections
    const scale = scales[row] as number
    const base = row * this.dims
    for (let d = 0; d < this.dims; d++) into[d] = (into[d] as number) + (vectors[base + d] as number) * scale
  }
}
