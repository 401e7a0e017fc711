/**
 * What the planners share: stable subtask ids, reading the job's input
 * (text or items, E1004 / E1009), chunking a document of any length at plan
 * time, fanning chunks or items out in groups, and reading results back in
 * plan order (E1008 for a result missing outside a partial aggregation).
 */
import { AgoraError } from '../../errors.ts'
import { addUsage, ZERO_USAGE } from '../executors/index.ts'
import { PLANNER_LIMITS } from './constants.ts'
import type { Usage } from '../../providers/inference.ts'
import type { TextChunk } from '../../providers/wink/types.ts'
import type { JobPlanner, PlanInput, PlanTools, SubtaskResult } from './types.ts'

/** Types the planner table infers from, without erasing them. */
export function definePlanner<P> (planner: JobPlanner<P>): JobPlanner<P> {
  return planner
}

/** `prefix-0007`: zero-padded to four digits (more digits past 9999), stable for the same plan. */
export function subtaskId (prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(4, '0')}`
}

/** The job's text, or E1009 (items given) / E1004 (blank). */
export function requireText (type: string, input: PlanInput): string {
  if (input.kind !== 'text') throw wrongKind(type, 'a text (--text or --file)', 'items')
  if (input.text.trim() === '') throw emptyInput(type, 'the text is blank')
  return input.text
}

/** The job's items, or E1009 (a text given) / E1004 (none). */
export function requireItems (type: string, input: PlanInput): unknown[] {
  if (input.kind !== 'items') throw wrongKind(type, 'items', 'a text')
  if (input.items.length === 0) throw emptyInput(type, 'no items')
  return input.items
}

/** An item as text: strings as they are, anything else as JSON. */
export function itemText (item: unknown): string {
  return typeof item === 'string' ? item : JSON.stringify(item) ?? String(item)
}

export function wrongKind (type: string, wanted: string, got: string): AgoraError {
  return new AgoraError('E1009', `${type} takes ${wanted} as input`, { why: `got ${got}`, details: { type } })
}

export function emptyInput (type: string, why: string): AgoraError {
  return new AgoraError('E1004', `${type} job has nothing to work on`, { why })
}

/** `items` in consecutive groups of `size` (the last may be shorter). */
export function groupsOf<T> (items: readonly T[], size: number): T[][] {
  const groups: T[][] = []
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size))
  return groups
}

/**
 * Sentence-aware chunks of a document of any length: pieces of at most
 * `PLANNER_LIMITS.segmentChars` (cut at the last line break, else the last
 * space, before the limit) are chunked one by one and their offsets moved
 * into the document's coordinates. E1004 when nothing comes out.
 */
export async function chunkDocument (type: string, text: string, options: { chunkChars: number, overlapChars: number }, tools: PlanTools): Promise<TextChunk[]> {
  const chunks: TextChunk[] = []
  for (const segment of segments(text, PLANNER_LIMITS.segmentChars)) {
    const got = await tools.chunk(segment.text, { targetChars: options.chunkChars, overlapChars: options.overlapChars })
    for (const c of got) chunks.push(segment.start === 0 ? c : { text: c.text, start: c.start + segment.start, end: c.end + segment.start })
  }
  if (chunks.length === 0) throw emptyInput(type, 'the text has no sentences to chunk')
  return chunks
}

/** Pieces of `text` of at most `limit` characters, cut at a line break or space where there is one. */
export function segments (text: string, limit: number): Array<{ text: string, start: number }> {
  if (text.length <= limit) return [{ text, start: 0 }]
  const out: Array<{ text: string, start: number }> = []
  let start = 0
  while (start < text.length) {
    let end = Math.min(text.length, start + limit)
    if (end < text.length) {
      const window = text.slice(start, end)
      const newline = window.lastIndexOf('\n')
      const cut = newline > limit / 2 ? newline : window.lastIndexOf(' ')
      if (cut > limit / 2) end = start + cut + 1
      else if (isHighSurrogate(text.charCodeAt(end - 1))) end--
    }
    out.push({ text: text.slice(start, end), start })
    start = end
  }
  return out
}

function isHighSurrogate (code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

/**
 * Results in plan order with their values typed, and the ids of those
 * without one; outside a partial aggregation a missing result is a bug (E1008).
 */
export function readResults<T> (results: readonly SubtaskResult[], partial: boolean): { rows: Array<{ id: string, type: string, result: T | null }>, missing: string[] } {
  const missing: string[] = []
  const rows = results.map(r => {
    if (r.result === null || r.result === undefined) {
      if (!partial) throw missingResult(r.id)
      missing.push(r.id)
      return { id: r.id, type: r.type, result: null }
    }
    return { id: r.id, type: r.type, result: r.result as T }
  })
  return { rows, missing }
}

export function missingResult (id: string): AgoraError {
  return new AgoraError('E1008', `subtask ${id} has no result`, { why: 'the plan needs it to go on' })
}

/** `{ missing }` to spread into a partial aggregate (nothing otherwise). */
export function partialMark (partial: boolean, missing: string[]): { missing?: string[] } {
  return partial ? { missing } : {}
}

/** Usage summed over the results that have some. */
export function sumUsage (usages: Iterable<Usage | undefined>): Usage {
  let total = ZERO_USAGE
  for (const usage of usages) if (usage !== undefined) total = addUsage(total, usage)
  return total
}
