/**
 * The task executors, in one table: adding a task type is one file and one
 * line here. Debug types run (and are advertised) only with `jobs.debugTasks`.
 */
import { batchChatExecutor } from './batch-chat.ts'
import { debugNoopExecutor } from './debug-noop.ts'
import { debugSleepExecutor } from './debug-sleep.ts'
import { llmMapExecutor } from './llm-map.ts'
import { llmReduceExecutor } from './llm-reduce.ts'
import { textChunkExecutor } from './text-chunk.ts'
import { textEmbedExecutor } from './text-embed.ts'
import { textEntitiesExecutor } from './text-entities.ts'
import { textSentimentExecutor } from './text-sentiment.ts'
import type { AnyExecutor } from './types.ts'

export const EXECUTORS: readonly AnyExecutor[] = [
  textChunkExecutor,
  textEmbedExecutor,
  textSentimentExecutor,
  textEntitiesExecutor,
  llmMapExecutor,
  llmReduceExecutor,
  batchChatExecutor,
  debugNoopExecutor,
  debugSleepExecutor
]

/** The executors this node runs, by task type (debug ones only when enabled). */
export function executorTable (options: { debugTasks: boolean }): ReadonlyMap<string, AnyExecutor> {
  return new Map(EXECUTORS.filter(e => e.debug !== true || options.debugTasks).map(e => [e.type, e]))
}

export type { AnyExecutor, ChatAnswer, ExecutorContext, TaskExecutor } from './types.ts'
export { EXECUTOR_DEFAULTS, EXECUTOR_LIMITS, INPUT_PLACEHOLDER } from './constants.ts'
export { cancelledError, describeIssue, parseTask, ZERO_USAGE, addUsage } from './common.ts'
export type { Chunk, ChunksInput, Span } from './common.ts'
export { textChunkExecutor, type TextChunkOutput } from './text-chunk.ts'
export { textEmbedExecutor, type TextEmbedOutput } from './text-embed.ts'
export { textSentimentExecutor, type ChunkSentiment, type TextSentimentOutput } from './text-sentiment.ts'
export { textEntitiesExecutor, type DocumentEntity, type TextEntitiesOutput } from './text-entities.ts'
export { llmMapExecutor, type LlmMapOutput, type LlmMapParams } from './llm-map.ts'
export { llmReduceExecutor, packTexts, reduceCapacity, REDUCE_SEPARATOR, type LlmReduceOutput, type LlmReduceParams } from './llm-reduce.ts'
export { batchChatExecutor, type BatchChatOutput, type BatchPrompt } from './batch-chat.ts'
export { debugNoopExecutor } from './debug-noop.ts'
export { debugSleepExecutor } from './debug-sleep.ts'
