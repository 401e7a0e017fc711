/** Jobs: submit typed work once; the network splits, routes, retries and aggregates it (docs/jobs.md). */
export { assembleJobs } from './assemble.ts'
export type { JobsAssembly, JobsAssemblyComponents } from './assemble.ts'
export { JobCoordinator } from './coordinator/coordinator.ts'
export type { CoordinatorComponents, JobBlobs } from './coordinator/coordinator.ts'
export { JOB_STATES, SUBTASK_STATES, FINISHED_JOB_STATES, jobSpecSchema, jobInputSchema, jobConstraintsSchema } from './types.ts'
export type { Job, JobSpec, JobSpecInput, JobInput, JobConstraints, JobState, Subtask, SubtaskState, JobProgress, AttemptOutcome } from './types.ts'
export type { JobsApi, JobResult, JobTypeInfo, UploadStatus, BlobRef } from './api-types.ts'
export type { JobsConfig } from './constants.ts'
