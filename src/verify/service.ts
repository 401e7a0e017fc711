/**
 * Verification in a node (docs/verification.md): the gossip network of
 * attestations and decisions, the decision book, and the quorum — K from
 * the active verifiers, counted as the nodes whose live offer carries the
 * `verify` tag (this node's own, when `verify.verifies` lists task types),
 * recounted as offers come and go and at least every QUORUM_TICK_MS so
 * that bootstrap mode is left on time. With `decideBackend: etcd` a
 * decision is an etcd compare-and-set first. Booked decisions are kept
 * (a week) and replayed into the book at start.
 */
import { AgoraError, messageOf } from '../errors.ts'
import type { AgoraEvents } from '../events.ts'
import type { EnvelopeVerifier, NodeIdentity } from '../identity/index.ts'
import type { Logger, AgoraLogger } from '../observability/logger.ts'
import type { Gossip } from '../p2p/index.ts'
import type { ReqResp } from '../protocols/index.ts'
import type { CapabilityRegistry, CapabilitySource } from '../providers/index.ts'
import type { OfferService } from '../offers/index.ts'
import type { PeerBook } from '../peers/index.ts'
import type { AgoraConfig } from '../config/index.ts'
import { DecisionBook, type Decision } from './decisions.ts'
import { EtcdDecider } from './etcd-decider.ts'
import { createVerifyMetrics, type VerifyMetrics } from './metrics.ts'
import { VerifyNetwork, type AttestInput, type ChallengeInput } from './network.ts'
import { Quorum, type QuorumState } from './quorum.ts'
import { VerifyValidator } from './validator.ts'
import type { Registry } from 'prom-client'
import type { Database } from '../store/index.ts'
import { DecisionsRepository } from './decisions-repository.ts'
import { addBounded } from './bounded.ts'
import { DecisionSync, type PullResult } from './sync.ts'
import { DecisionPayRepository } from './decision-pay-repository.ts'
import { DecisionSettlement, type DecisionPay, type FinalizeOutcome, type SettlementComponents } from './settlement.ts'

export interface VerifyServiceComponents {
  db: Database
  identity: NodeIdentity
  gossip: Gossip
  /** Serves and asks /agora/verify/sync/1 (catching up on decisions); without it a node learns decisions by gossip only. */
  reqresp?: Pick<ReqResp, 'handle' | 'unhandle' | 'request'> | undefined
  envelopes: EnvelopeVerifier
  offers: Pick<OfferService, 'list'>
  /** Holds, captures and releases what decisions pay (settlement.ts); without it a decision cannot carry pay. */
  market?: SettlementComponents['market'] | undefined
  /** Where a checked CHALLENGE lowers the accused (or a refuted one the challenger). */
  peerBook: Pick<PeerBook, 'record'>
  capabilities: Pick<CapabilityRegistry, 'register' | 'unregister'>
  events: AgoraEvents
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface VerifyStatus extends QuorumState {
  backend: 'quorum' | 'etcd'
  /** Task types this node verifies. */
  verifies: string[]
  /** Threads with a decision booked here. */
  threads: number
}

/** The offer tag of a verifier, and of a verifier of one task type. */
export const VERIFIER_TAG = 'verify'
export const verifierTag = (taskType: string): string => `verify:${taskType}`

const QUORUM_TICK_MS = 60_000
/** Convicted receipt keys remembered, so replayed evidence counts once. */
const MAX_CONVICTIONS = 100_000
/** Decisions older than this are forgotten at start. */
const DECISION_RETENTION_MS = 7 * 24 * 60 * 60_000

export class VerifyService {
  readonly decisions = new DecisionBook()
  private readonly c: VerifyServiceComponents
  private readonly config: AgoraConfig['verify']
  private readonly log: Logger
  private readonly quorum: Quorum
  private readonly network: VerifyNetwork
  private readonly etcd: EtcdDecider | undefined
  private readonly metrics: VerifyMetrics | undefined
  private readonly source: CapabilitySource
  private readonly repo: DecisionsRepository
  private readonly sync: DecisionSync | undefined
  private readonly settlement: DecisionSettlement | undefined
  /** Receipt keys a challenge convicted (bounded). */
  private readonly convicted = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private readonly undo: Array<() => void> = []
  private last: QuorumState

