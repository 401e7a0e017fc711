/**
 * Builds the jobs room for a node: the worker side (resources, the task
 * worker, its capability source feeding the offer, the /agora/task/1
 * server) and the coordinator side (router, dispatcher, blob store,
 * coordinator). `src/assemble.ts` calls it and places its two services
 * around the offer service.
 */
import { collectChat } from '../providers/inference.ts'
import { parseCredits } from '../market/amount.ts'
import { messageOf } from '../errors.ts'
import { BlobStore } from './blobs/index.ts'
import { AdaptiveReplication, StandingsRepository, comparatorFor, secureRandom, verifierTag, type Comparator, type VerifyService } from '../verify/index.ts'
import { checkProtocol } from './check/protocol.ts'
import { QuorumChecks } from './check/quorum.ts'
import { CheckVerifier } from './check/verifier.ts'
import { subnetOf } from './coordinator/subnets.ts'
import { JobCoordinator } from './coordinator/coordinator.ts'
import { JobAudits } from './audit/audits.ts'
import { rerunHere } from './coordinator/rerun-here.ts'
import { Dispatcher } from './dispatch/index.ts'
import { executorTable } from './executors/index.ts'
import { JobRouter } from './router/index.ts'
import { JobsCapabilitySource, Resources, TaskServer, TaskWorker, type WorkerServices } from './worker/index.ts'
import type { Service } from '../assemble.ts'
import type { AgoraConfig } from '../config/index.ts'
import type { AgoraEvents } from '../events.ts'
import type { Gateway } from '../gateway/index.ts'
import type { AccessControl } from '../gateway/access/index.ts'
import type { NodeIdentity } from '../identity/index.ts'
import type { AgoraLogger } from '../observability/logger.ts'
import type { OfferService } from '../offers/index.ts'
import type { PeerBook } from '../peers/index.ts'
import type { ReqResp } from '../protocols/index.ts'
import type { CapabilityRegistry, WinkProvider } from '../providers/index.ts'
import type { Store } from '../store/index.ts'
import type { MarketApi } from '../market/types.ts'
import type { Registry } from 'prom-client'

export interface JobsAssemblyComponents {
  dataDir: string
  config: AgoraConfig
  identity: NodeIdentity
  logger: AgoraLogger
  metrics: Registry
  events: AgoraEvents
  store: Store
  reqresp: ReqResp
  capabilities: CapabilityRegistry
  wink: WinkProvider
  gateway: Gateway
  offers: OfferService
  peerBook: PeerBook
  access: AccessControl
  /** Pays for our priced subtasks and books what we sell (none: nothing is booked). */
  market?: MarketApi | undefined
  /** Verification: gossips the evidence when replicas outvote a worker (none: nothing is gossiped). */
  verify?: Pick<VerifyService, 'challenge' | 'status' | 'attest' | 'decided' | 'paysFor'> | undefined
}

export interface JobsAssembly {
  api: JobCoordinator
  /** Resources, capability source, /agora/task/1 server: start before the offer service. */
  worker: Service
  /** Blobs, router, coordinator (resumes unfinished jobs): start after the offer service. */
  coordinator: Service
  /** What a running node may change without a restart (PATCH /api/v1/config). */
  settings: { setSlots(slots: number): void, setPricePerTask(microCredits: number): void }
}

export function assembleJobs (c: JobsAssemblyComponents): JobsAssembly {
  const { config, logger, metrics } = c
  const jobs = config.jobs
  const executors = executorTable({ debugTasks: jobs.debugTasks })
  const resources = new Resources({ slots: jobs.slots, maxCpuLoad: jobs.maxCpuLoad, minFreeMemoryMb: jobs.minFreeMemoryMb })
  const worker = new TaskWorker({ identity: c.identity, access: c.access, executors, resources, services: workerServices(c), market: c.market, logger, metrics }, {
    pricePerTask: parseCredits(config.offers.prices.perTask, 'offers.prices.perTask'),
    debugTasks: jobs.debugTasks
  })
  const capability = new JobsCapabilitySource({ registry: c.capabilities, resources, worker })
  const server = new TaskServer({ reqresp: c.reqresp, worker, access: c.access, logger })
  // adaptive replication (verify.adaptive): which results are cross-checked, and a caught worker's share in the router
  const adaptive = config.verify.adaptive
    ? new AdaptiveReplication({ trustAfter: config.verify.trustAfter, pMin: config.verify.pMin, random: secureRandom, store: new StandingsRepository(c.store.db) })
    : undefined
  const router = new JobRouter({ offers: c.offers, peerBook: c.peerBook, store: c.store, selfPeerId: c.identity.peerIdString, logger, metrics, shareOf: adaptive === undefined ? undefined : (peer, type) => adaptive.standing(peer, type).share }, {
    exploration: jobs.exploration,
    halfLifeMs: config.reputation.halfLifeMs,
    offerTtlMs: config.offers.ttlMs
  })
  const dispatcher = new Dispatcher({ reqresp: c.reqresp, worker, executors, logger, metrics }, { timeouts: jobs.timeouts, fetchBudget: jobs.resultFetchBudgetBytes })
  const blobs = new BlobStore({ dataDir: c.dataDir, logger }, { maxUploadBytes: jobs.maxUploadBytes })
  // text results are compared by the embedded engine's sentence vectors
  const comparator = (type: string): Comparator | undefined => comparatorFor(type, async texts => (await c.wink.engine.embed(texts)).vectors.map(v => Array.from(v)))
  const checks = verifierChecks(c, dispatcher, comparator)
  const audits = jobAudits(c, dispatcher, comparator, (worker, type) => { router.record(worker, type, 'invalid'); adaptive?.record(worker, type, false) })
  const coordinator = new JobCoordinator({
    db: c.store.db,
    router,
    dispatcher,
    blobs,
    tools: { chunk: async (text, options) => await c.wink.engine.chunk(text, options) },
    executors,
    events: c.events,
    logger,
    metrics,
    selfPeerId: c.identity.peerIdString,
    market: c.market,
    auctions: c.market === undefined ? undefined : { market: c.market, windowMs: config.market.auctionWindowMs },
    comparator,
    adaptive,
    redundancyFor: type => config.verify.redundancy[type] ?? 1,
    subnetOf: peer => subnetOf(c.peerBook.view(peer)?.addresses),
    quorumK: c.verify === undefined ? undefined : () => c.verify?.status().k ?? 1,
    quorumChecks: checks?.quorum,
    provisional: c.verify === undefined ? undefined : () => c.verify?.status().mode === 'bootstrap',
    audits,
    canary: config.verify.canaryRate > 0 ? () => secureRandom() < config.verify.canaryRate : undefined,
    challenge: c.verify === undefined ? undefined : input => { c.verify?.challenge(input).catch((err: unknown) => { logger.forComponent('agora:jobs').warn({ err: messageOf(err) }, 'the challenge could not be gossiped') }) }
  }, jobs)
  return {
    api: coordinator,
    settings: {
      setSlots: slots => { resources.setSlots(slots) },
      setPricePerTask: price => { worker.setPricePerTask(price) }
    },
    // a node with no slots serves nobody: it does not even read their offers (each may be 8 MiB)
    worker: {
      name: 'jobs worker',
      start: async () => { worker.start(); capability.start(); if (jobs.slots > 0) { await server.start(); await checks?.verifier.start() } },
      stop: async () => { await checks?.verifier.stop(); await server.stop(); await worker.stop(); capability.stop() }
    },
    coordinator: {
      name: 'jobs coordinator',
      start: async () => { blobs.start(); router.start(); await coordinator.start(); audits?.start() },
      stop: async () => { await audits?.stop(); await coordinator.stop(); router.stop(); blobs.stop() }
    }
  }
}

