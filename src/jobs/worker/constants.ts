/** Defaults of the worker side of jobs; config (jobs.*, offers.prices.perTask) overrides the first three groups. */

export const WORKER_DEFAULTS = {
  /** Subtasks run at once (jobs.slots). */
  slots: 4,
  /** Refuse while the 1-minute load average per core is above this (jobs.maxCpuLoad; 0: no limit). */
  maxCpuLoad: 0.9,
  /** Refuse while free memory is below this many MiB (jobs.minFreeMemoryMb; 0: no limit). */
  minFreeMemoryMb: 256,
  /** Micro-credits asked per subtask (offers.prices.perTask). */
  pricePerTask: 0,
  /** How long a CPU / memory reading is reused (the load average moves every 5 s anyway). */
  sampleMs: 1000,
  /** Retry hint sent with a refusal for slots, CPU or memory. */
  retryAfterMs: 1000,
  /** Progress frames at most this often per subtask (the latest fraction wins). */
  progressThrottleMs: 250,
  /** A progress frame at least this often while a subtask runs, so the coordinator's silence timeout (E1042) does not fire. */
  heartbeatMs: 2000,
  /** Finished results kept for late duplicates and fetches: at most this many keys… */
  cacheEntries: 1000,
  /** …and this many bytes of canonical JSON. */
  cacheBytes: 64 * 1024 * 1024
} as const

/** Offer capacity changes reach the capability registry at most this often. */
export const CAPACITY_NOTIFY_MS = 1000
/** How often CPU / memory are checked for a change of advertised capacity while nothing runs. */
export const CAPACITY_POLL_MS = 5000

/** Histogram buckets of a subtask's run time, in seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
