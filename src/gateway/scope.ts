/**
 * One request in flight through the router: its id, clock, attempts, the
 * signal that ends it (the client gone, or totalMs), and the shapes the
 * attempt loop hands around. Kept apart from router.ts, which is the loop.
 */
import { randomUUID } from 'node:crypto'
import { AgoraError } from '../errors.ts'
import type { Candidate, Operation } from './candidates.ts'
import type { PaidAttempt } from './payments.ts'
import type { PricedChatEvent } from './remote/client.ts'
import type { RequestContext, Requester } from './types.ts'
import type { Usage } from '../providers/index.ts'
import type { Micro } from '../market/amount.ts'

export interface Scope {
  id: string
  op: Operation
  model: string
  requester: Requester
  ts: number
  t0: number
  signal: AbortSignal
  attempts: number
  last: Candidate | undefined
  /** Estimated prompt tokens: what a request cut short is metered with, lacking the engine's usage, and what a paid attempt holds for. */
  promptTokens: number
  /** The request's max_tokens (chat), for the hold of a paid attempt. */
  maxTokens: number | undefined
  dispose: () => void
}

/** A candidate that produced its first event (chat) or its result (embeddings). */
export interface Started<T> {
  candidate: Candidate
  value: T
  /** Aborted with the request's scope too; `release` stops following the scope. */
  attempt: AbortController
  release: () => void
  firstTokenMs: number
  /** How this attempt is paid (a priced peer), if it is. */
  paid: PaidAttempt | undefined
}

export interface ChatStart {
  iterator: AsyncIterator<PricedChatEvent>
  first: PricedChatEvent
}

export interface Settlement {
  candidate?: Candidate | undefined
  usage?: Usage
  firstTokenMs?: number
  err?: unknown
  cancelled?: boolean
  /** What was captured for a paid attempt (instead of the offer's price of the usage). */
  price?: Micro | undefined
}

export interface ScopeInit {
  op: Operation
  model: string
  ctx: RequestContext
  totalMs: number
  now: number
  promptTokens?: number
  maxTokens?: number | undefined
}

/** A new request: aborted by the client's signal (E940) or after totalMs (E938). */
export function openScope (init: ScopeInit): Scope {
  const { ctx, totalMs } = init
  const controller = new AbortController()
  const onAbort = (): void => { controller.abort(new AgoraError('E940', 'the client cancelled the request')) }
  if (ctx.signal.aborted) onAbort()
  else ctx.signal.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => {
    controller.abort(new AgoraError('E938', `the request took longer than ${totalMs} ms`, { details: { totalMs } }))
  }, totalMs)
  timer.unref()
  return {
    id: randomUUID(),
    op: init.op,
    model: init.model,
    requester: ctx.requester,
    ts: init.now,
    t0: performance.now(),
    signal: controller.signal,
    attempts: 0,
    last: undefined,
    promptTokens: init.promptTokens ?? 0,
    maxTokens: init.maxTokens,
    dispose: () => {
      clearTimeout(timer)
      ctx.signal.removeEventListener('abort', onAbort)
    }
  }
}
