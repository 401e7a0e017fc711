/**
 * The inference gateway's router: resolve a model to candidates (local
 * providers, then peers whose offer lists it; candidates.ts), rank them by
 * strategy and score (scoring.ts), then try them in order. A candidate that
 * fails before its first event is given up — breaker and peer book told,
 * backoff with jitter — and the next one tried, up to `attempts`; once the
 * first event is in hand the run belongs to that candidate and a later error
 * reaches the client (a token already did). Every request ends in one
 * metering row, whatever its outcome. An attempt at a peer that charges is
 * paid per request through the market (payments.ts): held before it goes
 * out, captured when it completes, released when it ends; a candidate the
 * wallet cannot pay is passed over (E1101 when none is left).
 *
 * Timeouts: the gateway enforces firstTokenMs and idleMs on local providers;
 * the remote client enforces its own on peers and the gateway keeps a
 * backstop at dialMs + the same timeout. totalMs bounds the whole request.
 */
import { childController } from '../abort.ts'
import { AgoraError } from '../errors.ts'
import { backoffDelay } from '../peers/index.ts'
import { CircuitBreakers, type BreakerSnapshot, type BreakerTransition } from './breaker.ts'
import { findCandidates, listModels, parseModelRef, type Candidate, type Operation } from './candidates.ts'
import { GatewayPayments, type PaidAttempt } from './payments.ts'
import { openScope, type ChatStart, type Scope, type Settlement, type Started } from './scope.ts'
import { blameOf, codeOf, describe, reasonOf, sleep, withTimeout } from './deadline.ts'
import { priceOwed } from './metering/metering.ts'
import { estimateEmbeddingsTokens, estimatePromptTokens } from './access/estimate.ts'
import { createRouterMetrics, type RouterMetrics } from './router-metrics.ts'
import { GATEWAY_DEFAULTS, type GatewayComponents, type GatewayInit, type ScoreWeights } from './router-options.ts'
import { CandidateStats, loadKey, rankCandidates, type ScoreInput } from './scoring.ts'
import { withRetryAfter } from './remote/session.ts'
import type { CallPayment, PricedChatEvent, PricedEmbeddingsResult } from './remote/index.ts'
import type { ChatRun, EmbeddingsRun, Gateway, GatewayModel, RequestContext, RoutingStrategy } from './types.ts'
import type { Logger } from '../observability/logger.ts'
import { featuresOf } from '../providers/inference.ts'
import { AnswerBounds } from './answer-bounds.ts'
import type { ChatEvent, ChatFeature, ChatRequest, EmbeddingsRequest, Usage } from '../providers/index.ts'

/** A serving peer's access rules said no (trust mode, a ban, its model list): its answer is the request's, not a failure to retry. */
const ACCESS_REFUSALS = new Set(['E900', 'E901', 'E902', 'E903'])

export class InferenceGateway implements Gateway {
  private readonly c: GatewayComponents
  private readonly log: Logger
  private readonly metrics: RouterMetrics | undefined
  private readonly breakers: CircuitBreakers
  private readonly payments: GatewayPayments
  private readonly stats = new CandidateStats()
  private readonly strategy: RoutingStrategy
  private readonly attempts: number
  private readonly backoffMs: number
  private readonly timeouts: { dialMs: number, firstTokenMs: number, idleMs: number, totalMs: number }
  private readonly weights: ScoreWeights
  private readonly random: () => number
  private readonly now: () => number

