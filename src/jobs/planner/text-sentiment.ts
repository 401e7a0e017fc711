/**
 * `text.sentiment` as a job: chunk the document, score `chunksPerSubtask`
 * chunks per subtask, and merge: every chunk in order and the document's
 * score, the mean of the chunks' scores weighted by their length.
 */
import { z } from 'zod'
import { textSentimentExecutor, type ChunkSentiment, type TextSentimentOutput } from '../executors/index.ts'
import { definePlanner, partialMark, readResults } from './common.ts'
import { chunkingShape, chunksPerSubtaskSchema, OVERLAP_BELOW_CHUNK, planChunkFanOut } from './fan-out.ts'
import { PLANNER_DEFAULTS } from './constants.ts'

export const textSentimentJobParams = z.strictObject({
  ...chunkingShape(PLANNER_DEFAULTS.overlapChars),
  chunksPerSubtask: chunksPerSubtaskSchema
}).refine(OVERLAP_BELOW_CHUNK.check, OVERLAP_BELOW_CHUNK.error)

/** Mean of the chunks' scores weighted by their length in characters (0 for none). */
export function weightedScore (chunks: readonly ChunkSentiment[]): number {
  let weight = 0
  let sum = 0
  for (const c of chunks) {
    const w = Math.max(1, c.end - c.start)
    weight += w
    sum += c.score * w
  }
  return weight === 0 ? 0 : sum / weight
}

export const textSentimentPlanner = definePlanner({
  type: textSentimentExecutor.type,
  description: 'Chunk a document and score the sentiment of every chunk and sentence; result: the chunks and a length-weighted score',
  params: textSentimentJobParams,
  taskTypes: () => [textSentimentExecutor.type],
  models: () => [],
  async plan (input, params, tools) {
    return await planChunkFanOut(input, { ...params, type: textSentimentExecutor.type, prefix: 'sentiment', subtaskParams: {} }, tools)
  },
  aggregate (results, _params, partial) {
    const { rows, missing } = readResults<TextSentimentOutput>(results, partial)
    const chunks = rows.flatMap(r => r.result?.chunks ?? [])
    return { chunks, score: weightedScore(chunks), ...partialMark(partial, missing) }
  }
})
