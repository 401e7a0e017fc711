/** The coordinator's side of /agora/task/1: one attempt of a subtask on a worker (or in process), verified. */
export { Dispatcher } from './dispatcher.ts'
export type { DispatcherComponents, DispatcherInit } from './dispatcher.ts'
export { DispatchDeadlines } from './deadlines.ts'
export type { DispatchPhase } from './deadlines.ts'
export { checkResult } from './verify.ts'
export type { CheckInput } from './verify.ts'
