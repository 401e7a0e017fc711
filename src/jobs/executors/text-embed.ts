/**
 * `text.embed`: one vector per chunk, with the embedded engine or any
 * embedding model this worker serves; the chunks' offsets ride along.
 * Deterministic for a given model (the aggregated result of a job is the
 * same whichever workers ran it).
 */
import { z } from 'zod'
import { AgoraError } from '../../errors.ts'
import { chunksInputSchema, defineExecutor, modelSchema, spanSchema, spansMismatch, throwIfCancelled, untilCancelled } from './common.ts'
import { EXECUTOR_DEFAULTS } from './constants.ts'

export const textEmbedParams = z.strictObject({
  /** An embedding model (the embedded engine's by default). */
  model: modelSchema.default(EXECUTOR_DEFAULTS.embedModel)
})

export const textEmbedOutput = z.strictObject({
  model: z.string(),
  dimensions: z.number().int().nonnegative(),
  vectors: z.array(z.array(z.number())),
  chunks: z.array(spanSchema)
}).refine(o => o.vectors.length === o.chunks.length, { message: 'one vector per chunk', path: ['vectors'] })
  .refine(o => o.vectors.every(v => v.length === o.dimensions), { message: 'every vector has `dimensions` numbers', path: ['vectors'] })
export type TextEmbedOutput = z.infer<typeof textEmbedOutput>

export const textEmbedExecutor = defineExecutor({
  type: 'text.embed',
  description: 'Embedding vectors of text chunks (the embedded 100-d model or any served embedding model)',
  input: chunksInputSchema,
  params: textEmbedParams,
  output: textEmbedOutput,
  models: params => [params.model],
  modelKind: 'embedding',
  mismatch: (input, _params, output) => spansMismatch(input.chunks, output.chunks),
  async run (input, params, context) {
    const { chunks } = input
    const vectors: number[][] = []
    context.progress(0)
    for (let i = 0; i < chunks.length; i += EXECUTOR_DEFAULTS.embedBatch) {
      throwIfCancelled(context.signal)
      const batch = chunks.slice(i, i + EXECUTOR_DEFAULTS.embedBatch).map(c => c.text)
      const got = await untilCancelled(context.embed(params.model, batch, { signal: context.signal }), context.signal)
      if (got.length !== batch.length) {
        throw new AgoraError('E1011', `${params.model} returned ${got.length} vectors for ${batch.length} texts`, { why: 'the embedding model answered with the wrong number of vectors' })
      }
      for (const v of got) vectors.push(Array.from(v))
      context.progress(vectors.length / chunks.length)
    }
    const dimensions = vectors[0]?.length ?? 0
    if (vectors.some(v => v.length !== dimensions)) {
      throw new AgoraError('E1011', `${params.model} returned vectors of different lengths`, { why: 'the embedding model is inconsistent' })
    }
    return { model: params.model, dimensions, vectors, chunks: chunks.map(c => ({ start: c.start, end: c.end })) }
  }
})
