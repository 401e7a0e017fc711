/** The timings and rules of a job run (job-run.ts). */

/** How long a refusing worker is skipped (unless it says how long). */
export const REFUSAL_BACKOFF_MS = 250
/** Longest wait before looking again when nobody can take a ready subtask. */
export const IDLE_RECHECK_MS = 1000
/** With nothing running, how long the job waits for a candidate to appear (offers expire and come back) before failing. */
export const NO_CANDIDATE_GRACE_MS = 60_000
/** Longest wait a refusing worker's retry hint may ask for (a larger hint would park the subtask for good). */
export const MAX_REFUSAL_WAIT_MS = 60_000
/** Longest timer Node keeps (2^31 − 1 ms, ~24.8 days); a later deadline is re-armed in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1
/** Refusals that will not change for this job: the worker is not asked again for this task type. */
export const LASTING_REFUSALS: ReadonlySet<string> = new Set(['type', 'access', 'price', 'deadline'])
/** Errors raised on our side before anything reached the worker (too large, unknown type, bad definition): nobody to blame, no point retrying. */
export const LOCAL_ERRORS: ReadonlySet<string> = new Set(['E111', 'E599', 'E1000'])
/** With workers refusing and nothing running, how long a job waits for one to take an attempt before failing (E1020; jobs.noWorkerTimeoutMs). */
export const NO_WORKER_TIMEOUT_MS = 120_000