  constructor (components: VerifyServiceComponents, config: AgoraConfig['verify']) {
    this.c = components
    this.config = config
    this.log = components.logger.forComponent('agora:verify')
    this.quorum = new Quorum({ kTarget: config.kTarget, alpha: config.alpha, minVerifiers: config.bootstrapMinVerifiers, stableMs: config.bootstrapStableMs })
    this.last = this.quorum.state()
    this.metrics = createVerifyMetrics(components.metrics)
    this.repo = new DecisionsRepository(components.db)
    this.etcd = config.decideBackend === 'etcd' ? new EtcdDecider({ endpoints: config.etcd.endpoints, prefix: config.etcd.prefix }) : undefined
    const validator = new VerifyValidator({ envelopes: components.envelopes })
    this.network = new VerifyNetwork({ gossip: components.gossip, identity: components.identity, validator, decisions: this.decisions, logger: this.log, ...(this.etcd === undefined ? {} : { etcd: this.etcd }) }, {
      k: () => this.last.k,
      // a thread is decided by its coordinator, whose peer id names it (`<peer id>/<job or need>`): this node decides its own, and takes no one else's word for another's
      decides: thread => thread.startsWith(`${components.identity.peerIdString}/`),
      mayDecide: (thread, decider) => thread.startsWith(`${decider}/`),
      revealAfterMs: config.revealAfterMs
    })
    this.sync = components.reqresp === undefined
      ? undefined
      : new DecisionSync({
        reqresp: components.reqresp,
        repo: this.repo,
        absorb: envelope => this.network.absorb(envelope, Date.now() - DECISION_RETENTION_MS),
        refused: peer => { components.peerBook.record(peer, 'invalid') },
        log: this.log
      }, { windowMs: DECISION_RETENTION_MS })
    const market = components.market
    this.settlement = market === undefined
      ? undefined
      : new DecisionSettlement({
        self: components.identity.peerIdString,
        repo: new DecisionPayRepository(components.db),
        // finalized here is finalized on disk too: a restart keeps refusing to change it
        decisions: { get: thread => this.decisions.get(thread), finalize: d => this.finalizeBook(d) },
        market,
        ...(this.etcd === undefined ? {} : { etcd: this.etcd }),
        // the FINALIZE is kept before it goes out: a peer that misses the gossip gets it in a catch-up
        announce: { finalized: async (d, amount) => { await this.network.finalized(d, amount, envelope => { this.repo.keepFinalize(d, JSON.stringify(envelope), Date.now()) }) }, reconciled: async (d, winner, refund) => { await this.network.reconciled(d, winner, refund) } },
        events: components.events,
        log: this.log,
        onSettled: outcome => this.metrics?.settlements.inc({ outcome })
      }, { finalizeAfterMs: config.finalizeAfterMs })
    const tags = config.verifies.length === 0 ? [] : [VERIFIER_TAG, ...config.verifies.map(verifierTag)]
    this.source = { id: 'verify', models: () => [], taskTypes: () => [], capacity: () => ({ slotsTotal: 0, slotsIdle: 0 }), tags: () => tags }
  }

