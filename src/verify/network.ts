/**
 * Attestations and decisions over gossip (`/agora/verify/1`,
 * docs/verification.md "Deciding"). A verifier ATTESTs in two steps: a
 * commitment first, the reveal once it has seen K commitments for that
 * result (or `revealAfterMs` passed), so nobody can copy a verdict. Every
 * node tallies the reveals; the thread's decider, once K verifiers revealed
 * the same valid result, DECIDEs — once per (thread, epoch), after the etcd
 * compare-and-set when that backend is used — and every node books the
 * DECIDE in its DecisionBook, where the ordering rule makes them agree.
 *
 * Incoming messages are checked in gossipsub's topic validator (before
 * they are forwarded): the envelope's signer must be the gossip author,
 * then the VerifyValidator's checks; a sender's fault is rejected (its
 * gossip score falls), a stale or early message ignored. This node's own
 * messages take the same path before they are published.
 */
import { randomBytes } from 'node:crypto'
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import { encodeEnvelope, signEnvelope, type Envelope, type NodeIdentity } from '../identity/index.ts'
import { VERIFY_TOPIC, type Gossip, type GossipVerdict } from '../p2p/index.ts'
import type { Logger } from '../observability/logger.ts'
import { formatCredits, type Micro } from '../market/amount.ts'
import type { DecisionBook, DecisionOutcome, Decision } from './decisions.ts'
import type { EtcdDecider } from './etcd-decider.ts'
import { attestCommitment, type VerifyKind, type VerifyPayload } from './messages.ts'
import { checkHandedOver, SYNCED_KINDS } from './handed-over.ts'
import { checkChallenge } from './challenge.ts'
import { addBounded, setBounded } from './bounded.ts'
import type { Accepted, VerifyValidator } from './validator.ts'

export interface VerifyNetworkComponents {
  gossip: Pick<Gossip, 'subscribe' | 'validate' | 'publish'>
  identity: NodeIdentity
  validator: VerifyValidator
  decisions: DecisionBook
  logger: Logger
  /** The etcd backend: a decision is published only after its compare-and-set. */
  etcd?: Pick<EtcdDecider, 'decide'>
}

export interface VerifyNetworkInit {
  /** Agreeing reveals a decision needs now (the Quorum's K). */
  k: () => number
  /** Whether this node decides `thread` (its coordinator). */
  decides: (thread: string) => boolean
  /** Reveal after this long even with fewer than K commitments seen. */
  revealAfterMs?: number
  /** Whether `decider` may decide `thread` (false: its DECIDE is rejected); anyone when absent. */
  mayDecide?: (thread: string, decider: string) => boolean
}

export interface AttestInput {
  thread: string
  epoch: number
  subtask: string
  worker: string
  resultHash: string
  verdict: 'valid' | 'invalid' | 'inconclusive'
}

/** What a handed-over message did: a DECIDE booked, a FINALIZE that made its decision final here, neither (known, refused by the book, or waiting for its DECIDE), or it does not check out. */
export type AbsorbOutcome = 'booked' | 'finalized' | 'kept-out' | 'invalid'

/** `envelope`: the signed DECIDE it was booked from. */
export type DecisionListener = (decision: Decision, outcome: DecisionOutcome, envelope: Envelope) => void

/** A CHALLENGE seen: `accused` when its evidence checks out, else `refuted` (why) — then the challenger is the one to lower. */
export type ChallengeListener = (challenge: { challenger: string, thread: string, accused?: string, key?: string, refuted?: string }) => void

export interface ChallengeInput {
  thread: string
  epoch: number
  /** The accused's RECEIPT envelope. */
  receipt: Envelope
  resultHash: string
  expectedHash: string
  /** RECEIPT envelopes of the replicas that outvoted it, the one that stands first. */
  replicas: Envelope[]
}

/** A peer's FINALIZE (its standing decision, now final here) or RECONCILE (its orphaned decision and the refund); `amount` in credits; `envelope`: the signed message. */
export type SettledListener = (settled: { kind: 'FINALIZE' | 'RECONCILE', decision: Decision, amount: string, envelope: Envelope }) => void

/** Kinds only a thread's own decider may send. */
const DECIDERS_ONLY: ReadonlySet<string> = new Set(['DECIDE', 'FINALIZE', 'RECONCILE'])

