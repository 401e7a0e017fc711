/**
 * The serving side of /agora/task/1: an offer runs through the TaskWorker
 * and its events become frames (a result whose canonical JSON is over the
 * inline limit goes as a reference {hash, size}); a fetch streams a held
 * result in base64 chunks, to the coordinator it was made for only. The
 * engine pulls the next frame when the transport took the previous one and
 * aborts the handler's signal when the caller goes away — that signal is
 * the one the worker follows, so the executor is aborted too.
 *
 * The `accepted` frame waits up to `acceptLingerMs` for the next one: a
 * quick task's acceptance and result then leave in one send (one muxer
 * frame, one encrypted record, one window update on each side instead of
 * two) — a priced task's result waits for its receipt's fsync, which
 * otherwise splits them. A slower task's acceptance leaves when the linger
 * ends, far inside the coordinator's accept deadline (5 s).
 */
import { AgoraError } from '../../errors.ts'
import { TASK_CHUNK_BYTES, TASK_INLINE_RESULT_BYTES, TASK_RATE_LIMIT, TASK_STALL_MS } from '../protocol/constants.ts'
import { createTaskProtocol, type TaskProtocol } from '../protocol/protocol.ts'
import type { TaskWorker, WorkerEvent } from './task-worker.ts'
import type { TaskFrame, TaskRequest } from '../protocol/schema.ts'
import type { TaskAssignment } from '../protocol/types.ts'
import type { AccessControl } from '../../gateway/access/index.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { HandlerContext, RateLimit, ReqResp } from '../../protocols/index.ts'

export interface TaskServerComponents {
  reqresp: Pick<ReqResp, 'handleStream' | 'unhandle'>
  worker: Pick<TaskWorker, 'run' | 'fetch'>
  /** Fetches are refused to peers access control refuses (the same rule as offers). */
  access: Pick<AccessControl, 'evaluate' | 'admitPeer'>
  logger: AgoraLogger
}

export interface TaskServerInit {
  /** Results over this many bytes (canonical JSON) go by reference. */
  inlineResultBytes?: number
  /** Raw bytes per chunk frame of a fetched result. */
  chunkBytes?: number
  /** The longest one frame may wait for a paused reader. */
  stallMs?: number
  /** Per-peer streams per second in the engine (a flood guard; slots are the real limit). */
  rateLimit?: RateLimit
  /** How long an `accepted` frame may wait to leave with the next (ACCEPT_LINGER_MS; 0: at once). */
  acceptLingerMs?: number
}

/** Long enough for a quick task's result (a receipt's fsync included), short beside the accept deadline. */
export const ACCEPT_LINGER_MS = 10

export class TaskServer {
  readonly protocol: TaskProtocol
  private readonly c: TaskServerComponents
  private readonly log: Logger
  private readonly inlineBytes: number
  private readonly chunkBytes: number
  private readonly acceptLingerMs: number
  private started = false

  constructor (components: TaskServerComponents, init: TaskServerInit = {}) {
    this.c = components
    this.log = components.logger.forComponent('agora:jobs:server')
    this.inlineBytes = init.inlineResultBytes ?? TASK_INLINE_RESULT_BYTES
    this.chunkBytes = Math.min(init.chunkBytes ?? TASK_CHUNK_BYTES, TASK_CHUNK_BYTES)
    this.acceptLingerMs = init.acceptLingerMs ?? ACCEPT_LINGER_MS
    this.protocol = createTaskProtocol({ responseMs: init.stallMs ?? TASK_STALL_MS }, init.rateLimit ?? TASK_RATE_LIMIT)
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await this.c.reqresp.handleStream(this.protocol, (request, context) => this.serve(request, context), { admit: peerId => this.c.access.admitPeer(peerId) })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.c.reqresp.unhandle(this.protocol.id)
  }

  private serve (request: TaskRequest, context: HandlerContext): AsyncGenerator<TaskFrame, void, undefined> {
    switch (request.kind) {
      case 'offer': return this.serveOffer(request.assignment, context)
      case 'fetch': return this.serveFetch(request.key, request.hash, context)
    }
  }

  private async * serveOffer (assignment: TaskAssignment, context: HandlerContext): AsyncGenerator<TaskFrame, void, undefined> {
    // ours as well as the caller's: leaving this generator (the engine stopped reading) ends the run too
    const leave = new AbortController()
    const events = this.c.worker.run(context.peerId, assignment, AbortSignal.any([context.signal, leave.signal]))
    let held: TaskFrame | undefined
    let pending: Promise<IteratorResult<WorkerEvent, void>> | undefined
    let finished = false
    try {
      while (true) {
        pending = events.next()
        let step = held === undefined ? await pending : await within(pending, this.acceptLingerMs)
        if (step === undefined) {
          // the linger ended first: the acceptance goes alone
          yield held as TaskFrame
          held = undefined
          step = await pending
        }
        pending = undefined
        if (step.done === true) break
        const event = step.value
        if (event.type === 'accepted' && this.acceptLingerMs > 0) {
          held = event
          continue
        }
        if (held !== undefined) {
          yield held
          held = undefined
        }
        yield this.frameOf(event)
      }
      if (held !== undefined) yield held
      finished = true
    } finally {
      // left early (the engine stopped reading): the run ends on the aborted signal; nobody reads the event awaited
      if (!finished) leave.abort(new AgoraError('E1050', `the coordinator left ${assignment.key}`))
      pending?.catch(() => {})
      await events.return(undefined)
    }
  }

  private frameOf (event: WorkerEvent): TaskFrame {
    if (event.type !== 'result') return event
    return event.bytes > this.inlineBytes
      ? { type: 'result', ref: { hash: event.hash, size: event.bytes }, receipt: event.receipt }
      : { type: 'result', result: event.result(), receipt: event.receipt }
  }

  private async * serveFetch (key: string, hash: string, context: HandlerContext): AsyncGenerator<TaskFrame, void, undefined> {
    const denied = this.c.access.evaluate(context.peerId, {})
    if (denied !== undefined) throw denied
    const entry = this.c.worker.fetch(context.peerId, key, hash)
    const bytes = entry.utf8
    this.log.debug({ key, bytes: bytes.byteLength, peerId: context.peerId }, 'serving a result by reference')
    for (let offset = 0; offset < bytes.byteLength; offset += this.chunkBytes) {
      if (context.signal.aborted) throw context.signal.reason instanceof AgoraError ? context.signal.reason : new AgoraError('E204', 'the caller went away')
      yield { type: 'chunk', data: bytes.subarray(offset, offset + this.chunkBytes).toString('base64') }
    }
  }
}

/** `promise`'s outcome, or undefined when `ms` pass first. */
async function within<T> (promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<undefined>(resolve => { timer = setTimeout(() => { resolve(undefined) }, ms) })])
  } finally {
    clearTimeout(timer)
  }
}
