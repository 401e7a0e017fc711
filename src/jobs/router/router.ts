/**
 * The jobs router: which workers can run a subtask, and which one to try
 * next. Candidates are the valid offers (this node's own included, marked
 * local) that pass filter.ts; each gets the deterministic score of
 * score.ts; the choice mixes that score with a Thompson draw over the
 * worker's decayed successes and failures for the task type (bandit.ts):
 *
 *   θ ~ Beta(1 + s, 1 + f)          per candidate, per choice
 *   value = (1 − e)·score + e·θ     e = jobs.exploration
 *   choose argmax value             explored: it is not the best score
 *
 * A worker caught returning wrong results (adaptive replication) has its
 * score multiplied by its share of the task type, halved per catch.
 * With e = 0 (or one candidate) the choice is the best score and no draw
 * is made. Workers in `request.exclude` are passed over unless nobody else
 * is left. Outcomes
 * feed the bandit and the peer book; a refusal feeds neither (a busy worker
 * is not a bad one), and this node's own outcomes stay out of the peer book
 * (it is not a peer). See docs/jobs.md, section Routing.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import { OUTCOME_WEIGHTS } from '../../peers/index.ts'
import { BanditStats } from './bandit.ts'
import { BanditRepository } from './bandit-repository.ts'
import { sampleBeta, type RandomSource } from './beta.ts'
import { ROUTER_DEFAULTS, type RouterWeights } from './constants.ts'
import { affordableOffers, capableOffers, requirementsOf, type OfferCandidate } from './filter.ts'
import { createJobRouterMetrics, ExplorationWindow, type JobRouterMetrics } from './metrics.ts'
import { recencyOf, scoreWorkers, type WorkerScoreInput } from './score.ts'
import { offerPrices } from '../../offers/prices.ts'
import type { JobRouterApi, RouteChoice, RouteRequest, WorkerCandidate } from './types.ts'
import type { AttemptOutcome } from '../types.ts'
import type { AgoraLogger, Logger } from '../../observability/logger.ts'
import type { OfferService } from '../../offers/index.ts'
import type { PeerBook, PeerView } from '../../peers/index.ts'
import type { Store } from '../../store/index.ts'
import type { Registry } from 'prom-client'

export interface JobRouterComponents {
  /** Everyone's valid offers (`list`) and this node's own (`local`): OfferService fits. */
  offers: Pick<OfferService, 'list' | 'local'>
  /** Reputation, ping latency and bans (`view`), outcomes (`record`): PeerBook fits. */
  peerBook: Pick<PeerBook, 'view' | 'record'>
  store: Pick<Store, 'db'>
  selfPeerId: string
  logger: AgoraLogger
  metrics?: Registry | undefined
  /** A worker's share of a task type, 0..1, multiplying its score (adaptive replication halves it per caught result); 1 when absent. */
  shareOf?: ((peerId: string, taskType: string) => number) | undefined
}

export interface JobRouterInit {
  /** Weight of the Thompson draw, 0..1 (jobs.exploration). */
  exploration?: number
  /** Half-life of the bandit's successes and failures (reputation.halfLifeMs). */
  halfLifeMs?: number
  /** Uniform [0, 1) source of the draws (Math.random by default). */
  random?: RandomSource
  /** The clock (ms). */
  now?: () => number
  weights?: Partial<RouterWeights>
  latencyScaleMs?: number
  /** Validity of a fresh offer (offers.ttlMs), for the recency term. */
  offerTtlMs?: number
  recencyHalfLifeMs?: number
  /** (peer, task type) pairs remembered at most. */
  maxArms?: number
  flushIntervalMs?: number
  /** Choices in the exploration-ratio window. */
  explorationWindow?: number
}

interface Ranked {
  candidate: WorkerCandidate
  excluded: boolean
}

export class JobRouter implements JobRouterApi {
  private readonly c: JobRouterComponents
  private readonly log: Logger
  private readonly metrics: JobRouterMetrics | undefined
  private readonly exploration: number
  private readonly random: RandomSource
  private readonly now: () => number
  private readonly weights: RouterWeights
  private readonly latencyScaleMs: number
  private readonly offerTtlMs: number
  private readonly recencyHalfLifeMs: number
  private readonly flushIntervalMs: number
  private readonly bandit: BanditStats
  private readonly window: ExplorationWindow
  private readonly running = new Map<string, number>()
  private loaded = false
  private timer: NodeJS.Timeout | undefined