  constructor (components: GatewayComponents, init: GatewayInit = {}) {
    this.c = components
    this.log = components.logger.forComponent('agora:gateway')
    this.metrics = createRouterMetrics(components.metrics)
    this.now = init.now ?? Date.now
    this.random = init.random ?? Math.random
    this.strategy = init.strategy ?? GATEWAY_DEFAULTS.strategy
    this.attempts = Math.max(1, init.attempts ?? GATEWAY_DEFAULTS.attempts)
    this.backoffMs = init.backoffMs ?? GATEWAY_DEFAULTS.backoffMs
    this.timeouts = { ...GATEWAY_DEFAULTS.timeouts, ...init.timeouts }
    this.weights = { ...GATEWAY_DEFAULTS.weights, ...init.weights }
    this.breakers = new CircuitBreakers({
      failures: init.breakerFailures ?? GATEWAY_DEFAULTS.breakerFailures,
      cooldownMs: init.breakerCooldownMs ?? GATEWAY_DEFAULTS.breakerCooldownMs,
      now: this.now
    })
    this.payments = new GatewayPayments({ market: components.market, peerBook: components.peerBook, log: this.log }, {
      holdTokens: init.holdTokens ?? GATEWAY_DEFAULTS.holdTokens,
      totalMs: this.timeouts.totalMs,
      now: this.now
    })
  }

  /** Local providers' models (owned by us, free, latency 0), then every model in a peer's offer (banned peers left out). */
  models (): GatewayModel[] {
    return listModels(this.c)
  }

  async chat (request: ChatRequest, ctx: RequestContext): Promise<ChatRun> {
    const ref = parseModelRef(request.model)
    const scope = this.open('chat', ref.model, ctx, estimatePromptTokens(request), request.max_tokens)
    const upstream: ChatRequest = { ...request, model: ref.model }
    let started: Started<ChatStart>
    try {
      const candidates = this.rank(scope, ctx, ref.target, featuresOf(request))
      started = await this.attemptAll(scope, candidates, async (candidate, signal, payment) => await this.startChat(candidate, upstream, signal, payment))
    } catch (err) {
      this.settle(scope, { err })
      scope.dispose()
      throw err
    }
    const { candidate } = started
    return { id: scope.id, server: candidate.server, provider: candidate.providerId, attempts: scope.attempts, events: this.follow(scope, started) }
  }

  async embeddings (request: EmbeddingsRequest, ctx: RequestContext): Promise<EmbeddingsRun> {
    const ref = parseModelRef(request.model)
    const scope = this.open('embeddings', ref.model, ctx, estimateEmbeddingsTokens(request))
    const upstream: EmbeddingsRequest = { ...request, model: ref.model }
    let paid: PaidAttempt | undefined
    try {
      const candidates = this.rank(scope, ctx, ref.target)
      const started = await this.attemptAll(scope, candidates, async (candidate, signal, payment) => await this.callEmbeddings(candidate, upstream, signal, payment))
      const { candidate, value } = started
      paid = started.paid
      started.release()
      this.stats.end(loadKey(candidate))
      this.succeeded(candidate)
      const usage = { promptTokens: value.usage.promptTokens, completionTokens: 0 }
      const price = paid === undefined ? undefined : this.payments.capture(paid, value.price, usage)
      this.settle(scope, { candidate, usage, firstTokenMs: started.firstTokenMs, price })
      return { id: scope.id, server: candidate.server, provider: candidate.providerId, attempts: scope.attempts, vectors: value.vectors, usage: value.usage }
    } catch (err) {
      this.settle(scope, { err })
      throw err
    } finally {
      this.payments.close(paid)
      scope.dispose()
    }
  }

  /** Circuit breakers that are not closed, or counting failures (diagnostics). */
  breakerStates (): BreakerSnapshot[] {
    return this.breakers.snapshot()
  }

  private open (op: Operation, model: string, ctx: RequestContext, promptTokens = 0, maxTokens?: number): Scope {
    return openScope({ op, model, ctx, totalMs: this.timeouts.totalMs, now: this.now(), promptTokens, maxTokens })
  }

  private rank (scope: Scope, ctx: RequestContext, modelTarget: string | undefined, features: ChatFeature[] = []): Candidate[] {
    const strategy = ctx.strategy ?? this.strategy
    const found = findCandidates({ ...this.c, breakers: this.breakers }, {
      model: scope.model,
      op: scope.op,
      strategy,
      target: modelTarget ?? ctx.target,
      maxPrice: ctx.maxPrice,
      features
    })
    return rankCandidates(found, strategy, c => this.scoreInput(c), { weights: this.weights, random: this.random })
  }

