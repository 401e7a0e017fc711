/**
 * The jobs API: submit, list, inspect, cancel and fetch results of jobs, list
 * job types, and upload large inputs in chunks (begin → PUT chunks in order
 * → complete, giving a blob hash a job names as its input). The coordinator
 * behind it is the `JobsApi`; without one every route answers 503 E1080.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { AgoraError } from '../../errors.ts'
import { ROUTES, API_PREFIX, UPLOAD_CHUNK_MAX_BYTES } from '../../client/routes.ts'
import { jobsQuery, jobIdParam, jobQuery, uploadBody, uploadIdParam, uploadChunkQuery, completeUploadBody } from '../../client/schemas.ts'
import { jobSpecSchema, type JobInput, type JobSpecInput } from '../../jobs/types.ts'
import type { JobsApi } from '../../jobs/api-types.ts'
import { formatBytes } from '../../jobs/blobs/index.ts'
import { parse } from './control.ts'
import { heldBackJson, jobJson, subtaskJson, verificationSummary } from './jobs-json.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

/** jobs.maxInlineInputBytes' default. */
export const DEFAULT_MAX_INLINE_INPUT_BYTES = 1024 * 1024

export interface JobsRoutesInit {
  /** Largest inline input (jobs.maxInlineInputBytes); larger ones are refused with 413 E1002. */
  maxInlineInputBytes?: number
}

export async function registerJobsRoutes (app: FastifyInstance, { jobs }: { jobs?: JobsApi | undefined }, init: JobsRoutesInit = {}): Promise<void> {
  const maxInline = init.maxInlineInputBytes ?? DEFAULT_MAX_INLINE_INPUT_BYTES
  // JSON escapes can take 6 bytes per input byte: the body may be larger than the input it carries
  const submitBodyLimit = maxInline * 6 + 64 * 1024
  const api = (): JobsApi => {
    if (jobs === undefined) throw new AgoraError('E1080', 'jobs are not available on this node')
    return jobs
  }

  await app.register(async scope => {
    // bodies over a route's limit get the jobs room's own errors, then the server's handler
    scope.setErrorHandler((err: FastifyError, request) => {
      if (err.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw err
      if (request.method === 'POST' && request.routeOptions.url === ROUTES.submitJob.path) throw inlineTooLarge(Number(request.headers['content-length'] ?? submitBodyLimit), maxInline, 'request carrying the inline input')
      if (request.method === 'PUT' && request.routeOptions.url === ROUTES.appendUpload.path) {
        throw new AgoraError('E502', 'the chunk is too large', { why: `a chunk may be at most ${formatBytes(UPLOAD_CHUNK_MAX_BYTES)}`, hint: 'send the file in smaller chunks' })
      }
      throw err
    })

    scope.get(path(ROUTES.jobs.path), async request => {
      const { state, status, limit } = parse(jobsQuery, request.query, 'query')
      return api().list({ state: state ?? status, limit }).map(jobJson)
    })
    scope.post(path(ROUTES.submitJob.path), { bodyLimit: submitBodyLimit }, async request => {
      const spec = parse(jobSpecSchema, request.body, 'body')
      const size = inlineBytes(spec.input)
      if (size > maxInline) throw inlineTooLarge(size, maxInline)
      // the body as sent: the coordinator reads its credits itself (the parsed spec holds micro-credits)
      return jobJson(await api().submit(request.body as JobSpecInput))
    })
    scope.get(path(ROUTES.jobTypes.path), async () => api().types())
    scope.get(path(ROUTES.job.path), async request => {
      const { id } = parse(jobIdParam, request.params, 'path')
      const { subtasks } = parse(jobQuery, request.query, 'query')
      const job = api().get(id)
      if (job === undefined) throw new AgoraError('E1060', `no job '${id}'`)
      if (subtasks === 'false') return jobJson(job)
      const rows = api().subtasks(id)
      return { ...jobJson(job), verification: verificationSummary(rows), heldBack: heldBackJson(api().heldBack(job.id)), subtasks: rows.map(subtaskJson) }
    })
    scope.get(path(ROUTES.jobResult.path), async request => api().result(parse(jobIdParam, request.params, 'path').id))
    scope.post(path(ROUTES.cancelJob.path), async request => jobJson(await api().cancel(parse(jobIdParam, request.params, 'path').id)))

    scope.post(path(ROUTES.beginUpload.path), async request => api().beginUpload(parse(uploadBody, request.body, 'body').size))
    scope.post(path(ROUTES.completeUpload.path), async request => {
      const { id } = parse(uploadIdParam, request.params, 'path')
      const { sha256 } = parse(completeUploadBody, request.body, 'body')
      return api().completeUpload(id, sha256)
    })

    // chunks are raw bytes: an octet-stream parser in a scope of their own
    await scope.register(async chunks => {
      chunks.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: UPLOAD_CHUNK_MAX_BYTES }, (_request, body, done) => { done(null, body) })
      chunks.put(path(ROUTES.appendUpload.path), { bodyLimit: UPLOAD_CHUNK_MAX_BYTES }, async request => {
        const { id } = parse(uploadIdParam, request.params, 'path')
        const { offset } = parse(uploadChunkQuery, request.query, 'query')
        if (!Buffer.isBuffer(request.body)) throw new AgoraError('E502', 'the chunk could not be read', { why: 'send it as Content-Type: application/octet-stream' })
        return api().appendUpload(id, offset, request.body)
      })
    })
  })
}

/** Bytes an inline input takes: UTF-8 text, or items as JSON. */
export function inlineBytes (input: JobInput): number {
  switch (input.kind) {
    case 'text': return Buffer.byteLength(input.text, 'utf8')
    case 'items': return Buffer.byteLength(JSON.stringify(input.items), 'utf8')
    case 'blob': return 0
  }
}

function inlineTooLarge (size: number, limit: number, what = 'inline input'): AgoraError {
  return new AgoraError('E1002', `the ${what} is ${formatBytes(size)}, over the ${formatBytes(limit)} limit (jobs.maxInlineInputBytes)`, {
    hint: 'pass it as a file: `agora jobs submit --file F` uploads it in chunks (POST /api/v1/uploads) and submits {"kind": "blob", "hash", "size"}',
    details: { size, limit }
  })
}