  async start (): Promise<void> {
    // the book as it was: every decision kept (winners and losers), replayed in order, then which are final
    const stored = this.repo.load(Date.now() - DECISION_RETENTION_MS)
    for (const { finalized: _final, ...decision } of stored) {
      try {
        this.decisions.offer(decision)
      } catch (err) {
        this.log.warn({ thread: decision.thread, err: messageOf(err) }, 'a stored decision was not restored')
      }
    }
    for (const { finalized, ...decision } of stored) {
      if (!finalized) continue
      try {
        this.decisions.finalize(decision)
      } catch (err) {
        this.log.warn({ thread: decision.thread, err: messageOf(err) }, 'a finalized decision no longer stands')
      }
    }
    this.network.start()
    this.undo.push(this.network.onDecision((decision, outcome, envelope) => {
      if (outcome.outcome === 'duplicate') return
      this.repo.insert(decision, Date.now(), JSON.stringify(envelope))
      const orphaned = outcome.outcome === 'won' ? outcome.orphaned.length : outcome.orphaned ? 1 : 0
      this.metrics?.decisions.inc({ outcome: outcome.outcome })
      this.c.events.emit('verify:decision', { ...decision, outcome: outcome.outcome, orphaned })
      // this node's decisions that no longer stand give back what they held
      if (outcome.outcome === 'won') for (const loser of outcome.orphaned) this.settlement?.orphaned(loser)
      else if (outcome.orphaned) this.settlement?.orphaned(decision)
    }))
    this.undo.push(this.network.onSettled(({ kind, decision, amount, envelope }) => {
      // this node's own FINALIZE and RECONCILE were told by the settlement already
      if (decision.decider === this.c.identity.peerIdString) return
      if (kind === 'FINALIZE') {
        // final on disk, and handed on to the peers that catch up from this node
        this.repo.keepFinalize(decision, JSON.stringify(envelope), Date.now())
        this.c.events.emit('verify:finalized', { ...pick(decision), amount })
      } else {
        this.c.events.emit('verify:reconciled', { ...pick(decision), refund: amount, winnerEpoch: this.decisions.get(decision.thread)?.winner.epoch ?? null })
      }
    }))
    this.undo.push(this.network.onChallenge(({ challenger, thread, accused, refuted, key }) => {
      // one conviction per receipt, however often its evidence is sent again
      if (key !== undefined) {
        if (this.convicted.has(key)) return
        addBounded(this.convicted, key, MAX_CONVICTIONS)
      }
      // the evidence convicts the accused here too; a challenge that does not check out lowers its sender
      this.c.peerBook.record(accused ?? challenger, 'invalid')
      this.metrics?.challenges.inc({ outcome: accused === undefined ? 'refuted' : 'upheld' })
      this.c.events.emit('verify:challenge', { challenger, thread, accused: accused ?? null, refuted: refuted ?? null })
      this.log.info({ challenger, thread, accused, refuted }, 'challenge')
    }))
    if (this.config.verifies.length > 0) {
      this.c.capabilities.register(this.source)
      this.undo.push(() => { this.c.capabilities.unregister(this.source.id) })
    }
    const recount = (): void => { this.recount() }
    const prune = setInterval(() => { this.repo.prune(Date.now() - DECISION_RETENTION_MS) }, QUORUM_TICK_MS * 60)
    prune.unref()
    this.undo.push(() => { clearInterval(prune) })
    for (const name of ['offer:added', 'offer:updated', 'offer:withdrawn', 'offer:expired'] as const) {
      this.c.events.on(name, recount)
      this.undo.push(() => { this.c.events.off(name, recount) })
    }
    this.timer = setInterval(recount, QUORUM_TICK_MS)
    this.timer.unref()
    this.recount()
    this.settlement?.start()
    if (this.sync !== undefined) {
      const sync = this.sync
      await sync.start()
      // a peer that comes (back): catch up on the decisions it booked while we were apart
      const connected = ({ peerId }: { peerId: string }): void => { sync.connected(peerId) }
      const disconnected = ({ peerId }: { peerId: string }): void => { sync.disconnected(peerId) }
      this.c.events.on('peer:connected', connected)
      this.c.events.on('peer:disconnected', disconnected)
      this.undo.push(() => {
        this.c.events.off('peer:connected', connected)
        this.c.events.off('peer:disconnected', disconnected)
      })
    }
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.settlement?.stop()
    for (const fn of this.undo.splice(0)) fn()
    this.network.stop()
    await this.sync?.stop()
    this.etcd?.close()
  }

  /** Ask `peer` now for the decisions (DECIDEs and FINALIZEs) it kept that this node has not (also done on each connect). */
  async catchUp (peer: string, signal?: AbortSignal): Promise<PullResult> {
    if (this.sync === undefined) return { received: 0, booked: 0, finalized: 0, invalid: 0 }
    return await this.sync.pull(peer, signal)
  }

  /** Gossip the evidence that a worker's result was outvoted (see challenge.ts). */
  async challenge (input: ChallengeInput): Promise<void> {
    await this.network.challenge(input)
  }

  /**
   * Decide one of this node's own threads (`<its peer id>/…`): booked here,
   * gossiped (through etcd first with that backend). With `pay`, the credits
   * are held first and the payee paid when the decision is finalized, or
   * refunded if a later decision orphans it (settlement.ts); E1206 when this
   * node has no market to hold them in.
   */
  async decide (thread: string, epoch: number, result: string, pay?: DecisionPay): Promise<void> {
    if (pay === undefined) {
      await this.network.decideOwn(thread, epoch, result)
      return
    }
    if (this.settlement === undefined) throw new AgoraError('E1206', 'this node cannot hold pay for a decision', { why: 'it runs without a market' })
    await this.settlement.decide(thread, epoch, result, pay, async () => await this.network.decideOwn(thread, epoch, result))
  }