  constructor (components: JobRouterComponents, init: JobRouterInit = {}) {
    this.c = components
    this.log = components.logger.forComponent('agora:jobs:router')
    this.metrics = createJobRouterMetrics(components.metrics)
    const exploration = init.exploration ?? ROUTER_DEFAULTS.exploration
    if (!(exploration >= 0 && exploration <= 1)) {
      throw new AgoraError('E300', 'jobs.exploration must be within [0, 1]', { why: `got ${exploration}`, details: { key: 'jobs.exploration', value: exploration } })
    }
    this.exploration = exploration
    this.random = init.random ?? Math.random
    this.now = init.now ?? Date.now
    this.weights = { ...ROUTER_DEFAULTS.weights, ...init.weights }
    this.latencyScaleMs = init.latencyScaleMs ?? ROUTER_DEFAULTS.latencyScaleMs
    this.offerTtlMs = init.offerTtlMs ?? ROUTER_DEFAULTS.offerTtlMs
    this.recencyHalfLifeMs = init.recencyHalfLifeMs ?? ROUTER_DEFAULTS.recencyHalfLifeMs
    this.flushIntervalMs = init.flushIntervalMs ?? ROUTER_DEFAULTS.flushIntervalMs
    this.bandit = new BanditStats(new BanditRepository(components.store.db), {
      halfLifeMs: init.halfLifeMs ?? ROUTER_DEFAULTS.halfLifeMs,
      maxArms: init.maxArms ?? ROUTER_DEFAULTS.maxArms
    })
    this.window = new ExplorationWindow(init.explorationWindow ?? ROUTER_DEFAULTS.explorationWindow)
  }

