/**
 * One attempt on a peer over /agora/task/1: offer, then read accepted →
 * progress* → result (inline, or a reference fetched on a second stream in
 * chunks), each read under the attempt's deadlines. Frames out of order
 * are a malformed answer (E1045); a refusal is E1040.
 */
import { AgoraError, isAgoraError } from '../../errors.ts'
import { raceAbort } from '../../abort.ts'
import { sha256Hex } from '../protocol/hash.ts'
import type { DispatchDeadlines } from './deadlines.ts'
import type { ResultFetchBudget } from './fetch-budget.ts'
import type { DispatchMetrics } from './metrics.ts'
import type { TaskProtocol } from '../protocol/protocol.ts'
import type { ResultRef, TaskFrame, TaskRequest } from '../protocol/schema.ts'
import type { DispatchOptions, TaskAssignment } from '../protocol/types.ts'
import type { ReqResp } from '../../protocols/index.ts'

export interface RawResult {
  result: unknown
  receipt: string
  /** Gives back the fetch budget's room a result fetched by reference holds until it is checked. */
  release?: () => void
}

export interface RemoteAttemptInit {
  reqresp: Pick<ReqResp, 'requestStream'>
  protocol: TaskProtocol
  worker: string
  assignment: TaskAssignment
  deadlines: DispatchDeadlines
  options: DispatchOptions
  maxResultBytes: number
  /** The node's room for results being fetched, shared by every attempt. */
  fetchBudget: ResultFetchBudget
  metrics: DispatchMetrics | undefined
}

export function malformed (worker: string, key: string, why: string): AgoraError {
  return new AgoraError('E1045', `${worker} sent a malformed answer for ${key}`, { why, details: { worker, key } })
}

/** A refusal as the coordinator reads it (E1040, no blame). */
export function refusal (worker: string, key: string, frame: Extract<TaskFrame, { type: 'refused' }>, cause?: AgoraError): AgoraError {
  return new AgoraError('E1040', `${worker} refused subtask ${key}`, {
    why: `${frame.reason}: ${frame.message}`,
    details: { worker, key, reason: frame.reason, ...(frame.retryAfterMs === undefined ? {} : { retryAfterMs: frame.retryAfterMs }) },
    ...(cause === undefined ? {} : { cause })
  })
}

/** Access refusals the worker's engine sends before reading our request (trust mode, ban, not trusted). */
const ACCESS_CODES: ReadonlySet<string> = new Set(['E900', 'E901', 'E902'])

/** A worker that will not serve us at all refused, like a `refused: access` frame: no blame. */
function asRefusal (worker: string, request: TaskRequest, err: unknown): unknown {
  if (!isAgoraError(err) || !ACCESS_CODES.has(err.code)) return err
  const key = request.kind === 'offer' ? request.assignment.key : request.key
  return refusal(worker, key, { type: 'refused', reason: 'access', message: `${err.code}: ${err.what}` }, err)
}

/** Frames of one request, each awaited under the deadlines; the stream is closed when we leave. */
async function * frames (init: RemoteAttemptInit, request: TaskRequest): AsyncGenerator<TaskFrame, void, undefined> {
  const { deadlines } = init
  const stream = init.reqresp.requestStream(init.worker, init.protocol, request, { signal: deadlines.signal })
  let finished = false
  try {
    while (true) {
      const next = await raceAbort(stream.next(), deadlines.signal).catch((err: unknown) => { throw asRefusal(init.worker, request, err) })
      if (next.done === true) {
        finished = true
        return
      }
      yield next.value
    }
  } finally {
    // left early (a refusal, a bad frame, a timeout): close the stream, so the worker stops too
    if (!finished) void stream.return().catch(() => {})
  }
}