  /** Whether this node's decision of (thread, epoch) holds its result's pay (FINALIZE captures it). */
  paysFor (thread: string, epoch: number): boolean {
    return this.settlement?.pays(thread, epoch) ?? false
  }

  /** Finalize this node's standing decision of `thread` now, before `verify.finalizeAfterMs` (its pay captured, FINALIZE gossiped). */
  async finalize (thread: string): Promise<FinalizeOutcome> {
    if (this.settlement === undefined) return 'nothing-held'
    return await this.settlement.finalize(thread)
  }

  /**
   * Resolves true once `result` stands as the winner of (thread, epoch) in
   * this node's book; false when `signal` aborts first. `verifiers`: while
   * waiting, only their reveals count towards this node's DECIDE there;
   * `pay`: that DECIDE, for `result`, holds it first (FINALIZE captures it).
   */
  async decided (thread: string, epoch: number, result: string, signal: AbortSignal, verifiers?: readonly string[], pay?: DecisionPay): Promise<boolean> {
    const stands = (): boolean => {
      const winner = this.decisions.get(thread)?.winner
      return winner !== undefined && winner.epoch === epoch && winner.result === result
    }
    if (stands()) return true
    const settlement = this.settlement
    // deciding with pay: the DECIDE is booked before the settlement records it, so the answer waits for the settlement
    let settling: Promise<unknown> | undefined
    const decide = pay === undefined || settlement === undefined
      ? undefined
      : async (decided: string): Promise<unknown> => {
        settling = decided === result
          ? settlement.decide(thread, epoch, decided, pay, async () => await this.network.decideOwn(thread, epoch, decided))
          : this.network.decideOwn(thread, epoch, decided)
        return await settling
      }
    const unexpect = verifiers === undefined ? () => {} : this.network.expect(thread, epoch, verifiers, decide)
    return await new Promise<boolean>(resolve => {
      const done = (value: boolean): void => {
        off()
        unexpect()
        signal.removeEventListener('abort', aborted)
        resolve(value)
      }
      const aborted = (): void => { done(false) }
      const off = this.network.onDecision(decision => {
        if (decision.thread !== thread || !stands()) return
        if (settling === undefined) done(true)
        else settling.then(() => { done(true) }, () => { done(stands()) })
      })
      if (signal.aborted) done(false)
      else signal.addEventListener('abort', aborted, { once: true })
    })
  }

  /** Attest a replica's result (commitment, then reveal) on the network. */
  async attest (input: AttestInput): Promise<void> {
    await this.network.attest(input)
  }

  private finalizeBook (d: Decision): boolean {
    const first = this.decisions.finalize(d)
    if (first) this.repo.markFinalized(d, Date.now())
    return first
  }

  status (): VerifyStatus {
    return { ...this.last, backend: this.config.decideBackend, verifies: [...this.config.verifies], threads: this.decisions.size() }
  }

  /** Verifiers active now: nodes whose live offer carries the verify tag. */
  activeVerifiers (): number {
    const nodes = new Set<string>()
    for (const offer of this.c.offers.list()) if (offer.tags.includes(VERIFIER_TAG)) nodes.add(offer.node)
    if (this.config.verifies.length > 0) nodes.add(this.c.identity.peerIdString)
    return nodes.size
  }

  private recount (): void {
    const before = this.last
    this.last = this.quorum.observe(this.activeVerifiers(), Date.now())
    this.metrics?.observe(this.last)
    if (before.mode !== this.last.mode || before.k !== this.last.k || before.active !== this.last.active) {
      this.c.events.emit('verify:quorum', { mode: this.last.mode, k: this.last.k, active: this.last.active })
      this.log.debug({ mode: this.last.mode, k: this.last.k, active: this.last.active }, 'quorum changed')
    }
  }
}

function pick (d: Decision): { thread: string, epoch: number, result: string, decider: string } {
  return { thread: d.thread, epoch: d.epoch, result: d.result, decider: d.decider }
}