  private scoreInput (c: Candidate): ScoreInput {
    const measured = this.stats.latencyOf(c.key)
    if (c.route === 'local') return { latencyMs: measured ?? 0, inFlight: this.stats.inFlight(loadKey(c)), reputation: 1, price: c.price }
    return {
      latencyMs: measured ?? this.c.peerBook.view(c.server)?.latencyMs ?? null,
      inFlight: this.stats.inFlight(loadKey(c)),
      reputation: this.c.peerBook.reputation(c.server),
      price: c.price
    }
  }

  /** Try candidates in order until one produces its first event; E933 with every error when none does (E1101 when none could be paid). */
  private async attemptAll<T> (scope: Scope, candidates: Candidate[], start: (c: Candidate, signal: AbortSignal, payment: CallPayment | undefined) => Promise<T>): Promise<Started<T>> {
    const errors: Array<{ server: string, provider: string, code: string, message: string }> = []
    const rateLimited: AgoraError[] = []
    const refused: AgoraError[] = []
    let unpaid: unknown
    for (const candidate of candidates) {
      if (scope.attempts >= this.attempts) break
      if (scope.signal.aborted) throw reasonOf(scope.signal)
      if (scope.attempts > 0) {
        await sleep(backoffDelay(scope.attempts - 1, this.backoffMs, GATEWAY_DEFAULTS.maxBackoffMs, this.random(), GATEWAY_DEFAULTS.backoffJitter), scope.signal)
      }
      // the breaker may have opened (or its probe been taken) since the candidates were listed
      if (!this.breakers.acquire(candidate.key)) {
        errors.push({ server: candidate.server, provider: candidate.providerId, code: 'E934', message: 'circuit breaker open' })
        continue
      }
      let paid: PaidAttempt | undefined
      try {
        paid = this.payments.open(candidate, { requestId: scope.id, attempt: scope.attempts + 1, promptTokens: scope.promptTokens, maxTokens: scope.maxTokens, op: scope.op })
      } catch (err) {
        // the wallet cannot pay this one (E1101): no fault of the candidate's, and the next may be free
        this.breakers.release(candidate.key)
        unpaid ??= err
        errors.push({ server: candidate.server, provider: candidate.providerId, ...describe(err) })
        continue
      }
      scope.attempts++
      scope.last = candidate
      const { controller: attempt, release } = childController(scope.signal)
      const t0 = performance.now()
      this.stats.begin(loadKey(candidate))
      try {
        const value = await start(candidate, attempt.signal, this.payments.payment(paid))
        const firstTokenMs = performance.now() - t0
        this.stats.observeLatency(candidate.key, firstTokenMs)
        return { candidate, value, attempt, release, firstTokenMs, paid }
      } catch (err) {
        this.payments.close(paid)
        this.stats.end(loadKey(candidate))
        attempt.abort(err)
        release()
        if (scope.signal.aborted) {
          this.breakers.release(candidate.key)
          throw reasonOf(scope.signal)
        }
        this.failed(candidate, err)
        this.metrics?.failovers.inc({ code: codeOf(err) })
        const described = describe(err)
        if (err instanceof AgoraError && (err.code === 'E904' || err.code === 'E905')) rateLimited.push(withRetryAfter(err))
        if (err instanceof AgoraError && ACCESS_REFUSALS.has(err.code)) refused.push(err)
        errors.push({ server: candidate.server, provider: candidate.providerId, ...described })
        this.log.debug({ id: scope.id, model: scope.model, server: candidate.server, provider: candidate.providerId, attempt: scope.attempts, err: described.message }, 'candidate failed before its first token')
      }
    }
    if (scope.attempts === 0 && unpaid !== undefined) {
      const cause = unpaid instanceof AgoraError ? unpaid : undefined
      throw new AgoraError('E1101', `the wallet cannot pay for model '${scope.model}' on any candidate`, { why: cause?.why ?? cause?.what, cause: unpaid, details: { model: scope.model, errors } })
    }
    if (scope.attempts === 0) {
      throw new AgoraError('E934', `no candidate for model '${scope.model}' is available now`, { why: 'circuit breaker open', details: { model: scope.model, errors } })
    }
    // every candidate said "slow down": that is the answer (429 with the earliest retry), not a failure
    const soonest = rateLimited.length === errors.length ? rateLimited.sort((x, y) => retryAfter(x) - retryAfter(y))[0] : undefined
    if (soonest !== undefined) throw soonest
    // every candidate's access rules said no (trust mode, a ban, its model list): 403 with the peer's reason — retrying will not help
    const denied = refused.length === errors.length ? refused[0] : undefined
    if (denied !== undefined) throw new AgoraError(denied.code, denied.what, { why: denied.why, hint: denied.hint, cause: denied, details: { model: scope.model, errors } })
    const last = errors.at(-1)
    throw new AgoraError('E933', `every candidate for model '${scope.model}' failed`, {
      why: `${scope.attempts} tried${last === undefined ? '' : `; last: [${last.code}] ${last.message}`}`,
      details: { model: scope.model, attempts: scope.attempts, errors }
    })
  }

