/**
 * Marking the receipts of a proof in a few statements instead of one per
 * receipt: `UPDATE … WHERE id IN (?, …)` in chunks of fixed sizes, so only a
 * handful of distinct statements are ever prepared (and cached).
 */
const CHUNKS = [64, 16, 4, 1] as const

/** Split `ids` into chunks of the fixed sizes, largest first; `run(sizeOfChunk, chunk)` for each. */
export function inChunks (ids: readonly string[], run: (size: number, chunk: string[]) => void): void {
  let at = 0
  for (const size of CHUNKS) {
    while (ids.length - at >= size) {
      run(size, ids.slice(at, at + size))
      at += size
    }
  }
}

/** `?, ?, …` for an IN list of `size`. */
export function placeholders (size: number): string {
  return Array.from({ length: size }, () => '?').join(', ')
}
