/**
 * `text.embed` as a job: chunk the document (100-character overlap by
 * default), embed `chunksPerSubtask` chunks per subtask, and merge the
 * vectors in document order.
 */
import { z } from 'zod'
import { EXECUTOR_DEFAULTS, textEmbedExecutor, type TextEmbedOutput } from '../executors/index.ts'
import { definePlanner, partialMark, readResults } from './common.ts'
import { chunkingShape, chunksPerSubtaskSchema, OVERLAP_BELOW_CHUNK, planChunkFanOut } from './fan-out.ts'
import { PLANNER_DEFAULTS } from './constants.ts'

export const textEmbedJobParams = z.strictObject({
  /** An embedding model (the embedded engine's by default). */
  model: z.string().min(1).max(256).default(EXECUTOR_DEFAULTS.embedModel),
  ...chunkingShape(PLANNER_DEFAULTS.embedOverlapChars),
  chunksPerSubtask: chunksPerSubtaskSchema
}).refine(OVERLAP_BELOW_CHUNK.check, OVERLAP_BELOW_CHUNK.error)

export interface EmbeddedChunk {
  start: number
  end: number
  vector: number[]
}

export const textEmbedPlanner = definePlanner({
  type: textEmbedExecutor.type,
  description: 'Chunk a document and embed every chunk; result: the vectors with their chunks\' offsets',
  params: textEmbedJobParams,
  taskTypes: () => [textEmbedExecutor.type],
  models: params => [params.model],
  async plan (input, params, tools) {
    return await planChunkFanOut(input, { ...params, type: textEmbedExecutor.type, prefix: 'embed', subtaskParams: { model: params.model } }, tools)
  },
  aggregate (results, params, partial) {
    const { rows, missing } = readResults<TextEmbedOutput>(results, partial)
    const chunks: EmbeddedChunk[] = []
    let model: string = params.model
    let dimensions = 0
    for (const { result } of rows) {
      if (result === null) continue
      model = result.model
      dimensions = result.dimensions
      result.chunks.forEach((c, i) => chunks.push({ start: c.start, end: c.end, vector: result.vectors[i] ?? [] }))
    }
    return { model, dimensions, chunks, ...partialMark(partial, missing) }
  }
})
