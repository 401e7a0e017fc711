/**
 * The job planners, in one table (every non-debug task type is also a job
 * type; `summarize` is a plan of its own; debug types only with
 * `jobs.debugTasks`), and planning a submitted job: type (E1000), params
 * (E1001), input (E1004 / E1009), the plan itself, every subtask against its
 * task type's schemas (E1009), the subtask count (E1010) and the DAG (E1003).
 */
import { AgoraError } from '../../errors.ts'
import { describeIssue, EXECUTORS } from '../executors/index.ts'
import { batchChatPlanner } from './batch-chat.ts'
import { validateDag } from './dag.ts'
import { debugNoopPlanner } from './debug-noop.ts'
import { debugSleepPlanner } from './debug-sleep.ts'
import { llmMapPlanner } from './llm-map.ts'
import { llmReducePlanner } from './llm-reduce.ts'
import { summarizePlanner } from './summarize.ts'
import { textChunkPlanner } from './text-chunk.ts'
import { textEmbedPlanner } from './text-embed.ts'
import { textEntitiesPlanner } from './text-entities.ts'
import { textSentimentPlanner } from './text-sentiment.ts'
import type { JobSpec } from '../types.ts'
import type { AnyPlanner, PlanInput, PlannedSubtask, PlanTools } from './types.ts'

export const PLANNERS: readonly AnyPlanner[] = [
  textChunkPlanner,
  textEmbedPlanner,
  textSentimentPlanner,
  textEntitiesPlanner,
  llmMapPlanner,
  llmReducePlanner,
  batchChatPlanner,
  summarizePlanner,
  debugNoopPlanner,
  debugSleepPlanner
]

/** Job types that ignore their input (an empty one is fine). */
const INPUT_FREE: ReadonlySet<string> = new Set([debugNoopPlanner.type, debugSleepPlanner.type])

/**
 * Most subtasks one job may have by default: a 1 MiB text chunked one
 * character at a time planned 349,003 of them (727 MiB for one job).
 */
export const MAX_SUBTASKS = 100_000

export interface PlanOptions {
  /** Debug job types are known only when on (`jobs.debugTasks`). */
  debugTasks: boolean
  /** Most subtasks one job may have (E1010 above; MAX_SUBTASKS by default). */
  maxSubtasks?: number | undefined
}

export interface PlannedJob {
  planner: AnyPlanner
  /** The params with defaults filled in. */
  params: unknown
  /** In plan order (a topological order). */
  subtasks: PlannedSubtask[]
}

/** The planners this node knows, by job type (debug ones only when enabled). */
export function plannerTable (options: { debugTasks: boolean }): ReadonlyMap<string, AnyPlanner> {
  return new Map(PLANNERS.filter(p => options.debugTasks || !isDebug(p.type)).map(p => [p.type, p]))
}

function isDebug (type: string): boolean {
  return EXECUTORS.some(e => e.type === type && e.debug === true)
}

/** The planner of `type` and its params with defaults, or E1000 (unknown type, the known ones listed) / E1001 (naming the field). */
export function parseJobParams (type: string, params: unknown, options: { debugTasks: boolean }): { planner: AnyPlanner, params: unknown } {
  const table = plannerTable(options)
  const planner = table.get(type)
  if (planner === undefined) {
    const known = [...table.keys()]
    throw new AgoraError('E1000', `unknown job type "${type}" (known: ${known.join(', ')})`, { why: 'no planner has this name', details: { type, known } })
  }
  const parsed = planner.params.safeParse(params ?? {})
  if (!parsed.success) {
    const issues = parsed.error.issues.map(i => describeIssue(i, 'params.'))
    const first = issues[0] ?? { field: 'params', message: 'invalid' }
    throw new AgoraError('E1001', `invalid ${type} job parameter ${first.field}`, { why: first.message, details: { type, issues } })
  }
  return { planner, params: parsed.data }
}

/** Checks and plans a job (see the module comment). */
export async function planJob (spec: JobSpec, input: PlanInput, tools: PlanTools, options: PlanOptions): Promise<PlannedJob> {
  const { planner, params } = parseJobParams(spec.type, spec.params, options)
  if (!INPUT_FREE.has(spec.type)) checkNotEmpty(spec.type, input)
  const subtasks = await planner.plan(input, params, tools)
  const maxSubtasks = options.maxSubtasks ?? MAX_SUBTASKS
  if (subtasks.length > maxSubtasks) {
    throw new AgoraError('E1010', `the ${spec.type} job would have ${subtasks.length} subtasks`, { why: `at most ${maxSubtasks} are allowed`, details: { subtasks: subtasks.length, max: maxSubtasks } })
  }
  checkSubtasks(subtasks)
  validateDag(subtasks)
  return { planner, params, subtasks }
}

function checkNotEmpty (type: string, input: PlanInput): void {
  const empty = input.kind === 'text' ? input.text.trim() === '' : input.items.length === 0
  if (empty) throw new AgoraError('E1004', `${type} job has nothing to work on`, { why: input.kind === 'text' ? 'the text is blank' : 'no items' })
}

/** Every subtask's params, and input when planned, against its task type (a bad item surfaces here, naming it). */
function checkSubtasks (subtasks: readonly PlannedSubtask[]): void {
  const executors = new Map(EXECUTORS.map(e => [e.type, e]))
  for (const subtask of subtasks) {
    const executor = executors.get(subtask.type)
    if (executor === undefined) throw new AgoraError('E1000', `subtask ${subtask.id} has unknown task type "${subtask.type}"`, { why: 'the plan uses a task type no executor runs' })
    const params = executor.params.safeParse(subtask.params)
    if (!params.success) throw badSubtask(subtask, params.error.issues, 'params.')
    if (subtask.input === null) continue
    const input = executor.input.safeParse(subtask.input)
    if (!input.success) throw badSubtask(subtask, input.error.issues, 'input.')
  }
}

function badSubtask (subtask: PlannedSubtask, issues: Parameters<typeof describeIssue>[0][], prefix: string): AgoraError {
  const described = issues.map(i => describeIssue(i, prefix))
  const first = described[0] ?? { field: prefix, message: 'invalid' }
  return new AgoraError('E1009', `subtask ${subtask.id} (${subtask.type}) cannot run: ${first.field}`, { why: first.message, details: { subtask: subtask.id, issues: described } })
}

export { validateDag, topologicalOrder } from './dag.ts'
export type { DagNode } from './dag.ts'
export { PLANNER_DEFAULTS, PLANNER_LIMITS } from './constants.ts'
export { effectiveFanIn, reduceTree } from './summarize.ts'
export type { AnyPlanner, JobPlanner, PlanInput, PlannedSubtask, PlanTools, SubtaskResult } from './types.ts'
