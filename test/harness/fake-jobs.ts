/**
 * An in-memory JobsApi for API and CLI tests: it validates with the real
 * jobSpecSchema, stores what is submitted, fans the input out into pending
 * subtasks, and changes state only when told (`advance`, `finish`, `fail`)
 * or cancelled — emitting the job:* / subtask:* events the coordinator
 * would. Uploads go to a real BlobStore when one is given.
 */
import { randomUUID } from 'node:crypto'
import { AgoraError, type ErrorBody } from '../../src/errors.ts'
import type { AgoraEvents } from '../../src/events.ts'
import { jobSpecSchema, FINISHED_JOB_STATES, type Job, type JobSpec, type JobSpecInput, type JobState, type Subtask } from '../../src/jobs/types.ts'
import type { BlobRef, HeldBack, JobResult, JobsApi, JobTypeInfo, UploadStatus } from '../../src/jobs/api-types.ts'
import type { BlobStore } from '../../src/jobs/blobs/index.ts'
import type { ControlPlane } from '../../src/api/index.ts'

export const FAKE_JOB_TYPES: JobTypeInfo[] = [
  { type: 'text.embed', description: 'embed a text, chunk by chunk', taskTypes: ['text.chunk', 'text.embed'], params: { type: 'object', properties: { model: { type: 'string' } } } },
  { type: 'summarize', description: 'summarize a long text (chunk → llm.map → llm.reduce)', taskTypes: ['llm.map', 'llm.reduce'], params: { type: 'object', required: ['model'], properties: { model: { type: 'string' } } } },
  { type: 'batch.chat', description: 'many prompts through a chat model', taskTypes: ['batch.chat'], params: { type: 'object' } }
]

export interface FakeJobsInit {
  blobs?: BlobStore
  events?: Pick<AgoraEvents, 'emit'>
  /** Characters of text input per subtask. */
  chunkChars?: number
  now?: () => number
}

export class FakeJobs implements JobsApi {
  readonly submitted: JobSpec[] = []
  private readonly jobsById = new Map<string, Job>()
  private readonly subtasksById = new Map<string, Subtask[]>()
  /** A job's held-back pay, as a test sets it. */
  readonly held = new Map<string, HeldBack>()
  private readonly results = new Map<string, unknown>()
  private readonly blobs: BlobStore | undefined
  private readonly events: Pick<AgoraEvents, 'emit'> | undefined
  private readonly chunkChars: number
  private readonly now: () => number

  constructor (init: FakeJobsInit = {}) {
    this.blobs = init.blobs
    this.events = init.events
    this.chunkChars = init.chunkChars ?? 1000
    this.now = init.now ?? Date.now
  }

