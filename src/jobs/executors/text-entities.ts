/**
 * `text.entities`: named entities (dates, numbers, money, emails, URLs, …)
 * of each chunk, with offsets in the document's coordinates (chunk start +
 * the offset inside the chunk).
 */
import { z } from 'zod'
import { chunksInputSchema, defineExecutor, eachInOrder, spansMismatch } from './common.ts'

const offset = z.number().int().nonnegative()

export const textEntitiesParams = z.strictObject({})

export const entitySchema = z.strictObject({
  value: z.string(),
  type: z.string().min(1).max(64),
  start: offset,
  end: offset
})
export type DocumentEntity = z.infer<typeof entitySchema>

export const chunkEntitiesSchema = z.strictObject({
  start: offset,
  end: offset,
  entities: z.array(entitySchema)
})

export const textEntitiesOutput = z.strictObject({ chunks: z.array(chunkEntitiesSchema) })
export type TextEntitiesOutput = z.infer<typeof textEntitiesOutput>

export const textEntitiesExecutor = defineExecutor({
  type: 'text.entities',
  description: 'Named entities (dates, numbers, money, emails, URLs, …) of each chunk, by the embedded wink-nlp engine',
  input: chunksInputSchema,
  params: textEntitiesParams,
  output: textEntitiesOutput,
  models: () => [],
  mismatch: (input, _params, output) => spansMismatch(input.chunks, output.chunks),
  async run (input, _params, context) {
    const chunks = await eachInOrder(input.chunks, context, async chunk => {
      const entities = await context.wink.entities(chunk.text, { signal: context.signal })
      return {
        start: chunk.start,
        end: chunk.end,
        entities: entities.map(e => ({ value: e.value, type: e.type, start: chunk.start + e.start, end: chunk.start + e.end }))
      }
    })
    return { chunks }
  }
})