/**
 * Verifiers on the network (docs/verification.md): this node asks K of them
 * to check results in quorum mode, and — with task types in
 * `verify.verifies` and slots to re-run them — answers such checks itself.
 */
function verifierChecks (c: JobsAssemblyComponents, dispatcher: Dispatcher, comparator: (type: string) => Comparator | undefined): { quorum: QuorumChecks, verifier: CheckVerifier } | undefined {
  const verify = c.verify
  if (verify === undefined) return undefined
  const log = c.logger.forComponent('agora:verify')
  const quorum = new QuorumChecks({
    ask: async (peer, request, signal) => await c.reqresp.request(peer, checkProtocol, request, { signal }),
    verifiersOf: type => [...new Set(c.offers.list({ taskType: type }).filter(o => o.tags.includes(verifierTag(type))).map(o => o.node))],
    quorum: () => verify.status(),
    decided: async (thread, epoch, result, verifiers, signal, pay) => await verify.decided(thread, epoch, result, signal, verifiers, pay),
    paysFor: (thread, epoch) => verify.paysFor(thread, epoch),
    reruns: () => c.config.verify.quorumReruns,
    log
  })
  const verifier = new CheckVerifier({
    reqresp: c.reqresp,
    dispatcher,
    selfPeerId: c.identity.peerIdString,
    comparator,
    attest: async input => { await verify.attest(input) },
    log
  }, { verifies: c.config.verify.verifies, maxInFlight: 4 * c.config.jobs.slots })
  return { quorum, verifier }
}

/**
 * Held-back pay of provisional results (verify.holdback; none without a
 * market): an audit re-runs the subtask on this node's own worker, free,
 * and compares as canaries do; a node that cannot run the task type (or a
 * language-model type) pays the part unaudited.
 */
function jobAudits (c: JobsAssemblyComponents, dispatcher: Dispatcher, comparator: (type: string) => Comparator | undefined, blame: (worker: string, type: string) => void): JobAudits | undefined {
  const { verify, jobs } = c.config
  if (c.market === undefined || verify.holdback === 0) return undefined
  const self = c.identity.peerIdString
  return new JobAudits({
    db: c.store.db,
    market: c.market,
    rerun: async (audit, signal) => {
      const compare = comparator(audit.type)
      // as canaries: language-model answers are not re-run here (this node's engine may phrase them otherwise)
      if (compare === undefined || compare.method === 'text') return 'unverified'
      const checked = await rerunHere({ dispatcher, self, timeouts: jobs.timeouts }, audit.assignment, '#audit', audit, compare, signal)
      if (checked === undefined) return 'unverified'
      return checked.agree ? 'agreed' : { verdict: 'disagreed', auditHash: checked.own.resultHash }
    },
    caught: audit => { blame(audit.worker, audit.type) },
    events: c.events,
    metrics: c.metrics,
    log: c.logger.forComponent('agora:jobs:audit')
  }, { holdback: verify.holdback, windowMs: verify.auditWindowMs, rate: verify.auditRate, random: secureRandom })
}

/** Executors run on this node's own providers only: a subtask is never forwarded to another peer. */
function workerServices (c: JobsAssemblyComponents): WorkerServices {
  const requester = { kind: 'local' as const, keyId: null }
  return {
    wink: c.wink.engine,
    chat: async (request, { signal }) => {
      const run = await c.gateway.chat(request, { requester, strategy: 'local-only', signal })
      const answer = await collectChat(run.events)
      return { text: answer.content, usage: answer.usage }
    },
    embed: async (model, texts, { signal }) => {
      const run = await c.gateway.embeddings({ model, input: texts }, { requester, strategy: 'local-only', signal })
      return run.vectors
    }
  }
}