  private async startChat (candidate: Candidate, request: ChatRequest, signal: AbortSignal, payment: CallPayment | undefined): Promise<ChatStart> {
    const iterable: AsyncIterable<PricedChatEvent> = candidate.route === 'local'
      ? candidate.provider.chatStream(request, { signal })
      : this.c.remote.chatStream(candidate.server, request, { signal, payment })
    const iterator = iterable[Symbol.asyncIterator]()
    try {
      const first = await withTimeout(iterator.next(), this.timeoutFor(candidate, 'firstTokenMs'), signal,
        () => new AgoraError('E936', `no first token from ${candidate.server}/${candidate.providerId}`, { why: `waited ${this.timeoutFor(candidate, 'firstTokenMs')} ms` }))
      if (first.done === true) throw new AgoraError('E939', `${candidate.server}/${candidate.providerId} ended the answer before its first event`)
      return { iterator, first: first.value }
    } catch (err) {
      closeQuietly(iterator)
      throw err
    }
  }

  private async callEmbeddings (candidate: Candidate, request: EmbeddingsRequest, signal: AbortSignal, payment: CallPayment | undefined): Promise<PricedEmbeddingsResult> {
    const ms = this.timeoutFor(candidate, 'firstTokenMs')
    const call: Promise<PricedEmbeddingsResult> = candidate.route === 'local'
      ? candidate.provider.embeddings(request, { signal })
      : this.c.remote.embeddings(candidate.server, request, { signal, payment })
    const result = await withTimeout(call, ms, signal, () => new AgoraError('E936', `no embeddings from ${candidate.server}/${candidate.providerId}`, { why: `waited ${ms} ms` }))
    if (result.vectors.length !== request.input.length) {
      throw new AgoraError('E939', `${candidate.server}/${candidate.providerId} answered ${result.vectors.length} vectors for ${request.input.length} inputs`)
    }
    return result
  }

