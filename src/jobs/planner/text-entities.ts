/**
 * `text.entities` as a job: chunk the document, find entities in
 * `chunksPerSubtask` chunks per subtask, and merge them sorted by position,
 * an entity found twice in overlapping chunks kept once.
 */
import { z } from 'zod'
import { textEntitiesExecutor, type DocumentEntity, type TextEntitiesOutput } from '../executors/index.ts'
import { definePlanner, partialMark, readResults } from './common.ts'
import { chunkingShape, chunksPerSubtaskSchema, OVERLAP_BELOW_CHUNK, planChunkFanOut } from './fan-out.ts'
import { PLANNER_DEFAULTS } from './constants.ts'

export const textEntitiesJobParams = z.strictObject({
  ...chunkingShape(PLANNER_DEFAULTS.overlapChars),
  chunksPerSubtask: chunksPerSubtaskSchema
}).refine(OVERLAP_BELOW_CHUNK.check, OVERLAP_BELOW_CHUNK.error)

/**
 * Entities sorted by start (longer first), without repeats: an entity is
 * dropped when one of the same type already kept covers its span (the same
 * entity seen by two overlapping chunks, or cut short at a chunk's edge).
 */
export function mergeEntities (entities: readonly DocumentEntity[]): DocumentEntity[] {
  const sorted = [...entities].sort((a, b) => a.start - b.start || b.end - a.end || a.type.localeCompare(b.type))
  const kept: DocumentEntity[] = []
  /** Furthest end kept so far, per type. */
  const reach = new Map<string, number>()
  for (const e of sorted) {
    if ((reach.get(e.type) ?? -1) >= e.end) continue
    kept.push(e)
    reach.set(e.type, e.end)
  }
  return kept
}

export const textEntitiesPlanner = definePlanner({
  type: textEntitiesExecutor.type,
  description: 'Chunk a document and find its named entities (dates, numbers, money, emails, URLs, …); result: the entities in order',
  params: textEntitiesJobParams,
  taskTypes: () => [textEntitiesExecutor.type],
  models: () => [],
  async plan (input, params, tools) {
    return await planChunkFanOut(input, { ...params, type: textEntitiesExecutor.type, prefix: 'entities', subtaskParams: {} }, tools)
  },
  aggregate (results, _params, partial) {
    const { rows, missing } = readResults<TextEntitiesOutput>(results, partial)
    const entities = mergeEntities(rows.flatMap(r => r.result?.chunks.flatMap(c => c.entities) ?? []))
    return { entities, ...partialMark(partial, missing) }
  }
})
