/**
 * `llm.reduce`: combine texts (map outputs, partial summaries) into one
 * through a chat model. The texts are joined with blank lines into the
 * prompt template; when that prompt does not fit the model's context
 * (`contextTokens − maxTokens`, estimated at four characters a token), the
 * texts are packed in order into groups that fit, each group is reduced,
 * and the answers are reduced again, until one prompt holds them all.
 * A single text too long for any prompt is cut to fit. Each round must
 * shrink the texts (fewer or shorter), else it fails with E1007.
 */
import { z } from 'zod'
import { AgoraError } from '../../errors.ts'
import { CHARS_PER_TOKEN, estimatePromptTokens, estimateTextTokens } from '../../gateway/access/index.ts'
import {
  addUsage, askChat, chatMessages, defineExecutor, fillTemplate, maxTokensSchema, modelSchema,
  promptTemplateSchema, systemSchema, temperatureSchema, usageSchema, ZERO_USAGE
} from './common.ts'
import { EXECUTOR_DEFAULTS, EXECUTOR_LIMITS, INPUT_PLACEHOLDER } from './constants.ts'
import type { Usage } from '../../providers/inference.ts'
import type { ExecutorContext } from './types.ts'

/** Between two texts in a prompt. */
export const REDUCE_SEPARATOR = '\n\n'

export const llmReduceInput = z.strictObject({
  texts: z.array(z.string().max(EXECUTOR_LIMITS.maxTextChars)).min(1).max(EXECUTOR_LIMITS.maxItems)
})

export const llmReduceParams = z.strictObject({
  /** The chat model. */
  model: modelSchema,
  /** The user message; `{{input}}` is replaced by the texts joined with blank lines. */
  prompt: promptTemplateSchema,
  /** An optional system message. */
  system: systemSchema,
  maxTokens: maxTokensSchema,
  temperature: temperatureSchema,
  /** The model's context window (prompt + answer), in tokens. */
  contextTokens: z.number().int().min(16).max(EXECUTOR_LIMITS.maxContextTokens).default(EXECUTOR_DEFAULTS.contextTokens)
}).refine(p => p.contextTokens > p.maxTokens, { message: 'must be more than maxTokens', path: ['contextTokens'] })
export type LlmReduceParams = z.infer<typeof llmReduceParams>

export const llmReduceOutput = z.strictObject({
  text: z.string(),
  usage: usageSchema
})
export type LlmReduceOutput = z.infer<typeof llmReduceOutput>

/** Most characters of joined texts one prompt can hold under these params (E1007 when none). */
export function reduceCapacity (params: Pick<LlmReduceParams, 'prompt' | 'system' | 'maxTokens' | 'contextTokens'>): number {
  const budget = params.contextTokens - params.maxTokens
  const systemTokens = params.system === undefined ? 0 : estimatePromptTokens({ messages: [{ role: 'system', content: params.system }] })
  const userTokens = budget - systemTokens - estimatePromptTokens({ messages: [{ role: 'user', content: '' }] })
  const slots = params.prompt.split(INPUT_PLACEHOLDER).length - 1
  const fixedChars = params.prompt.length - slots * INPUT_PLACEHOLDER.length
  const capacity = Math.floor((userTokens * CHARS_PER_TOKEN - fixedChars) / Math.max(1, slots))
  if (capacity < 1) {
    throw new AgoraError('E1007', 'the reduce prompt does not fit the model\'s context', {
      why: `the template and system message take ~${estimateTextTokens(params.prompt) + systemTokens} of the ${budget} tokens left after maxTokens`
    })
  }
  return capacity
}

function joinedLength (texts: readonly string[]): number {
  let length = 0
  for (const text of texts) length += text.length
  return length + REDUCE_SEPARATOR.length * Math.max(0, texts.length - 1)
}

/** `text` cut to at most `chars` characters, never inside a surrogate pair. */
function cut (text: string, chars: number): string {
  if (text.length <= chars) return text
  const code = text.charCodeAt(chars - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? chars - 1 : chars)
}

/** Consecutive texts packed into groups whose joined length stays within `capacity`. */
export function packTexts (texts: readonly string[], capacity: number): string[][] {
  const groups: string[][] = []
  let group: string[] = []
  let length = 0
  for (const raw of texts) {
    const text = cut(raw, capacity)
    const grown = group.length === 0 ? text.length : length + REDUCE_SEPARATOR.length + text.length
    if (group.length > 0 && grown > capacity) {
      groups.push(group)
      group = [text]
      length = text.length
    } else {
      group.push(text)
      length = grown
    }
  }
  if (group.length > 0) groups.push(group)
  return groups
}

export const llmReduceExecutor = defineExecutor({
  type: 'llm.reduce',
  description: 'Combine texts into one through a chat model (recursively when they exceed its context)',
  input: llmReduceInput,
  params: llmReduceParams,
  output: llmReduceOutput,
  models: params => [params.model],
  modelKind: 'chat',
  async run (input, params, context) {
    return await reduceTexts(input.texts, params, context)
  }
})

async function reduceTexts (initial: readonly string[], params: LlmReduceParams, context: ExecutorContext): Promise<LlmReduceOutput> {
  const capacity = reduceCapacity(params)
  let usage: Usage = ZERO_USAGE
  let calls = 0
  let planned = 1
  const reduce = async (group: readonly string[]): Promise<string> => {
    const answer = await askChat(context, params, chatMessages(params.system, fillTemplate(params.prompt, group.join(REDUCE_SEPARATOR))))
    usage = addUsage(usage, answer.usage)
    calls++
    context.progress(Math.min(1, calls / planned))
    return answer.text
  }
  context.progress(0)
  let texts = initial
  for (let round = 1; ; round++) {
    if (joinedLength(texts) <= capacity) return { text: await reduce(texts), usage }
    if (round > EXECUTOR_LIMITS.maxReduceRounds) throw noProgress(`still ${texts.length} texts after ${round - 1} rounds`)
    const groups = packTexts(texts, capacity)
    planned = calls + groups.length + 1
    const outputs: string[] = []
    for (const group of groups) outputs.push(await reduce(group))
    // one group: everything that fits one prompt was reduced (the rest was cut off)
    if (outputs.length === 1) return { text: outputs[0] as string, usage }
    if (outputs.length >= texts.length && joinedLength(outputs) >= joinedLength(texts)) {
      throw noProgress(`round ${round} turned ${texts.length} texts into ${outputs.length} no shorter ones`)
    }
    texts = outputs
  }
}

function noProgress (why: string): AgoraError {
  return new AgoraError('E1007', 'the texts cannot be reduced within the model\'s context', { why })
}
