/**
 * `text.sentiment`: the sentiment of each chunk and of its sentences,
 * -1 … 1, with offsets in the document's coordinates (chunk start + the
 * offset inside the chunk).
 */
import { z } from 'zod'
import { chunksInputSchema, defineExecutor, eachInOrder, spansMismatch } from './common.ts'

const offset = z.number().int().nonnegative()
// -1 … 1 as the engine computes it (not bounded here: a rounding slip must not reject a worker's result)
const score = z.number()

export const textSentimentParams = z.strictObject({})

export const sentenceSentimentSchema = z.strictObject({ start: offset, end: offset, score })

export const chunkSentimentSchema = z.strictObject({
  start: offset,
  end: offset,
  score,
  sentences: z.array(sentenceSentimentSchema)
})
export type ChunkSentiment = z.infer<typeof chunkSentimentSchema>

export const textSentimentOutput = z.strictObject({ chunks: z.array(chunkSentimentSchema) })
export type TextSentimentOutput = z.infer<typeof textSentimentOutput>

export const textSentimentExecutor = defineExecutor({
  type: 'text.sentiment',
  description: 'Sentiment (-1 … 1) of each chunk and its sentences, by the embedded wink-nlp engine',
  input: chunksInputSchema,
  params: textSentimentParams,
  output: textSentimentOutput,
  models: () => [],
  mismatch: (input, _params, output) => spansMismatch(input.chunks, output.chunks),
  async run (input, _params, context) {
    const chunks = await eachInOrder(input.chunks, context, async (chunk): Promise<ChunkSentiment> => {
      const result = await context.wink.sentiment(chunk.text, { signal: context.signal })
      return {
        start: chunk.start,
        end: chunk.end,
        score: result.score,
        sentences: result.sentences.map(s => ({ start: chunk.start + s.start, end: chunk.start + s.end, score: s.score }))
      }
    })
    return { chunks }
  }
})
