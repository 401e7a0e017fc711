/**
 * Sentence-aware chunking as pure functions over character spans, so the
 * rules can be tested without the NLP model:
 *  1. units: each sentence is a unit; a sentence longer than the target is
 *     split at token boundaries, and a token longer than the target is cut
 *     (never inside a surrogate pair);
 *  2. packing: a chunk takes whole units while it stays within
 *     `targetChars`; the next chunk starts with the last whole units of the
 *     previous one that fit in `overlapChars` (and still leave room for a
 *     new unit), so overlap is sentence-aligned and never exceeds the limit.
 * Spans are [start, end) in UTF-16 code units of the original text.
 */

export interface Span {
  start: number
  end: number
}

export interface ChunkLimits {
  /** Longest chunk, in characters (UTF-16 code units). */
  targetChars: number
  /** Most characters two neighbouring chunks share. */
  overlapChars: number
}

/** Splits `sentences` into units no longer than `targetChars`, using `tokens` (sorted) as cut points. */
export function chunkUnits (text: string, sentences: readonly Span[], tokens: readonly Span[], targetChars: number): Span[] {
  const units: Span[] = []
  let t = 0
  for (const sentence of sentences) {
    if (sentence.end - sentence.start <= targetChars) {
      units.push(sentence)
      continue
    }
    while (t < tokens.length && (tokens[t] as Span).end <= sentence.start) t++
    let piece: Span | undefined
    for (; t < tokens.length && (tokens[t] as Span).start < sentence.end; t++) {
      const token = tokens[t] as Span
      if (token.end - token.start > targetChars) {
        if (piece !== undefined) units.push(piece)
        piece = undefined
        units.push(...cutSpan(text, token, targetChars))
      } else if (piece !== undefined && token.end - piece.start <= targetChars) {
        piece = { start: piece.start, end: token.end }
      } else {
        if (piece !== undefined) units.push(piece)
        piece = { start: token.start, end: token.end }
      }
    }
    if (piece !== undefined) units.push(piece)
  }
  return units
}

/** Cuts a span into pieces of at most `size` characters, not splitting surrogate pairs. */
function cutSpan (text: string, span: Span, size: number): Span[] {
  const pieces: Span[] = []
  let start = span.start
  while (start < span.end) {
    let end = Math.min(span.end, start + size)
    if (end < span.end && end - start > 1 && isHighSurrogate(text.charCodeAt(end - 1))) end--
    pieces.push({ start, end })
    start = end
  }
  return pieces
}

function isHighSurrogate (code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

/** Packs units into chunks (see the module comment). Units must be sorted and each within the target. */
export function packChunks (units: readonly Span[], limits: ChunkLimits): Span[] {
  const { targetChars, overlapChars } = limits
  const chunks: Span[] = []
  let i = 0
  while (i < units.length) {
    const first = units[i] as Span
    let j = i
    while (j + 1 < units.length && (units[j + 1] as Span).end - first.start <= targetChars) j++
    chunks.push({ start: first.start, end: (units[j] as Span).end })
    if (j === units.length - 1) break
    const last = units[j] as Span
    const next = units[j + 1] as Span
    let k = j + 1
    for (let m = i + 1; m <= j; m++) {
      const from = (units[m] as Span).start
      if (last.end - from <= overlapChars && next.end - from <= targetChars) { k = m; break }
    }
    i = k
  }
  return chunks
}
