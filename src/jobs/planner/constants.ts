/** Defaults and bounds of the job types' params, in one place. */

export const PLANNER_DEFAULTS = {
  /** Chunk target of the per-chunk job types and llm.map over a text. */
  chunkChars: 1000,
  /** Overlap of text.sentiment, text.entities, text.chunk and llm.map chunks (0: none, no double counting). */
  overlapChars: 0,
  /** Overlap of text.embed chunks (a sentence cut at a boundary still lands whole in one chunk). */
  embedOverlapChars: 100,
  /** Chunks per text.embed / text.sentiment / text.entities subtask. */
  chunksPerSubtask: 8,
  /** Items per llm.map subtask. */
  itemsPerSubtask: 1,
  /** Prompts per batch.chat subtask. */
  perSubtask: 1,
  /** summarize: chunk target (a chunk is one map call). */
  summarizeChunkChars: 2000,
  /** debug.*: subtasks. */
  count: 1,
  /** summarize: the map prompt. */
  mapPrompt: 'Summarize the following passage in a few sentences. Keep names, numbers, dates and conclusions.\n\n{{input}}',
  /** summarize: the reduce prompt. */
  reducePrompt: 'The following are summaries of consecutive parts of one document. Combine them into one coherent summary. Keep names, numbers, dates and conclusions.\n\n{{input}}'
} as const

export const PLANNER_LIMITS = {
  /** Most chunks, items or prompts per subtask. */
  maxPerSubtask: 10_000,
  /** Most debug subtasks in one job. */
  maxDebugCount: 100_000,
  /** Largest summarize fan-in (children per reduce). */
  maxFanIn: 1000,
  /**
   * Longest piece of a document chunked in one call (below the embedded
   * engine's one-million-character limit); longer documents are cut at a
   * line break first, and chunks never straddle two pieces.
   */
  segmentChars: 500_000
} as const