/** Codes that mean "not now" rather than "this sender misbehaves". */
const IGNORED = new Set(['E1211', 'E1212', 'E1213', 'E1214', 'E114', 'E115', 'E116'])
const DEFAULT_REVEAL_AFTER_MS = 2000

export class VerifyNetwork {
  private readonly c: VerifyNetworkComponents
  private readonly init: VerifyNetworkInit
  private readonly revealAfterMs: number
  /** thread → this node's Lamport time there. */
  private readonly clocks = new Map<string, number>()
  /** `thread epoch subtask worker` → verifiers that committed. */
  private readonly commits = new Map<string, Set<string>>()
  /** `thread epoch subtask worker resultHash` → verifiers that revealed it valid. */
  private readonly reveals = new Map<string, Set<string>>()
  /** `thread epoch` this node decided. */
  private readonly decided = new Set<string>()
  private readonly waiting = new Map<string, () => void>()
  private readonly listeners = new Set<DecisionListener>()
  private readonly challengeListeners = new Set<ChallengeListener>()
  private readonly settledListeners = new Set<SettledListener>()
  /** thread → a FINALIZE that arrived before the decision it finalizes (bounded). */
  private readonly earlyFinals = new Map<string, { decider: string, p: VerifyPayload<'FINALIZE'>, envelope: Envelope }>()
  /** `thread epoch` → the verifiers whose reveals count there, and how this node decides it (expect()). */
  private readonly expected = new Map<string, { verifiers: Set<string>, decide: ((result: string) => Promise<unknown>) | undefined }>()
  private readonly undo: Array<() => void> = []

  constructor (components: VerifyNetworkComponents, init: VerifyNetworkInit) {
    this.c = components
    this.init = init
    this.revealAfterMs = init.revealAfterMs ?? DEFAULT_REVEAL_AFTER_MS
  }

  start (): void {
    this.undo.push(this.c.gossip.validate(VERIFY_TOPIC, ({ data, from }) => this.received(data, from)))
    // the work happens in the validator; the subscription keeps this node in the topic's mesh
    this.undo.push(this.c.gossip.subscribe(VERIFY_TOPIC, () => {}))
  }

  stop (): void {
    for (const fn of this.undo.splice(0)) fn()
    for (const wake of this.waiting.values()) wake()
  }

