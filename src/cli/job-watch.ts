/**
 * Following a job until it finishes: driven by the node's event stream
 * (job:progress updates the counts, job:completed / failed / cancelled ends
 * it), with a poll of the job every `pollMs` when no event came — and
 * polling only when the stream cannot be opened or closes.
 */
import { isAgoraError } from '../errors.ts'
import { FINISHED } from './jobs-format.ts'
import type { EventMessage, JobJson } from '../client/schemas.ts'

/** The part of EventsClient the watcher uses. */
export interface JobEventStream {
  waitFor(match: (event: EventMessage) => boolean, timeoutMs?: number): Promise<EventMessage>
  close(): void
}

export interface JobWatchInit {
  /** The job without its subtasks (ControlClient.jobSummary). */
  fetch: (jobId: string) => Promise<JobJson>
  /** Open the event stream; a failure falls back to polling. */
  openEvents?: () => Promise<JobEventStream>
  onUpdate: (job: JobJson) => void
  /** Poll this often when no event arrives (default 2 s; 1 s without events). */
  pollMs?: number
  /** Stop watching (the job keeps running); resolves to the last state seen. */
  signal?: AbortSignal
}

const END_EVENTS = new Set(['job:completed', 'job:failed', 'job:cancelled'])

/** Follow `jobId` until it is finished (or the signal aborts); resolves to the last state seen. */
export async function watchJob (jobId: string, init: JobWatchInit): Promise<JobJson> {
  const pollMs = init.pollMs ?? 2000
  let events: JobEventStream | undefined
  try {
    events = await init.openEvents?.()
  } catch {
    events = undefined
  }
  try {
    // subscribed first, fetched second: no progress falls between the two
    let job = await init.fetch(jobId)
    let fetchedAt = Date.now()
    init.onUpdate(job)
    while (!FINISHED.has(job.state) && init.signal?.aborted !== true) {
      let event: EventMessage | undefined
      if (events !== undefined) {
        try {
          event = await events.waitFor(() => true, Math.max(1, pollMs - (Date.now() - fetchedAt)))
        } catch (err) {
          // E204: nothing within pollMs, poll; anything else: the stream is gone, poll from now on
          if (!isAgoraError(err, 'E204')) { events.close(); events = undefined }
        }
      } else {
        await sleep(Math.min(pollMs, 1000), init.signal)
      }
      const data = event?.data as { jobId?: string, state?: JobJson['state'], total?: number, committed?: number, running?: number, failed?: number } | undefined
      if (event !== undefined && data?.jobId === jobId && event.type === 'job:progress') {
        job = { ...job, state: data.state ?? job.state, progress: { total: data.total ?? 0, committed: data.committed ?? 0, running: data.running ?? 0, failed: data.failed ?? 0 } }
        init.onUpdate(job)
        if (!FINISHED.has(job.state)) continue
      }
      const ended = event !== undefined && data?.jobId === jobId && END_EVENTS.has(event.type)
      if (ended || event === undefined || Date.now() - fetchedAt >= pollMs || FINISHED.has(job.state)) {
        job = await init.fetch(jobId)
        fetchedAt = Date.now()
        init.onUpdate(job)
      }
    }
    return job
  } finally {
    events?.close()
  }
}

async function sleep (ms: number, signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
