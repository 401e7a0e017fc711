/**
 * The schemas of what a chat request may carry beyond text — tools, tool
 * calls, a response format, log-probabilities — shared by the /v1 API
 * (which names a bad field in its 400) and /agora/infer/1 (which must bound
 * everything a peer sends). Unknown keys inside are dropped.
 */
import { z } from 'zod'

/** OpenAI's limits: function names of 64 characters, 128 tools, 20 alternatives per token. */
export const CHAT_LIMITS = { toolName: 64, tools: 128, toolDescription: 8192, toolCallId: 256, toolCalls: 128, arguments: 256 * 1024, topLogprobs: 20, logprobTokens: 4096, tokenChars: 256 } as const

const L = CHAT_LIMITS

/** JSON Schemas nest a few levels; far deeper is an attack on whatever walks it (JSON.stringify overflows its stack). */
export const MAX_JSON_DEPTH = 64

/** How deep `value` nests, walked without recursion; stops counting past `limit`. */
export function jsonDepth (value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [at, depth] = stack.pop() as [unknown, number]
    if (typeof at !== 'object' || at === null) continue
    deepest = Math.max(deepest, depth)
    if (deepest > limit) return deepest
    for (const child of Object.values(at)) stack.push([child, depth + 1])
  }
  return deepest
}

const jsonObject = z.record(z.string(), z.unknown()).refine(v => jsonDepth(v) <= MAX_JSON_DEPTH, `nested more than ${MAX_JSON_DEPTH} levels`)
const functionName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a function name: letters, digits, "_", "." or "-", at most 64 characters')

export const toolSpecSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: functionName,
    description: z.string().max(L.toolDescription).optional(),
    parameters: jsonObject.optional(),
    strict: z.boolean().nullish().transform(v => v ?? undefined)
  })
})

export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: functionName }) })
], { error: '"none", "auto", "required", or {type: "function", function: {name}}' })

export const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: functionName,
      description: z.string().max(L.toolDescription).optional(),
      schema: jsonObject.optional(),
      strict: z.boolean().nullish().transform(v => v ?? undefined)
    })
  })
], { error: '{type: "text"}, {type: "json_object"} or {type: "json_schema", json_schema: {name, schema}}' })

export const toolCallSchema = z.object({
  id: z.string().min(1).max(L.toolCallId),
  type: z.literal('function'),
  function: z.object({ name: functionName, arguments: z.string().max(L.arguments) })
})

export const toolCallDeltaSchema = z.object({
  index: z.number().int().nonnegative().max(L.toolCalls - 1),
  id: z.string().min(1).max(L.toolCallId).optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().max(L.toolName).optional(), arguments: z.string().max(L.arguments).optional() }).optional()
})

const tokenBytes = z.array(z.number().int().min(0).max(255)).max(L.tokenChars * 4).nullish()
export const tokenLogprobSchema = z.object({
  token: z.string().max(L.tokenChars),
  logprob: z.number(),
  bytes: tokenBytes,
  top_logprobs: z.array(z.object({ token: z.string().max(L.tokenChars), logprob: z.number(), bytes: tokenBytes })).max(L.topLogprobs).optional()
})

/** The fields of a chat request beyond OpenAI's basic sampling ones. */
export const chatExtrasShape = {
  tools: z.array(toolSpecSchema).max(L.tools).optional(),
  tool_choice: toolChoiceSchema.optional(),
  response_format: responseFormatSchema.optional(),
  logprobs: z.boolean().optional(),
  top_logprobs: z.number().int().min(0).max(L.topLogprobs).optional()
}