export async function remoteAttempt (init: RemoteAttemptInit): Promise<RawResult> {
  const { worker, assignment, deadlines, options } = init
  const { key } = assignment
  let accepted = false
  let answer: Extract<TaskFrame, { type: 'result' }> | undefined
  let refused: Extract<TaskFrame, { type: 'refused' }> | undefined
  deadlines.arm('accept')
  try {
    for await (const frame of frames(init, { kind: 'offer', assignment })) {
      if (answer !== undefined || refused !== undefined) throw malformed(worker, key, `a ${frame.type} frame after the ${answer === undefined ? 'refusal' : 'result'}`)
      if (frame.type === 'refused') {
        if (accepted) throw malformed(worker, key, 'a refusal after accepting')
        // read on to the end of the answer, so that the stream can carry the next request
        refused = frame
        continue
      }
      if (frame.type === 'chunk') throw malformed(worker, key, 'a chunk frame in answer to an offer')
      if (frame.type === 'accepted') {
        if (accepted) throw malformed(worker, key, 'accepted twice')
        accepted = true
        options.onAccepted?.()
      } else if (!accepted) {
        throw malformed(worker, key, `a ${frame.type} frame before accepting`)
      } else if (frame.type === 'progress') {
        options.onProgress?.(frame.fraction)
      } else {
        answer = frame
      }
      deadlines.arm('progress')
    }
  } catch (err) {
    throw accepted ? failedAfterAccepting(worker, key, err) : err
  }
  if (refused !== undefined) throw refusal(worker, key, refused)
  if (answer === undefined) throw malformed(worker, key, accepted ? 'the answer ended without a result' : 'the answer ended without accepting or refusing')
  if (answer.ref !== undefined) {
    const fetched = await fetchResult(init, answer.ref)
    return { result: fetched.value, receipt: answer.receipt, release: fetched.release }
  }
  return { result: answer.result, receipt: answer.receipt }
}

/**
 * Once a worker has accepted, it can no longer refuse: a rate-limit or
 * access error it sends then (codes the coordinator otherwise reads as a
 * refusal, which uses no attempt and blames nobody) is a failed attempt,
 * or a worker could accept and bounce the same subtask forever.
 */
function failedAfterAccepting (worker: string, key: string, err: unknown): unknown {
  if (!isAgoraError(err) || !(err.code === 'E1040' || err.code === 'E206' || ACCESS_CODES.has(err.code))) return err
  // an access code reaches us already read as a refusal: report what the worker sent
  const sent = err.code === 'E1040' && isAgoraError(err.cause) ? err.cause : err
  return new AgoraError('E1044', `${worker} failed subtask ${key} after accepting it`, { why: `${sent.code}: ${sent.what}`, details: { worker, key, remoteCode: sent.code }, cause: err })
}

/**
 * Fetch a result by reference, once the node has room for it: chunks in
 * order, exactly `ref.size` bytes hashing to `ref.hash`, then JSON. The
 * room is held until the caller releases it (after checking the result).
 */
async function fetchResult (init: RemoteAttemptInit, ref: ResultRef): Promise<{ value: unknown, release: () => void }> {
  const { worker, assignment, deadlines } = init
  if (ref.size > init.maxResultBytes) throw malformed(worker, assignment.key, `a result of ${ref.size} bytes, the limit is ${init.maxResultBytes}`)
  // waiting for room is our doing, not the worker's: both clocks stop meanwhile (the caller can still cancel)
  const resume = deadlines.pause()
  const release = await init.fetchBudget.reserve(ref.size, deadlines.signal, worker)
  resume()
  try {
    return { value: await fetchAndParse(init, ref), release }
  } catch (err) {
    release()
    throw err
  }
}

async function fetchAndParse (init: RemoteAttemptInit, ref: ResultRef): Promise<unknown> {
  const { worker, assignment, deadlines } = init
  const { key } = assignment
  const chunks: Buffer[] = []
  let size = 0
  deadlines.arm('progress')
  for await (const frame of frames(init, { kind: 'fetch', key, hash: ref.hash })) {
    if (frame.type !== 'chunk') throw malformed(worker, key, `a ${frame.type} frame in a fetched result`)
    const chunk = Buffer.from(frame.data, 'base64')
    size += chunk.byteLength
    if (size > ref.size) throw malformed(worker, key, `more than the ${ref.size} bytes announced`)
    chunks.push(chunk)
    deadlines.arm('progress')
  }
  if (size !== ref.size) throw malformed(worker, key, `${size} bytes fetched, ${ref.size} announced`)
  const bytes = Buffer.concat(chunks, size)
  chunks.length = 0 // the pieces can go before the text is decoded
  if (sha256Hex(bytes) !== ref.hash) throw malformed(worker, key, 'the fetched result does not match its hash')
  init.metrics?.fetchedBytes.inc(size)
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown
  } catch (err) {
    throw malformed(worker, key, `the fetched result is not JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
}