  async submit (input: JobSpecInput): Promise<Job> {
    const parsed = jobSpecSchema.safeParse(input)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      throw new AgoraError('E1001', `invalid ${issue?.path.join('.') ?? 'spec'}`, { why: issue?.message })
    }
    const spec = parsed.data
    if (!FAKE_JOB_TYPES.some(t => t.type === spec.type)) {
      throw new AgoraError('E1000', `unknown job type '${spec.type}'`, { why: `known: ${FAKE_JOB_TYPES.map(t => t.type).join(', ')}` })
    }
    const pieces = this.pieces(spec)
    if (pieces === 0) throw new AgoraError('E1004', 'the job has no input')
    const now = this.now()
    const id = `job-${randomUUID()}`
    const job: Job = {
      id, type: spec.type, params: spec.params, constraints: spec.constraints, input: spec.input, state: 'planned',
      progress: { total: pieces, committed: 0, running: 0, failed: 0 }, spent: 0,
      createdAt: now, updatedAt: now, finishedAt: null, error: null, hasResult: false
    }
    const taskType = FAKE_JOB_TYPES.find(t => t.type === spec.type)?.taskTypes.at(-1) ?? spec.type
    this.submitted.push(spec)
    this.jobsById.set(id, job)
    this.subtasksById.set(id, Array.from({ length: pieces }, (_, i) => ({
      jobId: id, id: `task-${String(i).padStart(4, '0')}`, type: taskType, params: {}, deps: [], state: 'pending', attempts: 0,
      worker: null, excluded: [], price: null, error: null, createdAt: now, assignedAt: null, startedAt: null, finishedAt: null, resultHash: null, verification: null
    })))
    this.events?.emit('job:submitted', { jobId: id, type: spec.type, state: 'planned' })
    return structuredClone(job)
  }

  list (filter: { state?: JobState | undefined, limit?: number | undefined } = {}): Job[] {
    return [...this.jobsById.values()]
      .filter(j => filter.state === undefined || j.state === filter.state)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, filter.limit ?? 100)
      .map(j => structuredClone(j))
  }

  get (jobId: string): Job | undefined {
    const job = this.jobsById.get(jobId)
    return job === undefined ? undefined : structuredClone(job)
  }

  subtasks (jobId: string): Subtask[] {
    return structuredClone(this.subtasksById.get(jobId) ?? [])
  }

  /** What tests set per job in `held`; nothing held back otherwise. */
  heldBack (jobId: string): HeldBack {
    return this.held.get(jobId) ?? { held: 0, paid: 0, forfeited: 0, nextDueAt: null }
  }

  result (jobId: string): JobResult {
    const job = this.require(jobId)
    if (!FINISHED_JOB_STATES.includes(job.state)) throw new AgoraError('E1061', `job ${jobId} is ${job.state}`)
    return { jobId, state: job.state, partial: job.state !== 'completed', result: this.results.get(jobId) ?? null }
  }

  async cancel (jobId: string): Promise<Job> {
    const job = this.require(jobId)
    if (FINISHED_JOB_STATES.includes(job.state)) throw new AgoraError('E1064', `job ${jobId} is ${job.state} already`)
    this.end(job, 'cancelled', { code: 'E1066', message: `job ${jobId} was cancelled` })
    return structuredClone(job)
  }

  types (): JobTypeInfo[] {
    return structuredClone(FAKE_JOB_TYPES)
  }

  beginUpload (size: number): UploadStatus { return this.store().beginUpload(size) }
  appendUpload (uploadId: string, offset: number, chunk: Uint8Array): UploadStatus { return this.store().append(uploadId, offset, chunk) }
  completeUpload (uploadId: string, expectedHash?: string): BlobRef { return this.store().complete(uploadId, expectedHash) }

  /** Commit the next `count` pending subtasks on `worker` at 0.1 credits each (state running → job:progress). */
  advance (jobId: string, count: number, worker = '12D3KooWWorkerFake'): void {
    const job = this.require(jobId)
    const now = this.now()
    for (const subtask of (this.subtasksById.get(jobId) ?? []).filter(s => s.state === 'pending').slice(0, count)) {
      Object.assign(subtask, { state: 'committed', attempts: subtask.attempts + 1, worker, assignedAt: now, startedAt: now, finishedAt: now, price: 100_000 })
      job.spent += 100_000
      this.events?.emit('subtask:committed', { jobId, subtaskId: subtask.id, type: subtask.type, worker, attempt: subtask.attempts })
    }
    job.state = 'running'
    job.progress.committed = this.count(jobId, 'committed')
    job.updatedAt = now
    this.events?.emit('job:progress', { jobId, type: job.type, state: job.state, ...job.progress })
  }

  /** Commit everything left and complete with `result`. */
  finish (jobId: string, result: unknown): void {
    this.advance(jobId, Number.MAX_SAFE_INTEGER)
    const job = this.require(jobId)
    this.results.set(jobId, result)
    job.state = 'completed'
    job.hasResult = true
    job.finishedAt = job.updatedAt = this.now()
    this.events?.emit('job:completed', { jobId, type: job.type, state: job.state })
  }

  /** Fail the job; what was committed stays (a partial result). */
  fail (jobId: string, error: ErrorBody, partial: unknown = null): void {
    const job = this.require(jobId)
    this.results.set(jobId, partial)
    this.end(job, 'failed', error)
    this.events?.emit('job:failed', { jobId, type: job.type, state: job.state, code: error.code, message: error.message })
  }

  private end (job: Job, state: 'failed' | 'cancelled', error: ErrorBody): void {
    const now = this.now()
    for (const subtask of this.subtasksById.get(job.id) ?? []) {
      if (subtask.state !== 'committed' && subtask.state !== 'failed') Object.assign(subtask, { state: 'cancelled', finishedAt: now })
    }
    Object.assign(job, { state, error, finishedAt: now, updatedAt: now, hasResult: this.results.has(job.id) })
    job.progress.running = 0
    if (state === 'cancelled') this.events?.emit('job:cancelled', { jobId: job.id, type: job.type, state })
  }

  private pieces (spec: JobSpec): number {
    const input = spec.input
    switch (input.kind) {
      case 'text': return Math.ceil(input.text.length / this.chunkChars)
      case 'items': return input.items.length
      case 'blob': {
        if (this.blobs?.has(input.hash) !== true) throw new AgoraError('E1082', `no uploaded input ${input.hash}`)
        return Math.ceil(this.blobs.readText(input.hash).length / this.chunkChars)
      }
    }
  }

  private count (jobId: string, state: Subtask['state']): number {
    return (this.subtasksById.get(jobId) ?? []).filter(s => s.state === state).length
  }

  private require (jobId: string): Job {
    const job = this.jobsById.get(jobId)
    if (job === undefined) throw new AgoraError('E1060', `no job ${jobId}`)
    return job
  }

  private store (): BlobStore {
    if (this.blobs === undefined) throw new AgoraError('E1080', 'this fake has no blob store')
    return this.blobs
  }
}

/** A control plane for servers built only to test the jobs routes. */
export function unusedControl (): ControlPlane {
  const unused = (): never => { throw new Error('not used in the jobs tests') }
  return {
    status: unused, statusDetail: unused, peers: unused, identity: unused, connect: unused, disconnect: unused, removePeer: unused, ping: unused, trust: unused, untrust: unused,
    ban: unused, unban: unused, offers: unused, localOffer: unused, offer: unused, withdraw: unused, announce: unused, models: unused,
    requests: unused, request: unused, providers: unused, addProvider: unused, removeProvider: unused, testProvider: unused, trustMode: unused, setTrustMode: unused,
    ready: () => true,
    requestStop: () => {}
  }
}
