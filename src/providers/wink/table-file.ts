/**
 * The cache file of the embedding table (`wink-embed-100d.v1.bin`): a 64-byte
 * header, then the sections back to back, 4-byte aligned, little-endian:
 *
 *   0  magic "AGWEMB\0\0"      8 u32 format version   12 u32 dims
 *  16 u32 count                20 u32 hash slots      24 u32 word bytes
 *  28 u32 quantisation (1 = int8 + per-row f32 scale) 32 f64 source size
 *  40 u32 CRC-32 of the source's first MiB            44 u32 CRC-32 of the payload
 *  48 f64 file size            56 u32 longest word (bytes)   60 u32 reserved
 *  64 offsets u32[count+1] · scales f32[count] · hash u32[slots] · vectors i8[count×dims] (padded to 4) · words u8[…]
 *
 * A file whose size, CRC, version or source stamp does not match is reported
 * invalid (the caller rebuilds it). Writes go to a unique temp file, then
 * rename, so a reader never sees half a file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { crc32 } from 'node:zlib'
import type { TableSections } from './embedding-table.ts'

export const TABLE_FORMAT_VERSION = 1
const MAGIC = Buffer.from('AGWEMB\0\0', 'latin1')
const HEADER_BYTES = 64
const QUANT_INT8_ROW_SCALE = 1
const SOURCE_HEAD_BYTES = 1024 * 1024

/** Identifies the JSON a table was converted from, cheaply: size + CRC of its first MiB. */
export interface SourceStamp {
  size: number
  headCrc: number
}

export type TableFileResult =
  | { ok: true, sections: TableSections, bytes: number }
  | { ok: false, reason: string }

export function sourceStamp (jsonPath: string): SourceStamp {
  const size = statSync(jsonPath).size
  const fd = openSync(jsonPath, 'r')
  try {
    const head = Buffer.allocUnsafe(Math.min(size, SOURCE_HEAD_BYTES))
    const read = readSync(fd, head, 0, head.length, 0)
    return { size, headCrc: crc32(head.subarray(0, read)) }
  } finally {
    closeSync(fd)
  }
}

function layout (count: number, dims: number, slots: number, wordBytes: number): { offsets: number, scales: number, hash: number, vectors: number, words: number, end: number } {
  const offsets = HEADER_BYTES
  const scales = offsets + (count + 1) * 4
  const hash = scales + count * 4
  const vectors = hash + slots * 4
  const words = vectors + Math.ceil((count * dims) / 4) * 4
  return { offsets, scales, hash, vectors, words, end: words + wordBytes }
}

function sectionBytes (sections: TableSections): Uint8Array[] {
  const { offsets, scales, hash, vectors, words, count, dims } = sections
  const view = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  const padding = new Uint8Array(Math.ceil((count * dims) / 4) * 4 - count * dims)
  return [view(offsets), view(scales), view(hash), view(vectors), padding, view(words)]
}

/** Writes `sections` to `path` atomically (temp file + fsync + rename). */
export function writeTableFile (path: string, sections: TableSections, source: SourceStamp): number {
  const parts = sectionBytes(sections)
  const at = layout(sections.count, sections.dims, sections.hash.length, sections.words.byteLength)
  let payloadCrc = 0
  for (const part of parts) payloadCrc = crc32(part, payloadCrc)
  const header = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(header, 0)
  header.writeUInt32LE(TABLE_FORMAT_VERSION, 8)
  header.writeUInt32LE(sections.dims, 12)
  header.writeUInt32LE(sections.count, 16)
  header.writeUInt32LE(sections.hash.length, 20)
  header.writeUInt32LE(sections.words.byteLength, 24)
  header.writeUInt32LE(QUANT_INT8_ROW_SCALE, 28)
  header.writeDoubleLE(source.size, 32)
  header.writeUInt32LE(source.headCrc, 40)
  header.writeUInt32LE(payloadCrc, 44)
  header.writeDoubleLE(at.end, 48)
  header.writeUInt32LE(sections.maxWordBytes, 56)

  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  const fd = openSync(temp, 'w', 0o644)
  try {
    writeSync(fd, header)
    for (const part of parts) {
      let written = 0
      while (written < part.byteLength) written += writeSync(fd, part, written)
    }
    fsyncSync(fd)
  } catch (err) {
    closeSync(fd)
    rmSync(temp, { force: true })
    throw err
  }
  closeSync(fd)
  try {
    renameSync(temp, path)
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
  return at.end
}

/**
 * Reads and checks a table file. `expected` (the current source's stamp) makes
 * a table converted from another package version invalid; without it (no
 * source installed) any intact table is accepted.
 */
export function readTableFile (path: string, expected?: SourceStamp): TableFileResult {
  let file: Buffer
  try {
    file = readFileSync(path)
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache file yet' : `unreadable: ${(err as Error).message}` }
  }
  if (file.byteLength < HEADER_BYTES) return { ok: false, reason: `truncated: ${file.byteLength} bytes, shorter than the header` }
  if (!file.subarray(0, 8).equals(MAGIC)) return { ok: false, reason: 'not an agora embedding table (bad magic)' }
  const version = file.readUInt32LE(8)
  if (version !== TABLE_FORMAT_VERSION) return { ok: false, reason: `format version ${version}, expected ${TABLE_FORMAT_VERSION}` }
  const dims = file.readUInt32LE(12)
  const count = file.readUInt32LE(16)
  const slots = file.readUInt32LE(20)
  const wordBytes = file.readUInt32LE(24)
  if (file.readUInt32LE(28) !== QUANT_INT8_ROW_SCALE) return { ok: false, reason: 'unknown quantisation' }
  const at = layout(count, dims, slots, wordBytes)
  const size = file.readDoubleLE(48)
  if (size !== at.end || file.byteLength !== size) return { ok: false, reason: `truncated or padded: ${file.byteLength} bytes, expected ${at.end}` }
  if (slots === 0 || (slots & (slots - 1)) !== 0 || slots < count) return { ok: false, reason: 'bad hash table size' }
  if (crc32(file.subarray(HEADER_BYTES)) !== file.readUInt32LE(44)) return { ok: false, reason: 'checksum mismatch (corrupt file)' }
  if (expected !== undefined && (file.readDoubleLE(32) !== expected.size || file.readUInt32LE(40) !== expected.headCrc)) {
    return { ok: false, reason: 'converted from another version of the embeddings package' }
  }
  // typed-array views need aligned offsets; a large readFileSync buffer starts at 0, but copy if not
  const bytes = file.byteOffset % 8 === 0 ? file : new Uint8Array(file)
  const base = bytes.byteOffset
  const buffer = bytes.buffer
  const sections: TableSections = {
    dims,
    count,
    offsets: new Uint32Array(buffer, base + at.offsets, count + 1),
    scales: new Float32Array(buffer, base + at.scales, count),
    hash: new Uint32Array(buffer, base + at.hash, slots),
    vectors: new Int8Array(buffer, base + at.vectors, count * dims),
    words: new Uint8Array(buffer, base + at.words, wordBytes),
    maxWordBytes: file.readUInt32LE(56)
  }
  if (sections.offsets[count] !== wordBytes) return { ok: false, reason: 'word offsets do not match the word section' }
  return { ok: true, sections, bytes: size }
}