  /** The chosen candidate's answer: its first event, then the rest, with the idle timeout; settles the request once. */
  private async * follow (scope: Scope, s: Started<ChatStart>): AsyncGenerator<ChatEvent, void, undefined> {
    const { candidate } = s
    const signal = s.attempt.signal
    const { iterator } = s.value
    const idleMs = this.timeoutFor(candidate, 'idleMs')
    let settled = false
    let event = s.value.first
    // an answer cut short has no usage from the engine: about one token per delta delivered
    let deltas = 0
    const partial = (): Usage => ({ promptTokens: scope.promptTokens, completionTokens: deltas })
    // a paid answer that did not complete captured nothing (the server issues nothing for it either)
    const unpaid = s.paid === undefined ? undefined : 0
    const bounds = new AnswerBounds(`${candidate.server}/${candidate.providerId}`)
    try {
      while (true) {
        bounds.check(event)
        if (event.type === 'done') {
          // settle before handing over `done`: a consumer may stop right after it
          settled = true
          this.succeeded(candidate)
          const price = s.paid === undefined ? undefined : this.payments.capture(s.paid, event.price, event.usage)
          this.settle(scope, { candidate, usage: event.usage, firstTokenMs: s.firstTokenMs, price })
          yield { type: 'done', finishReason: event.finishReason, usage: event.usage }
          return
        }
        deltas++
        yield event
        const next = await withTimeout(iterator.next(), idleMs, signal,
          () => new AgoraError('E937', `${candidate.server}/${candidate.providerId} went silent`, { why: `no event for ${idleMs} ms` }))
        if (next.done === true) throw new AgoraError('E939', `${candidate.server}/${candidate.providerId} ended the answer without a done event`)
        event = next.value
      }
    } catch (err) {
      if (!settled) {
        settled = true
        if (scope.signal.aborted) this.breakers.release(candidate.key)
        else this.failed(candidate, err)
        this.settle(scope, { candidate, err, usage: partial(), firstTokenMs: s.firstTokenMs, price: unpaid })
        s.attempt.abort(err)
      }
      throw err
    } finally {
      if (!settled) {
        // the consumer stopped reading before the end
        this.breakers.release(candidate.key)
        this.settle(scope, { candidate, cancelled: true, usage: partial(), firstTokenMs: s.firstTokenMs, price: unpaid })
        s.attempt.abort(new AgoraError('E940', 'the client stopped reading the answer'))
      }
      this.stats.end(loadKey(candidate))
      closeQuietly(iterator)
      this.payments.close(s.paid)
      s.release()
      scope.dispose()
    }
  }

  private timeoutFor (candidate: Candidate, name: 'firstTokenMs' | 'idleMs'): number {
    return this.timeouts[name] + (candidate.route === 'remote' ? this.timeouts.dialMs : 0)
  }

  private succeeded (candidate: Candidate): void {
    this.transition(candidate, this.breakers.success(candidate.key))
    if (candidate.route === 'remote') this.c.peerBook.record(candidate.server, 'success')
  }

  private failed (candidate: Candidate, err: unknown): void {
    this.transition(candidate, this.breakers.failure(candidate.key))
    if (candidate.route !== 'remote') return
    const blame = blameOf(err)
    if (blame !== null) this.c.peerBook.record(candidate.server, blame)
  }

  private transition (candidate: Candidate, transition: BreakerTransition): void {
    if (transition === null) return
    this.metrics?.breaker.inc({ transition })
    this.log.info({ key: candidate.key, transition }, `circuit breaker ${transition}`)
  }

  /** The request's one metering row. */
  private settle (scope: Scope, s: Settlement): void {
    const code = s.err !== undefined ? codeOf(s.err) : s.cancelled === true ? 'E940' : null
    const outcome = code === null ? 'ok' : code === 'E940' ? 'cancelled' : 'error'
    const usage = s.usage ?? { promptTokens: 0, completionTokens: 0 }
    const candidate = s.candidate ?? scope.last
    this.c.metering.record({
      id: scope.id,
      ts: scope.ts,
      requester: scope.requester,
      server: candidate?.server ?? 'none',
      provider: candidate?.providerId ?? null,
      model: scope.model,
      op: scope.op,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      firstTokenMs: s.firstTokenMs ?? null,
      totalMs: performance.now() - scope.t0,
      outcome,
      errorCode: code,
      // a paid attempt: what was captured. Otherwise what the client received before it left is owed; a server that failed is owed nothing
      price: s.price ?? (candidate !== undefined && (outcome === 'ok' || (outcome === 'cancelled' && usage.completionTokens > 0)) ? priceOwed(candidate.prices, usage) : 0),
      attempts: scope.attempts
    })
  }
}

function closeQuietly (iterator: AsyncIterator<ChatEvent | PricedChatEvent>): void {
  try {
    iterator.return?.()?.catch(() => {})
  } catch {
    // a broken iterator: nothing left to release
  }
}

function retryAfter (err: AgoraError): number {
  const ms = err.details?.retryAfterMs
  return typeof ms === 'number' ? ms : Number.POSITIVE_INFINITY
}
