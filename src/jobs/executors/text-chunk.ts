/**
 * `text.chunk`: sentence-aware chunks of a text by the embedded engine, as
 * offsets into the input text (plus `offset`, when the text is a piece of
 * a longer document).
 */
import { z } from 'zod'
import { defineExecutor, spanSchema, throwIfCancelled } from './common.ts'
import { EXECUTOR_DEFAULTS, EXECUTOR_LIMITS } from './constants.ts'

export const textChunkInput = z.strictObject({
  text: z.string().min(1).max(EXECUTOR_LIMITS.maxTextChars)
})

export const textChunkParams = z.strictObject({
  /** Longest chunk, in characters. */
  chunkChars: z.number().int().min(1).max(EXECUTOR_LIMITS.maxChunkChars).default(EXECUTOR_DEFAULTS.chunkChars),
  /** Most characters neighbouring chunks share (whole sentences). */
  overlapChars: z.number().int().min(0).max(EXECUTOR_LIMITS.maxChunkChars).default(EXECUTOR_DEFAULTS.overlapChars),
  /** Added to every offset (where the text starts in its document). */
  offset: z.number().int().min(0).default(0)
}).refine(p => p.overlapChars < p.chunkChars, { message: 'must be less than chunkChars', path: ['overlapChars'] })

export const textChunkOutput = z.strictObject({
  chunks: z.array(spanSchema)
})
export type TextChunkOutput = z.infer<typeof textChunkOutput>

export const textChunkExecutor = defineExecutor({
  type: 'text.chunk',
  description: 'Sentence-aware chunks of a text (offsets), by the embedded wink-nlp engine',
  input: textChunkInput,
  params: textChunkParams,
  output: textChunkOutput,
  models: () => [],
  async run (input, params, context) {
    throwIfCancelled(context.signal)
    context.progress(0)
    const chunks = await context.wink.chunk(input.text, { targetChars: params.chunkChars, overlapChars: params.overlapChars, signal: context.signal })
    throwIfCancelled(context.signal)
    context.progress(1)
    return { chunks: chunks.map(c => ({ start: c.start + params.offset, end: c.end + params.offset })) }
  }
})
