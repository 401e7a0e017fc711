/**
 * `text.chunk` as a job: one subtask chunks the whole document (a document
 * longer than the engine takes in one call is cut into pieces first, one
 * subtask each, offsets moved back into the document's coordinates).
 */
import { z } from 'zod'
import { textChunkExecutor, type TextChunkOutput } from '../executors/index.ts'
import { definePlanner, partialMark, readResults, requireText, segments, subtaskId } from './common.ts'
import { chunkingShape, OVERLAP_BELOW_CHUNK } from './fan-out.ts'
import { PLANNER_DEFAULTS, PLANNER_LIMITS } from './constants.ts'

export const textChunkJobParams = z.strictObject({
  ...chunkingShape(PLANNER_DEFAULTS.overlapChars)
}).refine(OVERLAP_BELOW_CHUNK.check, OVERLAP_BELOW_CHUNK.error)

export const textChunkPlanner = definePlanner({
  type: textChunkExecutor.type,
  description: 'Sentence-aware chunks of a document; result: their offsets',
  params: textChunkJobParams,
  taskTypes: () => [textChunkExecutor.type],
  models: () => [],
  async plan (input, params) {
    const text = requireText(textChunkExecutor.type, input)
    return segments(text, PLANNER_LIMITS.segmentChars).map((segment, i) => ({
      id: subtaskId('chunk', i),
      type: textChunkExecutor.type,
      params: { chunkChars: params.chunkChars, overlapChars: params.overlapChars, offset: segment.start },
      input: { text: segment.text },
      deps: []
    }))
  },
  aggregate (results, _params, partial) {
    const { rows, missing } = readResults<TextChunkOutput>(results, partial)
    return { chunks: rows.flatMap(r => r.result?.chunks ?? []), ...partialMark(partial, missing) }
  }
})