  /** Called for each decision this node books (its own or a peer's). */
  onDecision (listener: DecisionListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Called for each CHALLENGE from a peer, checked. */
  onChallenge (listener: ChallengeListener): () => void {
    this.challengeListeners.add(listener)
    return () => this.challengeListeners.delete(listener)
  }

  /** Gossip the evidence that a worker's result was outvoted. */
  async challenge (input: ChallengeInput): Promise<void> {
    await this.send('CHALLENGE', input.thread, { epoch: input.epoch, receipt: input.receipt, evidence: { resultHash: input.resultHash, expectedHash: input.expectedHash, replicas: input.replicas } })
  }

  /** Verifiers whose valid reveal of `resultHash` this node has counted. */
  revealed (at: { thread: string, epoch: number, subtask: string, worker: string }, resultHash: string): number {
    return this.reveals.get(`${at.thread} ${at.epoch} ${at.subtask} ${at.worker} ${resultHash}`)?.size ?? 0
  }

  /**
   * A DECIDE or FINALIZE a peer handed over in a catch-up (sync.ts), however
   * old, checked as for gossip (handed-over.ts), then taken: 'invalid' when
   * it does not check out (another kind, malformed, a bad signature, a
   * signer that may not decide the thread); 'kept-out' when the book refuses
   * a DECIDE (its decider decided that epoch otherwise: the relayer is not
   * to blame), when a FINALIZE changes nothing (final already, or kept until
   * its DECIDE is booked), or when it was signed before `notBefore` (past
   * the retention: a decision pruned here stays pruned).
   */
  absorb (envelope: Envelope, notBefore = 0): AbsorbOutcome {
    if (!SYNCED_KINDS.has(envelope.kind)) return 'invalid'
    if (envelope.ts < notBefore) return 'kept-out'
    const handed = checkHandedOver(envelope, this.init.mayDecide)
    if (handed === undefined) return 'invalid'
    if (handed.kind === 'DECIDE') return this.book(handed.decision, envelope) ? 'booked' : 'kept-out'
    return this.finalizedBy(handed.decider, handed.payload, envelope) ? 'finalized' : 'kept-out'
  }

  /**
   * Decide one of this node's own threads (its coordinator's word, e.g.
   * after comparing replicas itself in bootstrap mode): through etcd first
   * when that backend is used, then booked here and gossiped. E1205 for a
   * thread this node does not decide.
   */
  async decideOwn (thread: string, epoch: number, result: string): Promise<Decision | undefined> {
    if (!this.init.decides(thread)) throw new AgoraError('E1205', `thread ${thread} is not this node's to decide`, { why: 'a thread is decided by the node whose peer id names it' })
    const standing = this.c.decisions.get(thread)
    if (standing?.finalized === true && standing.winner.result !== result) {
      throw new AgoraError('E1200', `thread ${thread} was finalized for ${standing.winner.result}`, { why: 'a finalized result is not decided again', details: { thread, epoch } })
    }
    return await this.decide(thread, epoch, result)
  }

  /** Gossip that this node finalized its decision `d` (paid `amount`); `keep` gets the signed FINALIZE before it goes out (the catch-up serves it). */
  async finalized (d: Decision, amount: Micro, keep?: (envelope: Envelope) => void): Promise<void> {
    // after its DECIDE in Lamport order even when this node restarted since (its clock starts again): peers drop an older time as stale
    await this.send('FINALIZE', d.thread, { epoch: d.epoch, result: d.result, amount: formatCredits(amount) }, d.lamport + 1, keep)
  }

  /** Gossip that this node's decision `orphaned` lost to `winner` and what it refunded. */
  async reconciled (orphaned: Decision, winner: Decision | undefined, refund: Micro): Promise<void> {
    const { epoch, lamport, decider, result } = orphaned
    await this.send('RECONCILE', orphaned.thread, { epoch: winner?.epoch ?? epoch, orphaned: { epoch, lamport, decider, result }, refund: formatCredits(refund) })
  }

  /**
   * Count the reveals of these verifiers only for (thread, epoch) — the ones
   * this node asked — so peers it did not ask cannot make it DECIDE there;
   * `decide`: how it decides there (e.g. holding the result's pay first).
   * Returns the undo.
   */
  expect (thread: string, epoch: number, verifiers: readonly string[], decide?: (result: string) => Promise<unknown>): () => void {
    const key = `${thread} ${epoch}`
    const entry = { verifiers: new Set(verifiers), decide }
    setBounded(this.expected, key, entry, MAX_TALLIES)
    return () => { if (this.expected.get(key) === entry) this.expected.delete(key) }
  }

  /** Called for each peer's FINALIZE and RECONCILE this node takes. */
  onSettled (listener: SettledListener): () => void {
    this.settledListeners.add(listener)
    return () => this.settledListeners.delete(listener)
  }

  /** Attest a result: the commitment now, the reveal once K commitments are seen (or revealAfterMs passed). */
  async attest (input: AttestInput): Promise<void> {
    const salt = randomBytes(16).toString('base64url')
    const base = { epoch: input.epoch, subtask: input.subtask, worker: input.worker }
    await this.send('ATTEST', input.thread, { ...base, phase: 'commit', commitment: attestCommitment(input.verdict, input.resultHash, salt) })
    await this.enoughCommits(input)
    await this.send('ATTEST', input.thread, { ...base, phase: 'reveal', verdict: input.verdict, resultHash: input.resultHash, salt })
  }

  /** Sign, book locally, hand to `keep`, publish. */
  private async send<K extends VerifyKind> (kind: K, thread: string, fields: Record<string, unknown>, at?: number, keep?: (envelope: Envelope) => void): Promise<Envelope> {
    const lamport = Math.max(at ?? 0, (this.clocks.get(thread) ?? 0) + 1)
    this.clocks.set(thread, lamport)
    const envelope = signEnvelope(this.c.identity, { kind, payload: { thread, lamport, ...fields } as VerifyPayload<K> })
    const accepted = this.c.validator.accept(envelope, { own: true })
    keep?.(envelope)
    try {
      await this.c.gossip.publish(VERIFY_TOPIC, encodeEnvelope(envelope))
    } catch (err) {
      // nobody subscribed yet (E210): booked here all the same
      if (!isAgoraError(err, 'E210')) throw err
    }
    // its effects (a decision it completes) come after it is out, so peers see our messages in Lamport order
    this.apply(accepted)
    return envelope
  }

  private received (data: Uint8Array, author: string): GossipVerdict {
    try {
      const accepted = this.c.validator.accept(data, { author })
      if (DECIDERS_ONLY.has(accepted.kind) && this.init.mayDecide?.((accepted.payload as { thread: string }).thread, author) === false) return 'reject'
      if (accepted.kind === 'CHALLENGE' && !this.checked(accepted)) return 'reject'
      return this.apply(accepted) ? 'accept' : 'reject'
    } catch (err) {
      if (isAgoraError(err) && IGNORED.has(err.code)) return 'ignore'
      this.c.logger.debug({ author, err: messageOf(err) }, 'verification message refused')
      return 'reject'
    }
  }

  /** A message's effects; false when the decision book refuses a DECIDE. */
  private apply (accepted: Accepted): boolean {
    const { envelope, kind } = accepted
    const payload = accepted.payload as { thread: string, lamport: number }
    const clock = Math.max(this.clocks.get(payload.thread) ?? 0, payload.lamport)
    // re-inserted: the oldest-touched thread is the first forgotten past the cap
    this.clocks.delete(payload.thread)
    setBounded(this.clocks, payload.thread, clock, MAX_TALLIES)
    if (kind === 'ATTEST') this.tally(envelope.from, accepted.payload as VerifyPayload<'ATTEST'>)
    else if (kind === 'DECIDE') {
      const p = accepted.payload as VerifyPayload<'DECIDE'>
      return this.book({ thread: p.thread, epoch: p.epoch, lamport: p.lamport, decider: envelope.from, result: p.result }, envelope)
    } else if (kind === 'FINALIZE') this.finalizedBy(envelope.from, accepted.payload as VerifyPayload<'FINALIZE'>, envelope)
    else if (kind === 'RECONCILE') return this.reconciledBy(envelope.from, accepted.payload as VerifyPayload<'RECONCILE'>, envelope)
    return true
  }

  /** A decider's FINALIZE: its decision, when it stands in this book, is final here too (a later one changing it is refused, E1200); true when it became final now. */
  private finalizedBy (decider: string, p: VerifyPayload<'FINALIZE'>, envelope: Envelope): boolean {
    const winner = this.c.decisions.get(p.thread)?.winner
    // not (yet) the decision that stands here: kept until its DECIDE is booked (gossip may reorder them; a catch-up page may not carry it), else nothing to finalize
    if (winner === undefined || winner.decider !== decider || winner.epoch !== p.epoch || winner.result !== p.result) {
      setBounded(this.earlyFinals, p.thread, { decider, p, envelope }, MAX_EARLY_FINALS)
      return false
    }
    this.earlyFinals.delete(p.thread)
    if (!this.c.decisions.finalize(winner)) return false
    for (const listener of this.settledListeners) listener({ kind: 'FINALIZE', decision: winner, amount: p.amount, envelope })
    return true
  }

  /** A decider's RECONCILE: only of its own decision. */
  private reconciledBy (decider: string, p: VerifyPayload<'RECONCILE'>, envelope: Envelope): boolean {
    if (p.orphaned.decider !== decider) return false
    const decision = { thread: p.thread, ...p.orphaned }
    for (const listener of this.settledListeners) listener({ kind: 'RECONCILE', decision, amount: p.refund, envelope })
    return true
  }

  /** A peer's CHALLENGE: tell the listeners whom its evidence convicts, or that it does not check out. */
  private checked (accepted: Accepted): boolean {
    const p = accepted.payload as VerifyPayload<'CHALLENGE'>
    const challenger = accepted.envelope.from
    let verdict: Parameters<ChallengeListener>[0]
    try {
      const { accused, key } = checkChallenge(challenger, p)
      verdict = { challenger, thread: p.thread, accused, key }
    } catch (err) {
      verdict = { challenger, thread: p.thread, refuted: isAgoraError(err) ? err.why ?? err.what : messageOf(err) }
    }
    for (const listener of this.challengeListeners) listener(verdict)
    return verdict.refuted === undefined
  }

  private tally (verifier: string, p: VerifyPayload<'ATTEST'>): void {
    const at = `${p.thread} ${p.epoch} ${p.subtask} ${p.worker}`
    if (p.phase === 'commit') {
      add(this.commits, at, verifier)
      if ((this.commits.get(at)?.size ?? 0) >= this.init.k()) this.waiting.get(at)?.()
      return
    }
    if (p.verdict !== 'valid') return
    const expected = this.expected.get(`${p.thread} ${p.epoch}`)
    if (expected !== undefined && !expected.verifiers.has(verifier)) return
    const key = `${at} ${p.resultHash}`
    const count = add(this.reveals, key, verifier)
    const epochKey = `${p.thread} ${p.epoch}`
    if (count < this.init.k() || !this.init.decides(p.thread) || this.decided.has(epochKey)) return
    // one decision per (thread, epoch), whatever arrives later
    addBounded(this.decided, epochKey, MAX_TALLIES)
    // the asker's way when it gave one (holding the result's pay first), else a plain DECIDE
    const deciding = expected?.decide !== undefined ? expected.decide(p.resultHash) : this.decide(p.thread, p.epoch, p.resultHash)
    deciding.catch(err => {
      this.decided.delete(epochKey)
      this.c.logger.warn({ thread: p.thread, err: messageOf(err) }, 'deciding failed')
    })
  }

  private async decide (thread: string, epoch: number, result: string): Promise<Decision | undefined> {
    let lamport = (this.clocks.get(thread) ?? 0) + 1
    if (this.c.etcd !== undefined) {
      const self = this.c.identity.peerIdString
      const outcome = await this.c.etcd.decide({ thread, epoch, lamport, decider: self, result })
      if (outcome.outcome === 'lost') {
        // another coordinator of the group decided first: its DECIDE is the one that stands
        if (outcome.standing.decider !== self || outcome.standing.epoch !== epoch) return undefined
        // … or our own earlier attempt did (it landed, then the call timed out): publish what etcd holds
        lamport = outcome.standing.lamport
        result = outcome.standing.result
      }
    }
    // the DECIDE carries the Lamport time etcd stored, so the two records agree
    const envelope = await this.send('DECIDE', thread, { epoch, result }, lamport)
    return { thread, epoch, lamport: (envelope.payload as VerifyPayload<'DECIDE'>).lamport, decider: this.c.identity.peerIdString, result }
  }

  /** Book a DECIDE; false when the book refuses it (a second, different decision of one decider in one epoch). */
  private book (decision: Decision, envelope: Envelope): boolean {
    let outcome: DecisionOutcome
    try {
      outcome = this.c.decisions.offer(decision)
    } catch (err) {
      this.c.logger.warn({ thread: decision.thread, err: messageOf(err) }, 'decision refused')
      return false
    }
    if (outcome.outcome !== 'duplicate') for (const listener of this.listeners) listener(decision, outcome, envelope)
    // a FINALIZE that came before this DECIDE
    const early = this.earlyFinals.get(decision.thread)
    if (early !== undefined && outcome.outcome === 'won') this.finalizedBy(early.decider, early.p, early.envelope)
    return true
  }

  private async enoughCommits (input: AttestInput): Promise<void> {
    const at = `${input.thread} ${input.epoch} ${input.subtask} ${input.worker}`
    if ((this.commits.get(at)?.size ?? 0) >= this.init.k()) return
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        this.waiting.delete(at)
        resolve()
      }
      const timer = setTimeout(done, this.revealAfterMs)
      this.waiting.set(at, done)
    })
  }
}

/** FINALIZEs kept waiting for their DECIDE at most (the oldest is forgotten first). */
const MAX_EARLY_FINALS = 10_000
/** Tallies kept at most (the oldest is forgotten first): a flood of attestations cannot bloat the node. */
const MAX_TALLIES = 100_000

function add (sets: Map<string, Set<string>>, key: string, member: string): number {
  let set = sets.get(key)
  if (set === undefined) {
    set = new Set()
    setBounded(sets, key, set, MAX_TALLIES)
  }
  set.add(member)
  return set.size
}