  /** Load the bandit's stats from the store and write changes behind every flushIntervalMs. */
  start (): void {
    this.ensureLoaded()
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { this.flushQuietly() }, this.flushIntervalMs)
    this.timer.unref()
  }

  /** Stop the timer and write what is pending. Before the store closes. */
  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.flushQuietly()
  }

  /** Write the bandit's pending changes now (one transaction); returns the rows written or deleted. */
  flush (): number {
    return this.bandit.flush()
  }

  candidates (request: RouteRequest): WorkerCandidate[] {
    return this.rank(request).map(r => r.candidate)
  }

  choose (request: RouteRequest): RouteChoice {
    const ranked = this.rank(request)
    const open = ranked.filter(r => !r.excluded)
    const pool = (open.length > 0 ? open : ranked).map(r => r.candidate)
    const best = pool[0] as WorkerCandidate
    let chosen = best
    if (this.exploration > 0 && pool.length > 1) {
      this.ensureLoaded()
      const now = this.now()
      let top = -Infinity
      for (const candidate of pool) {
        const arm = this.bandit.get(candidate.peerId, request.taskType, now)
        const theta = sampleBeta(1 + arm.successes, 1 + arm.failures, this.random)
        const value = (1 - this.exploration) * candidate.score + this.exploration * theta
        if (value > top) {
          top = value
          chosen = candidate
        }
      }
    }
    const explored = chosen.peerId !== best.peerId
    this.window.push(explored)
    if (this.metrics !== undefined) {
      this.metrics.choices.inc({ task_type: request.taskType })
      if (explored) this.metrics.explorations.inc()
      this.metrics.explorationRatio.set(this.window.ratio())
    }
    return { candidate: chosen, explored }
  }

  begin (peerId: string): void {
    this.running.set(peerId, this.inFlight(peerId) + 1)
  }

  end (peerId: string): void {
    const n = this.inFlight(peerId) - 1
    if (n > 0) this.running.set(peerId, n)
    else this.running.delete(peerId)
  }

  record (peerId: string, taskType: string, outcome: AttemptOutcome): void {
    // a refusal says the worker is busy or not allowed, not that it is bad
    if (outcome === 'refused') return
    this.ensureLoaded()
    const weight = OUTCOME_WEIGHTS[outcome]
    this.bandit.observe(peerId, taskType, { successes: weight.alpha, failures: weight.beta }, this.now())
    if (peerId !== this.c.selfPeerId) this.c.peerBook.record(peerId, outcome)
  }

  /** Our subtasks running on the worker now. */
  inFlight (peerId: string): number {
    return this.running.get(peerId) ?? 0
  }

  /** Explorations / choices over the recent window (the gauge's value). */
  explorationRatio (): number {
    return this.window.ratio()
  }

  /** The bandit's decayed stats of a worker for a task type (successes, failures, last success). */
  stats (peerId: string, taskType: string): { successes: number, failures: number, lastSuccessAt: number | null } {
    this.ensureLoaded()
    const arm = this.bandit.get(peerId, taskType, this.now())
    return { successes: arm.successes, failures: arm.failures, lastSuccessAt: arm.lastSuccessAt }
  }

  /** Every candidate, scored, best first; excluded ones after the others. Throws E1020 / E1021. */
  private rank (request: RouteRequest): Ranked[] {
    const req = requirementsOf(request)
    const views = new Map<string, PeerView | undefined>()
    let usable: OfferCandidate[]
    try {
      const capable = capableOffers(this.offerCandidates(views), req, ROUTER_DEFAULTS.closestOffers)
      usable = affordableOffers(capable, { maxPrice: request.constraints.maxPricePerSubtask, remainingBudget: request.remainingBudget }, req.taskType)
    } catch (err) {
      if (err instanceof AgoraError) {
        this.metrics?.noCandidate.inc({ reason: err.code === 'E1021' ? 'price' : 'missing' })
        this.log.debug({ taskType: req.taskType, code: err.code, why: err.why }, 'no worker for the request')
      }
      throw err
    }
    this.ensureLoaded()
    const now = this.now()
    const facts = usable.map(u => this.factsOf(u, u.local ? undefined : views.get(u.offer.node), request.taskType, now))
    const scores = scoreWorkers(facts, { weights: this.weights, latencyScaleMs: this.latencyScaleMs })
    const ranked: Ranked[] = usable.map((u, i) => {
      const f = facts[i] as WorkerScoreInput
      return {
        candidate: {
          peerId: u.offer.node,
          local: u.local,
          price: f.price,
          slotsIdle: f.slotsIdle,
          reputation: f.reputation,
          latencyMs: f.latencyMs,
          inFlight: f.inFlight,
          score: (scores[i] as number) * (this.c.shareOf?.(u.offer.node, request.taskType) ?? 1)
        },
        excluded: request.exclude?.has(u.offer.node) === true
      }
    })
    return ranked.sort((a, b) => Number(a.excluded) - Number(b.excluded) ||
      b.candidate.score - a.candidate.score ||
      Number(b.candidate.local) - Number(a.candidate.local) ||
      (a.candidate.peerId < b.candidate.peerId ? -1 : a.candidate.peerId > b.candidate.peerId ? 1 : 0))
  }

  /** Everyone's offers and ours (local), with what the peer book says of each node (one read per node). */
  private offerCandidates (views: Map<string, PeerView | undefined>): OfferCandidate[] {
    const self = this.c.selfPeerId
    const out: OfferCandidate[] = []
    for (const offer of this.c.offers.list()) {
      if (offer.node === self) continue
      const view = this.c.peerBook.view(offer.node)
      views.set(offer.node, view)
      out.push({ offer, local: false, banned: view?.banned === true })
    }
    const local = this.c.offers.local()
    if (local !== undefined) out.push({ offer: local, local: true, banned: false })
    return out
  }

  private factsOf (u: OfferCandidate, view: PeerView | undefined, taskType: string, now: number): WorkerScoreInput {
    const peer = u.offer.node
    const arm = this.bandit.get(peer, taskType, now)
    return {
      reputation: u.local ? 1 : view?.reputation ?? 0.5,
      price: offerPrices(u.offer).perTask,
      latencyMs: u.local ? 0 : view?.latencyMs ?? null,
      inFlight: this.inFlight(peer),
      slotsIdle: u.offer.capacity.slotsIdle,
      recency: recencyOf({ now, expiresAt: u.offer.expiresAt, lastSuccessAt: arm.lastSuccessAt }, { offerTtlMs: this.offerTtlMs, recencyHalfLifeMs: this.recencyHalfLifeMs })
    }
  }

  private ensureLoaded (): void {
    if (this.loaded) return
    this.loaded = true
    try {
      const n = this.bandit.load()
      this.log.debug({ pairs: n }, 'bandit stats loaded')
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, 'cannot load the bandit stats; starting from none')
    }
  }

  private flushQuietly (): void {
    if (this.bandit.pending === 0) return
    try {
      this.bandit.flush()
    } catch (err) {
      this.log.warn({ err: messageOf(err), pending: this.bandit.pending }, 'cannot write the bandit stats; will retry')
    }
  }
}
